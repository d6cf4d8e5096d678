"""The signing commands as a user runs them: exit codes, one-line errors, JSON reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cli.main import main
from core.settings import load_settings
from flow.policy import register_year
from signing.keys import load_signer
from signing.manifest import canonical, sign_manifest


@pytest.fixture(autouse=True)
def _session_signer(monkeypatch, dev_pki):
    """Sign with the session's development signer (through the PKCS#12 settings), not a new PKI
    per test: creating one is most of a test's time."""
    monkeypatch.setenv("SOHOA_SIGNER_PKCS12", str(dev_pki.signer_p12_path))
    monkeypatch.setenv("SOHOA_SIGNER_PKCS12_PASSWORD", dev_pki.password)
    monkeypatch.setenv("SOHOA_TRUST_ROOTS", json.dumps([str(dev_pki.root_cert_path)]))


@pytest.fixture()
def certified_file(tmp_path, source_pdf, capsys):
    src = tmp_path / "giay-khai-sinh.pdf"
    src.write_bytes(source_pdf)
    out = tmp_path / "ban-sao.pdf"
    assert main(["certify", str(src), "-o", str(out), "--officer", "Trần Văn Bình"]) == 0
    capsys.readouterr()
    return out


def test_pki_init_dev(capsys, tmp_path):
    assert main(["pki", "init-dev", "--dir", str(tmp_path / "pki")]) == 0
    out = capsys.readouterr().out
    assert "DEVELOPMENT ONLY" in out and (tmp_path / "pki" / "dev-signer.p12").exists()


