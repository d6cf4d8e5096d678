"""``sohoa bench photos`` runs the photo and resolution benchmark from the command line like the
other benches (it ran only as ``python -m bench.photos``): its options are refused in one line,
and a one-page run prints the held-out seed's figure."""

from __future__ import annotations

import pytest

from cli.main import main


@pytest.mark.parametrize(("argv", "said"), [
    (["--count", "0"], "--count: at least one page"),
    (["dpi", "--dpi", "300,abc"], "--dpi: '300,abc' is not a list of whole numbers"),
    (["dpi", "--dpi", "30"], "--dpi: each resolution between 50 and 1200 dpi"),
])
def test_options_are_refused_in_one_line(argv: list[str], said: str, capsys) -> None:
    assert main(["bench", "photos", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1, err


def test_one_page_at_150_dpi(capsys) -> None:
    assert main(["bench", "photos", "dpi", "--count", "1", "--dpi", "150", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "seed 2 page 0 at 150 dpi: CER" in out and "seed 2 (held out): 150 dpi" in out
