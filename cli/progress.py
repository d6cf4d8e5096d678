"""A progress display of a batch's stages for the command line (``sohoa submit --wait``)."""

from __future__ import annotations

from typing import Any


class StageBar:
    """Each stage's progress on a stream: a bar per stage on a terminal, else one line each time
    the figures change (a log file or a pipe gets no animation)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._last = ""
        self._rich: Any = None
        self._tasks: dict[str, Any] = {}
        if stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._rich = Progress(TextColumn("{task.description:9}"), BarColumn(), MofNCompleteColumn(),
                                  console=Console(file=stream))
            self._rich.start()

    def show(self, stages: list[Any]) -> None:
        if self._rich is None:
            line = "progress: " + ", ".join(f"{s.stage} {s.done}/{'?' if s.total is None else s.total}"
                                            for s in stages)
            if line != self._last:
                print(line, file=self._stream, flush=True)
                self._last = line
            return
        for s in stages:
            if s.stage not in self._tasks:
                self._tasks[s.stage] = self._rich.add_task(s.stage, total=s.total)
            self._rich.update(self._tasks[s.stage], completed=s.done, total=s.total)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