def test_certify_then_verify(certified_file, capsys):
    assert main(["certify", str(certified_file), "-o", str(certified_file.with_name("x.pdf")), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # the second entry of the register (the fixture's certification was the first)
    assert result["certification_number"] == f"2, Quyển số: 01/{register_year(datetime.now(UTC))}-SCTĐT/BS"
    assert main(["verify", str(certified_file)]) == 0
    assert "PASSED" in capsys.readouterr().out
    assert main(["verify", str(certified_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "PASSED" and report["exit_code"] == 0
    assert report["signatures"][0]["docmdp_level"] == "NO_CHANGES"


def test_verify_tampered_exits_1(certified_file, capsys):
    data = bytearray(certified_file.read_bytes())
    data[len(data) // 3] ^= 0x01
    certified_file.write_bytes(bytes(data))
    assert main(["verify", str(certified_file)]) == 1
    out, err = capsys.readouterr()
    assert "FAILED" in out and "Traceback" not in out + err


def test_verify_expected_hash(certified_file, capsys):
    assert main(["verify", str(certified_file), "--expected-sha256", "0" * 64]) == 1
    assert "RECORD_MISMATCH" in capsys.readouterr().out


def test_untrusted_root_exits_2(certified_file, live_pki, tmp_path, capsys):
    from cryptography.hazmat.primitives.serialization import Encoding

    root = tmp_path / "other-root.pem"
    root.write_bytes(live_pki.root.public_bytes(Encoding.PEM))
    assert main(["verify", str(certified_file), "--trust-root", str(root), "--offline"]) == 2
    assert "NO_CERTIFICATE_CHAIN_FOUND" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["verify", "/nonexistent.pdf"], ["certify", "/nonexistent.pdf", "-o", "/tmp/x.pdf"]])
def test_missing_file_is_one_line_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_certify_not_a_pdf_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"GIF89a not a pdf")
    assert main(["certify", str(bad), "-o", str(tmp_path / "out.pdf")]) == 2
    assert "not a PDF" in capsys.readouterr().err


def test_certify_with_token_signer_config(tmp_path, source_pdf, softhsm_signer, capsys):
    src = tmp_path / "in.pdf"
    src.write_bytes(source_pdf)
    config = tmp_path / "token.json"
    config.write_text(json.dumps({
        "pkcs11_module": softhsm_signer.module, "pkcs11_token_label": softhsm_signer.label,
        "pkcs11_user_pin": softhsm_signer.pin, "pkcs11_key_label": softhsm_signer.key_label,
    }))
    out = tmp_path / "out.pdf"
    assert main(["certify", str(src), "-o", str(out), "--signer", str(config), "--number", "CT-2026-000777"]) == 0
    assert "CT-2026-000777" in capsys.readouterr().out
    assert main(["verify", str(out)]) == 0  # the token's certificate chains to the same dev root


def test_verify_manifest(tmp_path, capsys):
    manifest = {"dossier": "H99-0001", "objects": {"a": "b" * 64}}
    path = tmp_path / "manifest.json"
    path.write_bytes(canonical(manifest))
    (tmp_path / "manifest.json.p7s").write_bytes(sign_manifest(manifest, load_signer(load_settings())))
    assert main(["verify", str(path), "--signature", str(tmp_path / "manifest.json.p7s")]) == 0
    assert "PASSED" in capsys.readouterr().out
    path.write_bytes(canonical({**manifest, "dossier": "H99-0002"}))
    assert main(["verify", str(path)]) == 1



def test_verify_manifest_offline_fetches_nothing(tmp_path, live_pki, capsys):
    from cryptography.hazmat.primitives.serialization import Encoding

    # Signed with a certificate that names an OCSP responder and a CRL: offline, nobody can tell.
    manifest = {"dossier": "H99-0001", "objects": {"a": "b" * 64}}
    path = tmp_path / "manifest.json"
    path.write_bytes(canonical(manifest))
    (tmp_path / "manifest.json.p7s").write_bytes(sign_manifest(manifest, live_pki.signer("signer")))
    root = tmp_path / "test-root.pem"
    root.write_bytes(live_pki.root.public_bytes(Encoding.PEM))
    assert main(["verify", str(path), "--trust-root", str(root), "--offline"]) == 2
    out = capsys.readouterr().out
    assert "TRY_LATER" in out and "checked offline" in out
    assert main(["verify", str(path), "--trust-root", str(root)]) == 0

def test_bench_certify_runs(tmp_path, source_pdf, capsys):
    src = tmp_path / "in.pdf"
    src.write_bytes(source_pdf)
    assert main(["bench", "certify", "--file", str(src), "-n", "2", "--no-hsm"]) == 0
    out = capsys.readouterr().out
    assert "B-B soft key" in out and "baseline" in out


def test_certify_with_live_tsa_gives_b_lta(tmp_path, source_pdf, live_pki, capsys, monkeypatch):
    from cryptography.hazmat.primitives.serialization import Encoding

    src = tmp_path / "in.pdf"
    src.write_bytes(source_pdf)
    signer = live_pki.signer("signer")  # writes signer.p12 (password "test") in the PKI folder
    root = tmp_path / "root.pem"
    root.write_bytes(live_pki.root.public_bytes(Encoding.PEM))
    out = tmp_path / "out.pdf"
    args = ["certify", str(src), "-o", str(out), "--signer", str(live_pki.directory / "signer.p12"),
            "--tsa", live_pki.tsa_url, "--json"]
    monkeypatch.setenv("SOHOA_SIGNER_PKCS12_PASSWORD", "test")
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["timestamp"]
    assert main(["verify", str(out), "--trust-root", str(root), "--offline", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["level"] == "B-LTA" and signer.subject == report["signatures"][0]["signer_subject"]


def test_unreachable_tsa_is_one_line_error(tmp_path, source_pdf, capsys):
    src = tmp_path / "in.pdf"
    src.write_bytes(source_pdf)
    code = main(["certify", str(src), "-o", str(tmp_path / "out.pdf"), "--tsa", "http://127.0.0.1:9/tsa"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "timestamp" in err


def test_verify_many_files_one_line_each(certified_file, tmp_path, capsys):
    tampered = tmp_path / "sua-doi.pdf"
    data = bytearray(certified_file.read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered.write_bytes(bytes(data))
    assert main(["verify", str(certified_file), str(tampered)]) == 1  # one forgery fails the run
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(str(certified_file)) and "PASSED" in lines[0] and "B-B" in lines[0]
    assert lines[1].startswith(str(tampered)) and "FAILED" in lines[1]
    assert main(["verify", str(certified_file), str(certified_file), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in reports] == ["PASSED", "PASSED"] and reports[0]["file"] == str(certified_file)


def test_verify_a_file_that_is_not_a_pdf_is_bad_input(certified_file, tmp_path, capsys):
    scan = tmp_path / "anh-chup.jpg"
    scan.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    assert main(["verify", str(certified_file), str(scan)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "not a PDF" in err
