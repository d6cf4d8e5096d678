"""Keys and roles: no key 401, wrong role 403, another station's batch 404, revoked key 401."""

from __future__ import annotations

import pytest

from tests.api.conftest import Server, png, small_page

# (method, path, the role that may call it)
ENDPOINTS = [
    ("GET", "/v1/batches/0123456789abcdef", "station_a"),
    ("GET", "/v1/batches", "station_a"),
    ("POST", "/v1/batches", "station_a"),
    ("GET", "/v1/dossiers/HS-1", "workflow"),
    ("GET", "/v1/documents/1", "workflow"),
    ("POST", "/v1/documents/1/certified-copies", "workflow"),
    ("GET", "/v1/certified-copies/1", "workflow"),
    ("GET", "/v1/reuse?personal_id=001090012345", "workflow"),
    ("POST", "/v1/verify", "auditor"),
    ("GET", "/v1/audit", "auditor"),
    ("GET", "/v1/keys", "admin"),
    ("POST", "/v1/keys", "admin"),
]


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_no_key_or_a_bad_key_is_401(server: Server, method: str, path: str, role: str) -> None:
    with server.client() as anonymous:
        r = anonymous.request(method, path)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "API key" in r.json()["detail"]
        r = anonymous.request(method, path, headers={"Authorization": "Bearer sohoa_000000000000_nope"})
        assert r.status_code == 401
        r = anonymous.request(method, path, headers={"X-API-Key": "garbage"})
        assert r.status_code == 401


@pytest.mark.parametrize(("method", "path", "role"), ENDPOINTS)
def test_every_other_role_is_403(server: Server, method: str, path: str, role: str) -> None:
    others = {"station_a", "workflow", "auditor", "admin"} - {role}
    for other in sorted(others):
        with server.client(other) as client:
            r = client.request(method, path)
            assert r.status_code == 403, (other, r.text)
            assert "key" in r.json()["detail"]


def test_the_x_api_key_header_works_too(server: Server) -> None:
    with server.client() as client:
        r = client.get("/v1/batches", headers={"X-API-Key": server.keys["station_a"]})
        assert r.status_code == 200


def test_another_stations_batch_is_404(server: Server) -> None:
    with server.client("station_a") as a, server.client("station_b") as b:
        r = a.post("/v1/batches", data={"dossier_code": "HS-AUTH-1"},
                   files=[("files", ("a.png", png(small_page(3)[:300, :300]), "image/png"))])
        assert r.status_code == 202, r.text
        batch_id = r.json()["id"]
        assert a.get(f"/v1/batches/{batch_id}").status_code == 200
        theirs = b.get(f"/v1/batches/{batch_id}")
        assert theirs.status_code == 404
        assert b.get("/v1/batches/does-not-exist").json()["detail"] == theirs.json()["detail"].replace(
            batch_id, "does-not-exist")
        assert batch_id not in {x["id"] for x in b.get("/v1/batches").json()["batches"]}
        assert batch_id in {x["id"] for x in a.get("/v1/batches").json()["batches"]}


def test_admin_makes_lists_and_revokes_keys(server: Server) -> None:
    with server.client("admin") as admin:
        r = admin.post("/v1/keys", json={"role": "auditor", "name": "kiểm-toán"})
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["key"].startswith("sohoa_")
        listed = admin.get("/v1/keys").json()
        assert made["id"] in {k["id"] for k in listed}
        assert all("key" not in k and "hash" not in k for k in listed)
        with server.client() as c:
            auth = {"Authorization": f"Bearer {made['key']}"}
            assert c.get("/v1/audit", headers=auth).status_code == 200
            assert admin.delete(f"/v1/keys/{made['id']}").status_code == 204
            assert c.get("/v1/audit", headers=auth).status_code == 401
        assert admin.delete(f"/v1/keys/{made['id']}").status_code == 404
        assert admin.post("/v1/keys", json={"role": "root", "name": "x"}).status_code == 422


def test_keys_are_stored_hashed(server: Server) -> None:
    import sqlite3

    db = sqlite3.connect(server.data_dir / "sohoa.db")
    try:
        stored = "\n".join(str(v) for row in db.execute("SELECT * FROM api_keys") for v in row)
    finally:
        db.close()
    for key in server.keys.values():
        assert key not in stored
        assert key.split("_", 2)[2] not in stored


def test_keys_create_command(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["keys", "create", "--role", "station", "--name", "quay-01"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("sohoa_") and len(out.out.strip().splitlines()) == 1 and "shown once" in out.err
    assert main(["keys", "create", "--role", "station", "--name", "with space"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as stopped:  # argparse refuses an unknown role
        main(["keys", "create", "--role", "root", "--name", "x"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["keys", "create", "--role", "certifier", "--name", "ct01"]) == 2  # an officer is named
    assert "official" in capsys.readouterr().err
    assert main(["keys", "create", "--role", "certifier", "--name", "ct01", "--official", "Lê Thị Cúc"]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "quay-01" in listed and key not in listed
    assert "certifier" in listed and "Lê Thị Cúc" in listed
    assert main(["keys", "revoke", "999"]) == 2


def test_serve_on_a_busy_port_is_one_line_exit_2(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    port = server.url.rsplit(":", 1)[1]
    assert main(["serve", "--port", port]) == 2
    assert capsys.readouterr().err.strip() == f"sohoa: error: cannot listen on 127.0.0.1:{port}: Address already in use"
