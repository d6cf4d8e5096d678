"""Dying processes: a killed job costs only its own batch and is tried again at most three times;
a killed server leaves no orphan behind and its batch ends once after the restart."""

from __future__ import annotations

import time
from collections import Counter

from tests.api.conftest import png, small_page
from tests.faults.conftest import Served, processes_of, wait_status


def _upload(served: Served, who: str, dossier: str, pages: int, key: str | None = None) -> str:
    with served.client(who) as client:
        r = client.post("/v1/batches", data={"dossier_code": dossier},
                        headers={"Idempotency-Key": key} if key else {},
                        files=[("files", (f"p{i}.png", png(small_page(i)), "image/png")) for i in range(pages)])
        assert r.status_code == 202, r.text
        return r.json()["id"]


def _row(served: Served, public_id: str) -> tuple[int, int, str]:
    with served.db() as db:
        return db.execute("SELECT id, attempts, status FROM batches WHERE public_id = ?", (public_id,)).fetchone()


def _wait_for_job(served: Served, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not served.job_processes():
        assert time.monotonic() < deadline, "no job process started"
        time.sleep(0.05)


def test_a_killed_job_costs_only_its_own_batch_which_is_tried_again(served: Served) -> None:
    served.start()
    first = _upload(served, "station_a", "HS-KILL-1", pages=2)
    second = _upload(served, "station_b", "HS-KILL-2", pages=1)  # waits behind the first (one job at a time)
    _wait_for_job(served)
    with served.client("station_a") as a:
        wait_status(a, first, ("processing",))
    for job in served.job_processes():
        job.kill()
    with served.client("station_b") as b:
        assert wait_status(b, second, ("done", "failed"))["status"] == "done"
    with served.client("station_a") as a:
        body = wait_status(a, first, ("done", "failed"))
    assert body["status"] == "done", body["error"]
    assert body["progress"]["pages_done"] == body["progress"]["pages_total"] == 2
    assert _row(served, first)[1] == 2 and _row(served, second)[1] == 1
    with served.db() as db:
        errors = db.execute("SELECT errors FROM batches WHERE public_id = ?", (first,)).fetchone()[0]
    assert "attempt 1: the job process was killed (SIGKILL" in errors


def test_a_poison_batch_is_tried_three_times_then_failed_with_the_reason(served: Served) -> None:
    served.start()
    poison = _upload(served, "station_a", "HS-POISON", pages=1, key="poison-1")
    deadline = time.monotonic() + 90
    with served.client("station_a") as a:
        while (body := a.get(f"/v1/batches/{poison}").json())["status"] != "failed":
            assert time.monotonic() < deadline, body
            if body["status"] == "processing":  # what the OOM killer does to a batch that always blows up
                for job in served.job_processes():
                    job.kill()
            time.sleep(0.05)
    assert "killed" in body["error"] and "3 attempts" in body["error"], body["error"]
    assert _row(served, poison)[1] == 3
    # the next batch is not held up, and the poison one is not started again by a restart
    served.stop()
    served.start()
    after = _upload(served, "station_b", "HS-AFTER-POISON", pages=1)
    with served.client("station_b") as b:
        assert wait_status(b, after, ("done", "failed"))["status"] == "done"
    assert _row(served, poison)[1:] == (3, "failed")
    # The station sends the same upload again with the same Idempotency-Key: a new attempt, not
    # the failure replayed; a second retry while it runs is answered with the new batch.
    retry = _upload(served, "station_a", "HS-POISON", pages=1, key="poison-1")
    assert retry != poison
    with served.client("station_a") as a:
        again = a.post("/v1/batches", data={"dossier_code": "HS-POISON"}, headers={"Idempotency-Key": "poison-1"},
                       files=[("files", ("p0.png", png(small_page(0)), "image/png"))])
        assert again.status_code == 200 and again.json()["id"] == retry, again.text
        assert wait_status(a, retry, ("done", "failed"))["status"] == "done"
        assert a.get(f"/v1/batches/{poison}").json()["status"] == "failed"  # the failed one keeps its record


def test_sigkill_of_the_server_mid_batch_leaves_no_orphan_and_the_batch_ends_once(served: Served) -> None:
    served.start()
    batch = _upload(served, "station_a", "HS-SERVER-KILLED", pages=4)  # seconds of OCR: still under way 0.5 s in
    _wait_for_job(served)
    with served.client("station_a") as a:
        wait_status(a, batch, ("processing",))
    time.sleep(0.5)  # into the batch: its originals are stored, OCR under way
    served.kill()
    assert _row(served, batch)[2] == "processing"  # cut short mid-batch
    deadline = time.monotonic() + 10
    while left := processes_of(served.data_dir):
        assert time.monotonic() < deadline, f"orphans after the server died: {[p.cmdline() for p in left]}"
        time.sleep(0.1)

    served.start()
    with served.client("station_a") as a:
        body = wait_status(a, batch, ("done", "failed"), timeout=120)
    assert body["status"] == "done", body["error"]
    assert body["progress"]["pages_done"] == body["progress"]["pages_total"] == 4
    record_id, attempts, _ = _row(served, batch)
    assert attempts == 2
    with served.db() as db:
        assert db.execute("SELECT count(*) FROM batches b JOIN dossiers d ON d.id = b.dossier_id "
                          "WHERE d.code = 'HS-SERVER-KILLED'").fetchone()[0] == 1
        documents = db.execute("SELECT count(*) FROM documents WHERE batch_id = ?", (record_id,)).fetchone()[0]
        events = db.execute("SELECT action, subject FROM audit_events").fetchall()
    assert documents == len(body["documents"]) >= 1
    repeated = {e: n for e, n in Counter(events).items() if n > 1 and e[0] != "batch.started"}
    assert not repeated, repeated
    assert Counter(events)[("batch.started", f"batch:{record_id}")] == 2  # one per attempt, each numbered
