"""The signed manifest of a stored dossier: canonical JSON (RFC 8785) signed as detached CMS.

A manifest lists the hash of every stored object and the extracted fields. Canonical JSON means
the bytes that are signed follow from the content alone (key order, number and string forms are
fixed), so the manifest can be re-serialised by any JCS implementation and still verify. The
signature is detached CMS (``.p7s``) by the same agency key that certifies copies, checked against
the configured trust roots only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import rfc8785
from asn1crypto import cms
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.validation import async_validate_detached_cms
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from core.errors import InputError
from core.model import nfc
from signing.keys import AgencySigner, Certificate, to_asn1
from signing.verify import FAILED, INDETERMINATE, PASSED, chain_reason, revocation_context_kwargs

MANIFEST_VERSION = 1


def build_manifest(
    dossier_code: str,
    objects: Mapping[str, str],
    fields: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    created_at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A manifest in the shape sohoa signs: ``objects`` maps object keys (or roles) to sha256 hex,
    ``fields`` maps a document to its extracted fields. Text is NFC, so equal text is equal bytes."""
    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return nfc(value)
        if isinstance(value, Mapping):
            return {nfc(str(k)): norm(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [norm(v) for v in value]
        return value

    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "dossier": dossier_code,
        "objects": dict(objects),
        "fields": dict(fields or {}),
        **extra,
    }
    if created_at is not None:
        manifest["created_at"] = created_at.isoformat()
    return norm(manifest)


def canonical(manifest: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of ``manifest``: what is signed and what is stored."""
    try:
        return rfc8785.dumps(dict(manifest))
    except (TypeError, ValueError, rfc8785.CanonicalizationError) as exc:
        raise InputError(f"manifest cannot be canonicalised as JSON: {exc}") from exc


async def async_sign_manifest(manifest: Mapping[str, Any], signer: AgencySigner) -> bytes:
    """Async form of :func:`sign_manifest`."""
    content_info = await signer.signer.async_sign_general_data(canonical(manifest), "sha256", detached=True)
    return content_info.dump()


def sign_manifest(manifest: Mapping[str, Any], signer: AgencySigner) -> bytes:
    """Detached CMS (DER) over the canonical JSON of ``manifest``."""
    return asyncio.run(async_sign_manifest(manifest, signer))


@dataclass(frozen=True)
class ManifestReport:
    status: str
    reasons: list[str]
    sha256: str
    signer_subject: str | None = None
    signing_time: datetime | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    canonical: bool = False  # the file is byte-for-byte the canonical form of its content
    messages: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {PASSED: 0, FAILED: 1}.get(self.status, 2)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["signing_time"] = self.signing_time.isoformat() if self.signing_time else None
        data["exit_code"] = self.exit_code
        return data

    def summary(self) -> str:
        lines = [f"manifest: {self.status} ({', '.join(self.reasons) or 'none'})", f"  sha256: {self.sha256}"]
        if self.signer_subject:
            lines.append(f"  signer: {self.signer_subject}")
        if self.signing_time:
            lines.append(f"  signing time: {self.signing_time.isoformat()} (claimed)")
        lines += [f"  - {m}" for m in self.messages]
        return "\n".join(lines)


def verify_manifest(
    manifest_json: bytes, cms_der: bytes, roots: Sequence[Certificate], *, allow_fetching: bool = True
) -> ManifestReport:
    """Check the detached signature over ``manifest_json`` against ``roots``.

    The signature is checked over the exact bytes given; if they are not in canonical form the
    report says so (a re-serialised manifest is not what was signed, even if equal as JSON).
    """
    return asyncio.run(async_verify_manifest(manifest_json, cms_der, roots, allow_fetching=allow_fetching))


async def async_verify_manifest(
    manifest_json: bytes, cms_der: bytes, roots: Sequence[Certificate], *, allow_fetching: bool = True
) -> ManifestReport:
    """Async form of :func:`verify_manifest`."""
    sha256 = hashlib.sha256(manifest_json).hexdigest()
    messages: list[str] = []
    is_canonical = False
    try:
        is_canonical = canonical(json.loads(manifest_json)) == manifest_json
    except (ValueError, InputError):
        messages.append("the manifest is not valid JSON")
    try:
        content_info = cms.ContentInfo.load(cms_der)
        signed_data = content_info["content"]
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not CMS SignedData")
        signed_data.native  # noqa: B018 - parse everything now, so damage is a format failure here
    except (ValueError, TypeError, KeyError) as exc:
        return ManifestReport(
            status=FAILED, reasons=[AdESFailure.FORMAT_FAILURE.name], sha256=sha256,
            messages=messages + [f"the signature is not readable CMS: {exc}"],
        )
    context = ValidationContext(
        trust_roots=[to_asn1(c) for c in roots], **revocation_context_kwargs(allow_fetching)
    )
    try:
        try:
            status = await async_validate_detached_cms(
                manifest_json,
                signed_data,
                signer_validation_context=context,
                key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
            )
        except Exception as exc:  # noqa: BLE001 - pyHanko raises assorted errors on broken SignedData
            return ManifestReport(
                status=FAILED, reasons=[AdESFailure.FORMAT_FAILURE.name], sha256=sha256,
                messages=messages + [f"the signature cannot be validated: {exc}"],
            )
        reasons: list[str] = []
        if not status.intact:
            reasons.append(AdESFailure.HASH_FAILURE.name)
        elif not status.valid:
            reasons.append(AdESFailure.SIG_CRYPTO_FAILURE.name)
        elif status.revocation_details is not None:
            reasons.append(AdESFailure.REVOKED.name)
        elif not status.trusted:
            indic = status.trust_problem_indic
            reason = indic.standard_name if indic else AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.name
            # Before the context closes: telling a missing revocation answer apart needs it.
            reasons.append(await chain_reason(reason, context, status.validation_path, messages))
    finally:
        await context.aclose()
    if not is_canonical and not reasons:
        messages.append("the manifest bytes are not RFC 8785 canonical JSON")
    failed = any(r in (AdESFailure.HASH_FAILURE.name, AdESFailure.SIG_CRYPTO_FAILURE.name,
                       AdESFailure.REVOKED.name) for r in reasons)
    cert = status.signing_cert
    return ManifestReport(
        status=FAILED if failed else (INDETERMINATE if reasons else PASSED),
        reasons=reasons,
        sha256=sha256,
        signer_subject=cert.subject.human_friendly if cert is not None else None,
        signing_time=status.signer_reported_dt,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        canonical=is_canonical,
        messages=messages,
    )
