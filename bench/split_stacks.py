"""Splitting scanned stacks that hold blank pages: how many stacks split exactly into their papers,
and how many scanned pages end up in a document (Circular 01/2023: all of them).

Stacks are generated text (no OCR, so it measures the split's rules, not the reading): two to five
papers of random types, half of the stacks scanned duplex (a blank back after every page), and a
blank sheet slipped between papers three times in ten (reception's habit; the sheet is the paper
before it's, as the split keeps it). The rules were tuned on the ``seen`` seeds only; ``heldout``
seeds were run once, after. Run from a checkout: ``python -m bench.split_stacks``.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.split import split_documents
from core.doctypes import DOC_TYPES
from core.model import Page
from samples.generator import generate_text

SEEN = range(150)
HELDOUT = range(5000, 5300)
_WHITE = np.full((700, 500), 255, np.uint8)


@dataclass(frozen=True)
class Stack:
    pages: tuple[Page, ...]
    papers: tuple[tuple[int, ...], ...]  # page indexes of each paper, blank pages included
    duplex: bool


def make_stack(seed: int) -> Stack:
    rng = random.Random(seed)
    pages: list[Page] = []
    papers: list[list[int]] = []
    duplex = rng.random() < 0.5

    def add(**kwargs: object) -> int:
        pages.append(Page("stack", "", len(pages), _WHITE, 300.0, **kwargs))  # type: ignore[arg-type]
        return len(pages) - 1

    for n in range(rng.randint(2, 5)):
        if n and rng.random() < 0.3:
            papers[-1].append(add(blank=True))
        paper: list[int] = []
        for text in generate_text(rng.choice(DOC_TYPES), rng).text.split("\f"):
            paper.append(add(text=text, mean_confidence=0.9))
            if duplex:
                paper.append(add(blank=True))
        papers.append(paper)
    return Stack(tuple(pages), tuple(map(tuple, papers)), duplex)


@dataclass(frozen=True)
class Score:
    stacks: int
    exact: int
    pages: int
    pages_in_documents: int

    def line(self, name: str) -> str:
        return (f"{name:8s} stacks {self.stacks:4d}  split exactly {self.exact:4d} ({100 * self.exact / self.stacks:5.1f}%)"
                f"  pages kept {self.pages_in_documents}/{self.pages}")


def score(seeds: Sequence[int]) -> Score:
    exact = pages = kept = 0
    for seed in seeds:
        stack = make_stack(seed)
        documents = tuple(tuple(p.index for p in d) for d in split_documents(stack.pages))
        exact += documents == stack.papers
        pages += len(stack.pages)
        kept += sum(map(len, documents))
    return Score(len(seeds), exact, pages, kept)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["seen", "heldout", "both"], default="both")
    args = parser.parse_args(argv)
    print("baseline (blank pages dropped as separator sheets): seen 142/150 exact, held-out 267/300, "
          "pages kept 544/968 and 1117/1921")
    if args.split in ("seen", "both"):
        print(score(SEEN).line("seen"))
    if args.split in ("heldout", "both"):
        print(score(HELDOUT).line("held-out"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
