"""flow.prewarmed: a process that imported it (a fork server, a Celery worker's main process) has
already loaded what a batch's first document would load; its forks start with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter: import the module, then classify a text and look for place and name
# vocabulary as a document would, and count the loads that were still missed.
_PROBE = """
import json, flow.prewarmed
from classifiers import classify, lexicon, places
from core.glyphless import glyphless_font
loaders = [classify.load_model, places.register, lexicon.surname_index, lexicon._name_index,
           lexicon._place_index, lexicon._open_place_keys, lexicon.business_index, glyphless_font]
before = [f.cache_info().misses for f in loaders]
classify.classify_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc GIẤY KHAI SINH")
lexicon.name_index(); lexicon.place_index(); lexicon.open_place_keys(); lexicon.surname_index()
lexicon.business_index(); places.register(); glyphless_font()
print(json.dumps({"warm": [f.cache_info().currsize > 0 for f in loaders],
                  "missed": [f.cache_info().misses - b for f, b in zip(loaders, before)]}))
"""


def test_importing_it_loads_the_documents_lazy_parts_once() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOHOA_OCR_LANG": "vie"}
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(found["warm"]), found
    assert found["missed"] == [0] * len(found["missed"]), found  # nothing loaded again at the first document
