"""How every sohoa process logs: lines for people, or one JSON object a line for a log collector
(``SOHOA_LOG_FORMAT=json``), and never a personal ID at INFO or above.

Log lines travel: to files kept for months, to collectors other teams read. A personal ID that a
message carries (a reuse look-up's URL in the access log, a value quoted in a warning) is replaced
by ``[personal ID]`` before any handler sees it; names cannot be recognised that way, so the code
keeps them out of its messages, and a test processes a dossier with INFO captured to hold it to that.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import unicodedata
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# A run of exactly twelve digits: the shape of a personal ID (Căn cước number).
PERSONAL_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
REDACTED = "[personal ID]"

# The attributes every LogRecord has; anything else on a record was passed as ``extra=`` and is
# worth a key of its own in JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                         "color_message"}  # uvicorn's copy


class PersonalDataFilter(logging.Filter):
    """Masks personal IDs in records at INFO and above (DEBUG is for a developer's own machine)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: the handler reports it as it would
            return True
        if PERSONAL_ID.search(message):
            record.msg, record.args = PERSONAL_ID.sub(REDACTED, message), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message (NFC), process, and
    whatever the call passed as ``extra=`` (batch, page …)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": unicodedata.normalize("NFC", record.getMessage()),
            "process": record.processName,
            "pid": record.process,
        }
        for key, value in vars(record).items():
            # Plain values only: a library's structured extra (Celery's ``data``: a task's
            # arguments and result, names and IDs among them) stays out of the line.
            if key in _STANDARD or key.startswith("_") or key in data:
                continue
            if isinstance(value, bool | int | float):
                data[key] = value
            elif isinstance(value, str):
                data[key] = PERSONAL_ID.sub(REDACTED, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def formatter(log_format: str, text_format: str = TEXT_FORMAT) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(text_format)


def configure_logging(level: int | str, log_format: str = "text", text_format: str = TEXT_FORMAT) -> None:
    """The root logger writes to stderr in the chosen format, personal IDs masked."""
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    if log_format == "json":  # a library's warning is a line of the log too, not loose text
        logging.captureWarnings(True)
    adopt_handlers(log_format, text_format)


def adopt_handlers(log_format: str = "text", text_format: str = TEXT_FORMAT) -> None:
    """Give every handler configured so far (the root's, and those a server such as uvicorn set up
    on its own loggers) the chosen format and the personal-data filter."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if log_format == "json" or logger is logging.getLogger():
                handler.setFormatter(formatter(log_format, text_format))
            if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                handler.addFilter(PersonalDataFilter())
