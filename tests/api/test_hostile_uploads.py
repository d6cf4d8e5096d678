"""Hostile files at the door: a content-stream bomb (under any filter) is refused in the upload
answer (413, one line, nothing left in the spool), so it never reaches a job, and the next
station's batch runs at once; a file cut short or a page tree that is malformed is refused there
too (422, one line naming what is wrong), not accepted to fail later."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from tests.api.conftest import Server, png, small_page, wait_for_batch
from tests.faults.hostile import content_bomb_pdf, filtered_content_pdf


@pytest.mark.parametrize("inflated", [40_000_000, 2_500_000], ids=["39KB-to-40MB", "3KB-to-2.5MB"])
def test_a_content_stream_bomb_is_refused_before_the_answer(server: Server, inflated: int) -> None:
    spool = server.data_dir / "api-spool"
    before = {p.name for p in spool.iterdir()} if spool.exists() else set()
    started = time.monotonic()
    with server.client("station_a") as station:
        r = station.post("/v1/batches", data={"dossier_code": "HS-BOMB-1"},
                         files=[("files", ("bomb.pdf", content_bomb_pdf(inflated), "application/pdf"))])
    assert time.monotonic() - started < 5.0
    assert r.status_code == 413, r.text
    detail = r.json()["detail"]
    assert detail.startswith("bomb.pdf: page 1:") and "content-stream bomb" in detail
    assert str(server.data_dir) not in detail and "\n" not in detail
    assert ({p.name for p in spool.iterdir()} if spool.exists() else set()) <= before


def test_the_next_station_is_not_held_up_by_a_bomb(server: Server) -> None:
    with server.client("station_a") as a:
        assert a.post("/v1/batches", data={"dossier_code": "HS-BOMB-2"},
                      files=[("files", ("bomb.pdf", content_bomb_pdf(), "application/pdf"))]).status_code == 413
    started = time.monotonic()
    with server.client("station_b") as b:
        r = b.post("/v1/batches", data={"dossier_code": "HS-AFTER-BOMB"},
                   files=[("files", ("cccd.png", png(small_page(3)), "image/png"))])
        assert r.status_code == 202, r.text
        batch = wait_for_batch(b, r.json()["id"], timeout=60)
    assert batch["status"] == "done", batch["error"]
    assert time.monotonic() - started < 60


def _scan_pdf() -> bytes:
    """A one-page scanned PDF: one JPEG drawn over the page."""
    import io

    import pikepdf

    jpeg = io.BytesIO()
    Image.fromarray(small_page(6)).save(jpeg, format="JPEG", quality=85)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    h, w = small_page(6).shape[:2]
    image = pikepdf.Stream(pdf, jpeg.getvalue(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                           Width=w, Height=h, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode,
                           ColorSpace=pikepdf.Name.DeviceGray if small_page(6).ndim == 2 else pikepdf.Name.DeviceRGB)
    page = pdf.pages[0].obj
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _encoded(kind: str) -> bytes:
    import io

    out = io.BytesIO()
    Image.fromarray(small_page(6)).save(out, format=kind)
    return out.getvalue()


def _refused(server: Server, name: str, data: bytes, media_type: str) -> tuple[int, str]:
    spool = server.data_dir / "api-spool"
    before = {p.name for p in spool.iterdir()} if spool.exists() else set()
    with server.client("station_a") as station:
        r = station.post("/v1/batches", data={"dossier_code": "HS-CUT-1"},
                         files=[("files", (name, data, media_type))])
    assert ({p.name for p in spool.iterdir()} if spool.exists() else set()) <= before  # nothing kept
    detail = r.json()["detail"]
    assert str(server.data_dir) not in detail and "\n" not in detail and "internal" not in detail
    return r.status_code, detail


@pytest.mark.parametrize(
    ("kind", "media_type", "keep", "words"),
    [
        ("pdf", "application/pdf", 0.97, "not a readable PDF; it may have been cut short"),
        ("pdf", "application/pdf", 0.5, "not a readable PDF"),
        ("JPEG", "image/jpeg", 0.6, "not a readable JPEG image (image file is truncated"),
        ("PNG", "image/png", 0.6, "the PNG image is cut short"),
        ("TIFF", "image/tiff", 0.6, "page 1 of the TIFF is cut short"),
    ],
)
def test_a_file_cut_short_is_refused_before_the_answer(
    server: Server, kind: str, media_type: str, keep: float, words: str
) -> None:
    whole = _scan_pdf() if kind == "pdf" else _encoded(kind)
    with server.client("station_a") as station:  # whole, it is taken
        r = station.post("/v1/batches", data={"dossier_code": "HS-WHOLE-1"},
                         files=[("files", (f"whole.{kind.lower()}", whole, media_type))])
        assert r.status_code == 202, r.text
    status, detail = _refused(server, f"cut.{kind.lower()}", whole[: int(len(whole) * keep)], media_type)
    assert status == 422 and detail.startswith(f"cut.{kind.lower()}: ") and words in detail, detail


def test_a_file_that_only_starts_like_a_pdf_names_no_server_path(server: Server) -> None:
    """qpdf names the spool file it opened ("<path>: unable to find trailer dictionary"): the
    station hears the name it sent, never where the server keeps it."""
    status, detail = _refused(server, "rac.pdf", b"%PDF-1.4\n" + b"not a PDF body " * 40, "application/pdf")
    assert status == 422 and detail.startswith("rac.pdf: not a readable PDF (rac.pdf: "), detail
    assert "api-spool" not in detail and ".part" not in detail, detail


@pytest.mark.parametrize(
    ("box", "words"),
    [("[0 0 /A4 842]", "MediaBox is missing or is not four numbers"),
     ("[0 0 (595) 842]", "MediaBox is missing or is not four numbers"),
     ("[0 0 0 842]", "page 1: its MediaBox has no area")],
)
def test_a_malformed_mediabox_is_a_clear_refusal(server: Server, box: str, words: str) -> None:
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].obj.MediaBox = pikepdf.Array(pikepdf.Object.parse(box.encode()))
    out = io.BytesIO()
    pdf.save(out)
    status, detail = _refused(server, "box.pdf", out.getvalue(), "application/pdf")
    assert status == 422 and detail.startswith("box.pdf: ") and words in detail, detail


@pytest.mark.parametrize("filters", [["/LZWDecode"], ["/ASCII85Decode", "/FlateDecode"], ["/RunLengthDecode"]],
                         ids=lambda f: "+".join(n[1:-6] for n in f))
def test_a_content_stream_bomb_under_other_filters_is_refused(server: Server, filters: list[str]) -> None:
    body = b" " * 1_000_000 if filters == ["/RunLengthDecode"] else b"q Q " * 250_000
    data = filtered_content_pdf(body, filters, repeat=40)  # 40 MB of instructions
    assert len(data) < 3 * 2**20
    status, detail = _refused(server, "bomb.pdf", data, "application/pdf")
    assert status == 413 and detail.startswith("bomb.pdf: page 1:") and "content-stream bomb" in detail, detail
