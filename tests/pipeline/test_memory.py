"""Freed page-sized memory is reused by the next page, not faulted in again.

glibc's own default moves its mmap threshold up as large blocks are freed, so whether it gives a
page's memory back depends on the order of earlier allocations (on one machine three clean-ups
faulted 11 397 pages in, on another 9). The comparison is therefore against a process that gives
freed memory back at once, which always faults every page in again.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from core.memory import keep_freed_memory
    assert keep_freed_memory()
elif sys.argv[1] == "give back":
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(-3, 128 * 1024) and libc.mallopt(-1, 128 * 1024)  # mmap and trim thresholds
from pipeline.cleanup import clean_page
from core.model import Page
import random
from samples.damage import Damage, damage_page
from samples.plain import text_page
clean, _ = text_page(random.Random(5), lines=30)
image = damage_page(clean, Damage(skew_deg=1.5, lighting=0.7, noise_std=8, seed=5))  # an A4 colour scan
page = Page(source="a4.png", source_sha256="", index=0, image=np.ascontiguousarray(image), dpi=300)
clean_page(page)
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    clean_page(page)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=120,
                         check=True)
    return int(out.stdout.strip())


def test_the_next_page_reuses_the_memory_the_last_one_freed() -> None:
    give_back, default, keep = _faults("give back"), _faults("default"), _faults("keep")
    print(f"minor page faults for three clean-ups: {give_back} giving freed memory back, {default} by "
          f"glibc's default, {keep} keeping freed memory")
    assert give_back > 5000  # about 26 MB of fresh pages a clean-up: the measurement sees them
    assert keep < 0.05 * give_back
