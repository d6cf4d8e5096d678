"""An upload is signed for the official its station key names (Circular 01/2023, Art. 8: the official
who digitizes signs the scan), not for the deployment's default digitizing official."""

from __future__ import annotations

import httpx

from api.auth import create_key
from api.db import dispose_engines, engine_for
from core.settings import Settings
from signing.keys import trust_config
from signing.verify import verify_pdf
from tests.api.conftest import Server, png, small_page, wait_for_batch

AN = "Nguyễn Văn An"
BINH = "Trần Thị Bình"


def test_each_station_keys_official_signs_its_uploads(server: Server) -> None:
    settings = Settings(data_dir=server.data_dir)
    engine = engine_for(settings.resolved_database_url)
    keys = {name: create_key(engine, role="station", name=f"station-{n}", official=name).key
            for n, name in enumerate((AN, BINH), start=1)}
    dispose_engines()
    uploaded = {}
    for seed, (official, key) in enumerate(keys.items(), start=11):
        with _client(server, key) as station:
            r = station.post("/v1/batches", data={"dossier_code": f"HS-CAN-BO-{seed}"},
                             files=[("files", ("Căn cước.png", png(small_page(seed)), "image/png"))])
            assert r.status_code == 202, r.text
            uploaded[official] = r.json()["id"]
    trust = trust_config(settings, create_dev=False)
    for official, key in keys.items():
        with _client(server, key) as station:
            batch = wait_for_batch(station, uploaded[official])
        assert batch["status"] == "done", batch["error"]
        [document] = batch["documents"]
        with server.client("workflow") as workflow:
            pdf = workflow.get(f"/v1/documents/{document['document_id']}/file").raise_for_status().content
        report = verify_pdf(pdf, roots=list(trust.roots), intermediates=trust.intermediates, allow_fetching=False)
        [signature] = [s for s in report.signatures if s.role == "digitization"]
        assert signature.official == official
        assert signature.signer_subject is not None and official in signature.signer_subject
        assert signature.intact and signature.valid


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60.0)
