"""Upload checks: type by content, size, pages, pixel bombs, encrypted PDFs, names never paths,
idempotent retries; every refusal a 4xx with a clear line and nothing left on disk."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from tests.api.conftest import Server, png, small_page


def _spool_entries(server: Server) -> set[str]:
    spool = server.data_dir / "api-spool"
    return {p.name for p in spool.iterdir()} if spool.exists() else set()


def _upload(server: Server, files: list[tuple[str, bytes]], dossier: str | None = "HS-UP-1", **extra: str):
    data = {"dossier_code": dossier, **extra} if dossier is not None else dict(extra)
    with server.client("station_a") as station:
        return station.post("/v1/batches", data=data,
                            files=[("files", (name, body, "application/octet-stream")) for name, body in files])


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels but holds one tiny compressed row: a pixel bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _tiff(frames: int) -> bytes:
    out = io.BytesIO()
    images = [Image.new("L", (40, 40), 255) for _ in range(frames)]
    images[0].save(out, format="TIFF", save_all=True, append_images=images[1:])
    return out.getvalue()


def _pdf_with_huge_image() -> bytes:
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, zlib.compress(b"\0" * 1000))
    image.update({"/Type": pikepdf.Name.XObject, "/Subtype": pikepdf.Name.Image, "/Width": 100_000,
                  "/Height": 100_000, "/ColorSpace": pikepdf.Name.DeviceGray, "/BitsPerComponent": 8,
                  "/Filter": pikepdf.Name.FlateDecode})
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _encrypted_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return out.getvalue()


REFUSALS = [
    ("text file named .pdf", [("ho-so.pdf", b"hello, this is not a scan at all\n" * 50)], 415, "not a PDF, TIFF"),
    ("GIF", [("scan.gif", b"GIF89a" + b"\0" * 100)], 415, "not a PDF, TIFF"),
    ("empty file", [("empty.png", b"")], 422, "empty"),
    ("too large", [("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024 + 10))], 413, "MiB per file"),
    ("too many pages", [("many.tif", _tiff(6))], 413, "6 pages"),
    ("PNG pixel bomb", [("bomb.png", _png_header_only(50_000, 50_000))], 413, "decompression bomb"),
    ("PDF pixel bomb", [("bomb.pdf", _pdf_with_huge_image())], 413, "decompression bomb"),
    ("encrypted PDF", [("locked.pdf", _encrypted_pdf())], 422, "encrypted"),
    ("truncated PDF", [("cut.pdf", b"%PDF-1.7\n1 0 obj <<")], 422, "PDF"),
    ("a good file then a bad one", [("ok.png", b"GOOD"), ("bad.txt", b"nope" * 300)], 415, "bad.txt"),
]


@pytest.mark.parametrize(("files", "status", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_are_4xx_with_a_clear_line_and_leave_nothing(server: Server, files, status, words) -> None:
    if files[0][1] == b"GOOD":
        files = [("ok.png", png(small_page(1)[:200, :200])), files[1]]
    before = _spool_entries(server)
    r = _upload(server, files)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert words in detail and "\n" not in detail and "Traceback" not in detail
    assert _spool_entries(server) <= before


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({}, 422, "dossier_code is required"),
        ({"dossier_code": "../../etc"}, 422, "dossier_code must be"),
        ({"dossier_code": "HS-1", "procedure_code": "x" * 80}, 422, "procedure_code"),
        ({"dossier_code": "HS-1", "certify": "maybe"}, 422, "certify"),
    ],
)
def test_bad_form_fields(server: Server, data: dict, status: int, words: str) -> None:
    with server.client("station_a") as station:
        r = station.post("/v1/batches", data=data, files=[("files", ("a.png", png(small_page(1)[:100, :100])))])
    assert r.status_code == status and words in r.json()["detail"]


def test_no_files_and_not_multipart(server: Server) -> None:
    with server.client("station_a") as station:
        r = station.post("/v1/batches", data={"dossier_code": "HS-1"})
        assert r.status_code in (415, 422)
        r = station.post("/v1/batches", data={"dossier_code": "HS-1"}, files=[("other", ("", b""))])
        assert r.status_code == 422
        r = station.post("/v1/batches", content=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
        assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
        r = station.post("/v1/batches", content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"})
        assert r.status_code == 400


def test_file_names_are_never_paths(server: Server) -> None:
    evil = "../../../../tmp/sohoa-evil\x00.png"
    r = _upload(server, [(evil, png(small_page(2)[:200, :200]))], dossier="HS-NAMES-1")
    assert r.status_code == 202, r.text
    name = r.json()["files"][0]["name"]
    assert "/" not in name and "\x00" not in name and name.startswith("sohoa-evil")  # httpx sends NUL as %00
    assert not Path("/tmp/sohoa-evil.png").exists() and not Path("/tmp/sohoa-evil").exists()
    spool = server.data_dir / "api-spool" / r.json()["id"]
    r = _upload(server, [("..\\..\\Windows\\win.ini.png", png(small_page(2)[:150, :150]))], dossier="HS-NAMES-2")
    assert r.status_code == 202 and r.json()["files"][0]["name"] == "win.ini.png"
    if spool.exists():  # still queued: the spool holds it under a name of its own
        assert {p.name for p in spool.iterdir()} <= {"000.png"}


def test_a_retried_upload_is_not_processed_twice(server: Server) -> None:
    body = png(small_page(4)[:250, :250])
    with server.client("station_a") as station:
        first = station.post("/v1/batches", headers={"Idempotency-Key": "retry-1"}, data={"dossier_code": "HS-RETRY-1"},
                             files=[("files", ("a.png", body))])
        again = station.post("/v1/batches", headers={"Idempotency-Key": "retry-1"}, data={"dossier_code": "HS-RETRY-1"},
                             files=[("files", ("a.png", body))])
        assert first.status_code == 202 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
        assert again.headers["idempotent-replayed"] == "true"
        other = station.post("/v1/batches", headers={"Idempotency-Key": "retry-1"},
                             data={"dossier_code": "HS-RETRY-2"}, files=[("files", ("a.png", body))])
        assert other.status_code == 409
        ids = [b["id"] for b in station.get("/v1/batches", params={"limit": 100}).json()["batches"]]
        assert ids.count(first.json()["id"]) == 1
    with server.client("station_b") as other_station:  # keys are per station: no clash across stations
        r = other_station.post("/v1/batches", headers={"Idempotency-Key": "retry-1"},
                               data={"dossier_code": "HS-RETRY-1"}, files=[("files", ("a.png", body))])
        assert r.status_code == 202 and r.json()["id"] != first.json()["id"]


def test_a_file_that_fails_in_processing_fails_its_batch_with_a_clear_line(server: Server) -> None:
    from tests.api.conftest import wait_for_batch

    r = _upload(server, [("hỏng.png", _png_header_only(400, 300))], dossier="HS-BROKEN-1")
    assert r.status_code == 202, r.text  # the header is sound: only decoding the pixels finds the damage
    with server.client("station_a") as station:
        batch = wait_for_batch(station, r.json()["id"])
    assert batch["status"] == "failed" and batch["documents"] == []
    assert "hỏng.png" in batch["error"] and "000.png" not in batch["error"] and "\n" not in batch["error"]
    assert batch["record_batch_id"] is not None
