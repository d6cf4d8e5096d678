"""The project's exceptions, each mapped to one exit code.

Anything a user can cause (a bad file, a wrong setting) is a ``SohoaError`` subclass carrying a
one-line message; the CLI prints that line to stderr and exits with ``exit_code``. Anything else is
a bug and is logged with its traceback, but the user still sees one line.
"""

from __future__ import annotations


class SohoaError(Exception):
    """Base of every error a user can be told about in one line."""

    exit_code = 2


class InputError(SohoaError):
    """A file or argument that cannot be processed: missing, empty, wrong type, encrypted, too large."""


class ConfigError(SohoaError):
    """A setting that is missing or wrong (signer, store, database, broker)."""


class ExternalToolError(SohoaError):
    """A program or service we depend on (tesseract, the S3 server, the database) failed or is missing."""


class IntegrityError(SohoaError):
    """Stored bytes do not match their recorded hash, or an audit chain is broken."""

    exit_code = 1


class VerdictError(SohoaError):
    """A negative verdict (e.g. an invalid signature) that the caller should report, exit 1."""

    exit_code = 1
