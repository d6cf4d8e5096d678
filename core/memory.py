"""Keep freed page-sized memory in the process for the next page.

Clean-up allocates and frees page-sized arrays dozens of times a page. glibc gives the top of its
heap back to the kernel whenever more than twice its current mmap threshold is free there, and
every fresh page of memory the next array touches is then zero-filled by a page fault: on A4
colour scans about 0.05 s of system time a page. A fixed mmap threshold and a trim threshold above
a worker's whole budget keep that memory for reuse: the peak stays what it was (the memory is
reused, not added to); only the resident size between pages stays near the peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
TRIM_THRESHOLD = 512 * 2**20
# Grey A4 pages and their masks (9 MB at 300 dpi) come from the heap; colour pages (26 MB) are still
# mapped and unmapped whole: kept on the heap too they left it fragmented, 26 MB more at the peak.
MMAP_THRESHOLD = 16 * 2**20


@functools.cache
def keep_freed_memory() -> bool:
    """Fix glibc's mmap threshold and raise its trim threshold for this process (not for the
    programs it starts: Tesseract ran no faster so); False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.debug("glibc malloc thresholds %s", "set" if done else "left as they were")
    return done
