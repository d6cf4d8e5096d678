"""Two officials digitize and certify one paper from the command line: ``sohoa process --official
… --certifier …``, then ``sohoa verify`` names the digitization signature and the certification
with each official, and finds the register number and the result code in the records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.result_code import result_code_valid
from core.settings import Settings
from storage.db import open_database
from storage.result_codes import result_code_of

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"
AN = "Nguyễn Văn An"
BINH = "Trần Thị Bình"


def sohoa(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOHOA_DATA_DIR": str(data_dir), "SOHOA_WORKERS": "1", "OMP_THREAD_LIMIT": "1"}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_two_officials_from_process_to_verify(tmp_path: Path) -> None:
    scan = tmp_path / "giay-chung-nhan-ket-hon.jpg"
    shutil.copy(SAMPLES / scan.name, scan)
    data, out = tmp_path / "data", tmp_path / "out"
    run = sohoa(data, "process", str(scan), "--dossier", "HS-HAI-CAN-BO", "--official", AN, "--certifier", BINH,
                "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    [document] = json.loads(run.stdout)["documents"]
    copy = Path(document["certified_path"])

    verify = sohoa(data, "verify", str(copy))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"digitization signature (số hóa) by {AN}" in verify.stdout
    assert f"certification (chứng thực) by {BINH}" in verify.stdout
    db = open_database(Settings(data_dir=data).resolved_database_url)
    code = result_code_of(db, document["document_id"])
    assert code and result_code_valid(code)
    assert f"register number {document['certification_number']}: matches the register" in verify.stdout
    assert f"result code {code}: matches the records" in verify.stdout

    report = json.loads(sohoa(data, "verify", str(copy), "--json").stdout)
    roles = {s["role"]: s for s in report["signatures"]}
    assert roles["digitization"]["official"] == AN and roles["certification"]["official"] == BINH
    assert AN in roles["digitization"]["signer_subject"] and BINH in roles["certification"]["signer_subject"]

    db.dispose()
