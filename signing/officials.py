"""Officials and their keys: whoever digitizes a paper or certifies a copy signs with their own key.

Which key an official uses is configuration, not records: a JSON file (``SOHOA_OFFICIALS_FILE``)
mapping the official's full name to a PKCS#12 file or a PKCS#11 token, beside the agency key's own
settings. A file, because what it holds is secrets and key locations (a token PIN, a PKCS#12
password) that belong with the deployment's other key material, kept by whoever keeps the keys and
readable only by the service; roles and names of people stay in the API keys. For example::

    {"officials": {
        "Nguyễn Văn An":   {"pkcs12": "/etc/sohoa/keys/an.p12", "password": "…"},
        "Trần Thị Bình":   {"pkcs11_module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "binh",
                            "user_pin": "…", "key_label": "binh"}}}

An official not in the file signs with a personal DEVELOPMENT ONLY certificate issued by the
development PKI on first use when no agency key is configured, and with the agency key otherwise
(said in the log at WARNING; the appearance and the signature still name the official).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from core.errors import ConfigError
from core.model import nfc
from core.settings import Settings
from signing.devpki import ensure_dev_pki, ensure_official_certificate
from signing.keys import AgencySigner, load_pkcs11_signer, load_pkcs12_signer, load_signer

log = logging.getLogger(__name__)


class OfficialSignerConfig(BaseModel):
    """One official's signer: a PKCS#12 file, or a key on a PKCS#11 token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pkcs12: Path | None = None
    password: str | None = None
    pkcs11_module: str | None = None
    token_label: str | None = None
    user_pin: str | None = None
    key_label: str | None = None
    cert_label: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> OfficialSignerConfig:
        if bool(self.pkcs12) == bool(self.pkcs11_module):
            raise ValueError("give either pkcs12 or pkcs11_module")
        return self


def read_officials(path: Path) -> dict[str, OfficialSignerConfig]:
    """The officials file: full name (NFC) → signer configuration."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"SOHOA_OFFICIALS_FILE: cannot read {Path(path).name}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"SOHOA_OFFICIALS_FILE: {Path(path).name} is not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("officials"), dict):
        raise ConfigError('SOHOA_OFFICIALS_FILE: expected {"officials": {"full name": {...}}}')
    officials = {}
    for name, config in data["officials"].items():
        try:
            officials[nfc(name).strip()] = OfficialSignerConfig.model_validate(config)
        except ValidationError as exc:
            raise ConfigError(f"SOHOA_OFFICIALS_FILE: the signer of official #{len(officials) + 1} "
                              f"is not valid: {exc.errors()[0]['msg']}") from exc
    return officials


_TOKENS: dict[tuple[Any, ...], AgencySigner] = {}
_TOKENS_LOCK = threading.Lock()


def _open(config: OfficialSignerConfig) -> AgencySigner:
    if config.pkcs12:
        return load_pkcs12_signer(config.pkcs12, config.password)
    key = (config.pkcs11_module, config.token_label, config.key_label, config.cert_label)
    with _TOKENS_LOCK:  # one session per key for the life of the process, as for the agency key
        signer = _TOKENS.get(key)
        if signer is None:
            assert config.pkcs11_module is not None
            signer = load_pkcs11_signer(config.pkcs11_module, token_label=config.token_label,
                                        user_pin=config.user_pin, key_label=config.key_label,
                                        cert_label=config.cert_label)
            _TOKENS[key] = signer
        return signer


def official_signer(settings: Settings, official: str, *,
                    agency: Callable[[], AgencySigner] | None = None) -> AgencySigner:
    """The signer of ``official``: theirs when configured; else a personal development certificate
    (no agency key configured), else the agency's key (from ``agency``, or the configured one)."""
    name = nfc(official).strip()
    if not name:
        raise ConfigError("an official's signature needs the official's name")
    if settings.officials_file:
        config = read_officials(settings.officials_file).get(name)
        if config is not None:
            return _open(config)
    if not settings.signer_pkcs12 and not settings.pkcs11_module:
        pki = ensure_dev_pki(settings.pki_dir)
        return load_pkcs12_signer(ensure_official_certificate(pki, name), pki.password, kind="development")
    log.warning("an official has no signer of their own configured (SOHOA_OFFICIALS_FILE): "
                "signing with the agency key")
    return agency() if agency is not None else load_signer(settings)
