"""Iterator helpers that hold no page longer than needed.

``itertools.chain([first], rest)`` keeps ``first`` alive until the chain itself goes: the chain's
source tuple still holds the list. A page is as large as a scan, so the pages read ahead here are
handed out and forgotten one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def prepend(head: list[T], rest: Iterator[T]) -> Iterator[T]:
    """The items of ``head`` (emptied as they go), then those of ``rest``."""
    yield from drain(head)
    yield from rest


def drain(items: list[T]) -> Iterator[T]:
    """The items of a list, each removed from it as it is handed out: a consumer that replaces
    a page by its result lets the page go."""
    while items:
        yield items.pop(0)
