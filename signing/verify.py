"""The auditor's verification of a certified copy, reported in the manner of ETSI EN 319 102-1.

pyHanko does the checking (integrity, CMS signature, chain, revocation, timestamps, coverage,
difference analysis of later revisions, DocMDP); this module decides what the findings mean for
a certified copy and says so in reason codes. The rules that the "PDF Insecurity" attacks target
are applied on purpose, not left to defaults:

* trust comes only from the roots passed in, never from the operating system's store;
* every byte of the file must be accounted for: either covered by a signature or timestamp, or
  part of a later revision that pyHanko's difference analysis classifies as validation data and
  document timestamps only (``LTA_UPDATES``) — anything else (a new page content stream, an added
  annotation, a redefined signature dictionary) fails as ``MODIFIED_AFTER_SIGNING``;
* a certification signature's DocMDP permission is enforced (``DOCMDP_VIOLATION``);
* a file pyHanko's strict reader cannot parse is a ``FORMAT_FAILURE``, not something to repair.

Time: the chain is first checked as of now (revocation from the file's DSS, or fetched). When
that fails only for reasons of time — a certificate expired since, revocation data too old — and
the file carries proof of existence (a signature timestamp, document timestamps), the signature
is validated as of that proven time with pyHanko's AdES-LTA process (ETSI EN 319 102-1 §5.6.3):
that is how a B-LTA copy still verifies years after its certificates expired. A certificate
revoked, or expired, *before* the proven (or claimed) signing time fails as ``REVOKED`` /
``EXPIRED``.

Revocation: a certificate that names an OCSP responder or a CRL must have an answer, from the
file's DSS or fetched (hard-fail). Offline (``allow_fetching=False``) only the file's own data
counts; when it has none (a B-B or B-T copy), the report is ``INDETERMINATE`` / ``TRY_LATER`` (ETSI
EN 319 102-1: the revocation status could not be obtained) and says it could not be checked
offline — never an exception, never a pass.

Algorithms and roots: the deployment's validation policy (:mod:`signing.policy`) dates SHA-1 and
short RSA keys; pyHanko applies it to signatures, chains and timestamp tokens, so such a signature
is ``CRYPTO_CONSTRAINTS_FAILURE_NO_POE`` until the past validation finds it proven older than the
cut-off (then it passes with the note ``LEGACY_ALGORITHM``). A configured root holds only within
its validity: one expired since anchors a signature only when the file proves it older
(``OUT_OF_BOUNDS_NO_POE`` otherwise, naming the root and its date).

Status: ``FAILED`` when something is proven wrong, ``INDETERMINATE`` when validity cannot be
established (untrusted chain, no revocation answer, expired without proof of time), ``PASSED``
otherwise. Exit codes: 0 / 1 / 2 respectively.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError, PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.authority import CertTrustAnchor, TrustQualifiers
from pyhanko_certvalidator.errors import InsufficientRevinfoError
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.validate import async_validate_path

from core.vietnam_time import vietnam_datetime
from signing.keys import Certificate, to_asn1
from signing.policy import DEFAULT_POLICY, ValidationPolicy, display_date

log = logging.getLogger(__name__)

PASSED, INDETERMINATE, FAILED = "PASSED", "INDETERMINATE", "FAILED"

# Reason codes beyond ETSI's sub-indications, for what a PDF adds to a CMS signature.
NO_SIGNATURE = "NO_SIGNATURE"
MODIFIED_AFTER_SIGNING = "MODIFIED_AFTER_SIGNING"
DOCMDP_VIOLATION = "DOCMDP_VIOLATION"
NOT_WHOLE_FILE = "NOT_WHOLE_FILE"
TIMESTAMP_FAILURE = "TIMESTAMP_FAILURE"
RECORD_MISMATCH = "RECORD_MISMATCH"
DEVELOPMENT_SIGNER = "DEVELOPMENT_SIGNER"  # a note, never a failure on its own

_FAILED_CODES = {
    AdESFailure.FORMAT_FAILURE.name, AdESFailure.HASH_FAILURE.name, AdESFailure.SIG_CRYPTO_FAILURE.name,
    AdESFailure.REVOKED.name, NO_SIGNATURE, MODIFIED_AFTER_SIGNING, DOCMDP_VIOLATION, NOT_WHOLE_FILE,
    RECORD_MISMATCH, "EXPIRED", "NOT_YET_VALID",
}
TIMESTAMP_UNVERIFIED = "TIMESTAMP_UNVERIFIED"  # a note: the time is not proven, the signature may stand
# A note: made with an algorithm the policy accepts only for signatures proven before a date (SHA-1,
# a short RSA key), and proven to be that old; the message says which and until when.
LEGACY_ALGORITHM = "LEGACY_ALGORITHM"
_NOTES = {DEVELOPMENT_SIGNER, TIMESTAMP_UNVERIFIED, LEGACY_ALGORITHM}
_CRYPTO_CODES = {AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE.name,
                 AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE.name}
PADES_SUB_FILTER = "ETSI.CAdES.detached"


@dataclass(frozen=True)
class SignatureDetails:
    """What was found about one signature or document timestamp of the file."""

    field_name: str
    kind: str  # "signature" | "document_timestamp"
    status: str
    reasons: tuple[str, ...]
    signer_subject: str | None
    signer_issuer: str | None
    signer_serial: str | None
    signing_time: datetime | None  # claimed by the signer (not proof)
    timestamp_time: datetime | None  # RFC 3161 time (proof of existence), if any
    intact: bool  # the signed bytes hash to the signed digest
    valid: bool  # the CMS signature over that digest verifies
    trusted: bool  # the chain reaches one of the configured roots (and passed revocation)
    coverage: str | None  # ENTIRE_FILE / ENTIRE_REVISION / ...
    modification_level: str | None  # NONE / LTA_UPDATES / FORM_FILLING / ANNOTATIONS / OTHER
    docmdp_level: str | None  # for a certification signature: NO_CHANGES / FILL_FORMS / ANNOTATE
    docmdp_ok: bool | None
    revocation: str  # "good" | "revoked" | "not declared" | "unknown"
    revocation_date: datetime | None = None
    chain: tuple[str, ...] = ()
    reason: str | None = None  # /Reason of the signature dictionary (certification number)
    location: str | None = None
    messages: tuple[str, ...] = ()
    revision: int | None = None  # the file revision the signature covers (0 = the first)
    sub_filter: str | None = None  # ETSI.CAdES.detached (PAdES), adbe.pkcs7.detached, …
    # In a sohoa copy: "digitization" (the official who scanned the paper, Circular 01/2023) or
    # "certification" (the certifying officer, Decree 23/2015), by the field the signature fills.
    role: str | None = None
    official: str | None = None  # the signer's name as the signature dictionary gives it (/Name)
    register_number: str | None = None  # a certification's number in the register, from its /Reason
    result_code: str | None = None  # the digitization result code a certification names


@dataclass(frozen=True)
class VerificationReport:
    status: str  # PASSED | INDETERMINATE | FAILED
    reasons: list[str]
    signatures: list[SignatureDetails] = field(default_factory=list)
    record_match: bool | None = None
    sha256: str | None = None
    level: str | None = None  # PAdES baseline level found: B-B, B-T, B-LT, B-LTA
    messages: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {PASSED: 0, FAILED: 1}.get(self.status, 2)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        data = plain(asdict(self))
        data["exit_code"] = self.exit_code
        return data


def overall(reasons: Sequence[str]) -> str:
    codes = [r for r in reasons if r not in _NOTES]
    if any(r in _FAILED_CODES for r in codes):
        return FAILED
    return INDETERMINATE if codes else PASSED


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _subject(cert: asn1_x509.Certificate | None) -> str | None:
    return cert.subject.human_friendly if cert is not None else None


def _name(cert: asn1_x509.Certificate) -> str:
    """A certificate's common name (its whole subject when it has none)."""
    return cert.subject.native.get("common_name") or cert.subject.human_friendly


def _declares_revocation(cert: asn1_x509.Certificate) -> bool:
    return bool(cert.crl_distribution_points_value or cert.ocsp_urls)


def _trust_reason(indic: AdESSubIndic | None, *, poe: datetime | None, cert: asn1_x509.Certificate) -> str | None:
    """Map pyHanko's chain verdict (validated now) to the code that is right for this signature,
    given the time the signature is proven (``poe``) or claimed to exist."""
    if indic is None:
        return None
    name = indic.standard_name
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    not_before = cert["tbs_certificate"]["validity"]["not_before"].native
    if name in ("OUT_OF_BOUNDS_NO_POE", "EXPIRED", "OUT_OF_BOUNDS_NOT_REVOKED") and poe is not None:
        if poe > not_after:
            return "EXPIRED"  # proven to have been signed after the certificate expired
        if poe < not_before:
            return "NOT_YET_VALID"
    if name == "NOT_YET_VALID" and isinstance(indic, AdESFailure):
        return "NOT_YET_VALID"
    return name


def _revocation(status: PdfSignatureStatus, cert: asn1_x509.Certificate) -> tuple[str, datetime | None]:
    details = status.revocation_details
    if details is not None:
        return "revoked", details.revocation_date
    if status.trusted:
        return ("good" if _declares_revocation(cert) else "not declared"), None
    return "unknown", None


def _algorithm_findings(status: PdfSignatureStatus | DocumentTimestampStatus, checker: _Checker, proven: datetime | None,
                        reasons: list[str], messages: list[str]) -> None:
    """What the policy's dated algorithm rules say of this signature, in plain words: refused (the
    crypto-constraints code already in ``reasons``) or accepted only because it is proven old
    enough (``LEGACY_ALGORITHM``, a note)."""
    cert = status.signing_cert
    if cert is None:
        return
    key = cert.public_key
    findings = checker.policy.algorithm_policy().findings(
        status.md_algorithm, key.bit_size, key.algorithm == "rsa", proven)
    refused = any(r in _CRYPTO_CODES for r in reasons)
    for finding in findings:
        accepted = finding.accepted and not refused
        messages.append(finding.sentence(proven, accepted=accepted))
        if accepted:
            reasons.append(LEGACY_ALGORITHM)


def _expired_root(sig: EmbeddedPdfSignature, status: PdfSignatureStatus, checker: _Checker) -> asn1_x509.Certificate | None:
    """The configured root this signature's chain runs to, when that root has expired at the
    validation time (pyHanko reports it as a general chain failure)."""
    moment = checker.validation_time or datetime.now(UTC)
    expired = [c for c in checker.roots if c.not_valid_after < moment]
    if not expired:
        return None
    path = status.validation_path
    if path is not None:
        anchor = getattr(path.trust_anchor, "certificate", None)
        return anchor if anchor is not None and anchor in expired else None
    issuers = {sig.signer_cert.issuer.dump()}
    try:
        issuers |= {c.chosen.issuer.dump() for c in sig.signed_data["certificates"]}
    except Exception:  # noqa: BLE001 - an odd certificate set names no issuer
        log.debug("signature %s: its certificates name no issuer", sig.field_name)
    return next((c for c in expired if c.subject.dump() in issuers), None)


def _anchor(cert: asn1_x509.Certificate) -> CertTrustAnchor:
    """A configured root as a trust anchor that holds only within its validity: RFC 5280 leaves a
    trust anchor's dates to the relying party, and a root that has expired must not anchor a
    signature that nothing proves was made before it expired (ETSI EN 319 102-1: OUT_OF_BOUNDS_NO_POE;
    with such proof the past validation judges)."""
    return CertTrustAnchor(cert, quals=TrustQualifiers(valid_from=cert.not_valid_before,
                                                       valid_until=cert.not_valid_after))


def _sub_filter(sig: EmbeddedPdfSignature) -> str | None:
    try:
        value = sig.sig_object.get("/SubFilter")
    except Exception:  # noqa: BLE001 - an unreadable dictionary names no format
        return None
    return str(value).lstrip("/") if value is not None else None


def _sig_dict_text(sig: EmbeddedPdfSignature, key: str) -> str | None:
    value = sig.sig_object.get(key)
    return str(value) if value is not None else None


_ROLES = {"SohoaDigitization": "digitization", "SohoaCertification": "certification"}
_NUMBER = re.compile(r" - số (?P<number>.+?)(?: - mã kết quả số hóa: (?P<code>\S+))?$")


def _sohoa_role(sig: EmbeddedPdfSignature) -> dict[str, str | None]:
    """Which of a sohoa copy's signatures this is, who signed it, and what a certification names."""
    role = _ROLES.get(sig.field_name)
    if role is None:
        return {}
    values: dict[str, str | None] = {"role": role, "official": _sig_dict_text(sig, "/Name")}
    match = _NUMBER.search(_sig_dict_text(sig, "/Reason") or "") if role == "certification" else None
    if match:
        values |= {"register_number": match["number"], "result_code": match["code"]}
    return values


def _chain(status: PdfSignatureStatus | DocumentTimestampStatus) -> tuple[str, ...]:
    path = status.validation_path
    if path is None:
        return ()
    try:
        return tuple(c.subject.human_friendly for c in reversed(list(path.iter_certs(include_root=True))))
    except Exception:  # noqa: BLE001 - the chain is informative only; never fail a report on it
        return ()


async def revocation_gap(context: ValidationContext, path: ValidationPath | None) -> str | None:
    """Why a chain was refused, if only for want of revocation data; ``None`` otherwise.

    pyHanko reports a missing OCSP/CRL answer as ``CERTIFICATE_CHAIN_GENERAL_FAILURE``, like any
    other defect of the chain; the path it tried is checked once more to tell the two apart, since
    one is ETSI's ``TRY_LATER`` (nothing known to be wrong, the answer is just not at hand)."""
    if path is None:
        return None
    try:
        await async_validate_path(context, path)
    except InsufficientRevinfoError as exc:
        detail = exc.failure_msg
    except Exception:  # noqa: BLE001 - some other defect: the general failure stands
        return None
    else:
        return None
    if context.fetching_allowed:
        return f"revocation could not be checked: no OCSP or CRL answer could be obtained ({detail})"
    return (
        "revocation could not be checked offline: the file embeds no revocation data for its "
        f"certificates and fetching is off ({detail})"
    )


def revocation_context_kwargs(allow_fetching: bool) -> dict[str, Any]:
    """ValidationContext arguments for hard-fail revocation checking, offline or not.

    pyHanko's certvalidator refuses an offline hard-fail context with no revocation store at all
    (``ValueError``); offline means "only the revocation data at hand", so the store is empty,
    not absent, and a certificate that needs an answer gets ``TRY_LATER`` instead."""
    kwargs: dict[str, Any] = {"allow_fetching": allow_fetching, "revocation_mode": "hard-fail"}
    if not allow_fetching:
        kwargs.update(crls=[], ocsps=[])
    return kwargs


async def chain_reason(reason: str, context: ValidationContext, path: ValidationPath | None,
                        messages: list[str]) -> str:
    """``reason`` made precise: a general chain failure that is only missing revocation data is
    ``TRY_LATER``, with the message saying so."""
    if reason != AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE.name:
        return reason
    gap = await revocation_gap(context, path)
    if gap is None:
        return reason
    messages.append(gap)
    return AdESIndeterminate.TRY_LATER.name


# Trust verdicts that a validation "as of now" gives but that evidence in the file (timestamps,
# embedded revocation data, document timestamps) may overturn by validating as of the past.
_PAST_VALIDATION_CANDIDATES = {
    "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "REVOCATION_OUT_OF_BOUNDS_NO_POE", "NO_POE",
    "TRY_LATER", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE", "REVOKED_CA_NO_POE", "GENERIC",
}


@dataclass(frozen=True)
class _Checker:
    """What every signature of one file is checked with."""

    context: ValidationContext
    ts_context: ValidationContext  # the timestamp authorities' (the signers' unless configured apart)
    roots: tuple[asn1_x509.Certificate, ...]
    tsa_roots: tuple[asn1_x509.Certificate, ...] | None
    policy: ValidationPolicy
    allow_fetching: bool
    validation_time: datetime | None
    has_document_timestamp: bool
    has_dss: bool  # the file preserves validation data (certificates, OCSP, CRLs) of its own


@dataclass(frozen=True)
class _Past:
    """What the past validation found: whether it passed, why, and the time the file's trusted
    timestamps prove the signature existed (``None``: nothing proves it)."""

    passed: bool
    note: str
    proven: datetime | None = None
    code: str | None = None  # the sub-indication when it did not pass


async def _past_validation(sig: EmbeddedPdfSignature, checker: _Checker,
                           expired_root: asn1_x509.Certificate | None = None) -> _Past:
    """ETSI EN 319 102-1 §5.6.3 (pyHanko's AdES-LTA process): validate the signature as of the
    time its timestamps prove, with the revocation data the document itself preserved.

    ``expired_root``: a configured root that has expired since; pyHanko does not take a trust
    anchor's expiry to the past validation, so that root is given without its dates and the
    signature passes only if the time proven for it is before the root expired."""
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    algorithms = checker.policy.algorithm_policy()

    def cert_policy(roots: Sequence[asn1_x509.Certificate]) -> CertValidationPolicySpec:
        anchors = [CertTrustAnchor(c) if c == expired_root else _anchor(c) for c in roots]
        return CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=anchors),
            revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy("hard-fail")),
            algorithm_usage_policy=algorithms,
        )

    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=cert_policy(checker.roots),
            ts_cert_validation_policy=cert_policy(checker.tsa_roots) if checker.tsa_roots is not None else None,
            signature_algorithm_policy=CMSAlgorithmUsagePolicy.lift_policy(algorithms),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
                if checker.allow_fetching else RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
        )
    )
    timing = None
    if checker.validation_time is not None:
        timing = ValidationTimingInfo(
            validation_time=checker.validation_time, best_signature_time=checker.validation_time,
            point_in_time_validation=True,
        )
    started = checker.validation_time or datetime.now(UTC)
    try:
        result = await ades_lta_validation(sig, spec, timing_info=timing)
    except Exception as exc:  # noqa: BLE001 - the current-time verdict stands; say why this did not help
        return _Past(False, f"past validation was not possible: {exc}")
    when = result.best_signature_time
    # With no proof of existence pyHanko's best signature time is the validation time itself.
    proven = when if when is not None and when < started - timedelta(seconds=5) else None
    if result.ades_subindic.status.name == PASSED and expired_root is not None and (
            proven is None or proven >= expired_root.not_valid_after):
        return _Past(False, "past validation: OUT_OF_BOUNDS_NO_POE (nothing proves the signature was made "
                     f"before the trust root expired on {display_date(expired_root.not_valid_after)})",
                     proven, AdESIndeterminate.OUT_OF_BOUNDS_NO_POE.name)
    if result.ades_subindic.status.name == PASSED:
        # in Vietnam time, as documents write it, beside the policy's sentences (JSON keeps ISO)
        return _Past(True, f"validated as of {vietnam_datetime(when)} from the evidence preserved in "
                     "the file (PAdES-LTA)", proven)
    code = result.ades_subindic.standard_name
    return _Past(False, f"past validation: {code} ({result.failure_msg})", proven, code)



async def _check_signature(sig: EmbeddedPdfSignature, checker: _Checker) -> SignatureDetails:
    reasons: list[str] = []
    messages: list[str] = []
    try:
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=checker.context,
            ts_validation_context=checker.ts_context,
            key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
        )
    except (SignatureValidationError, PdfReadError, ValueError, KeyError) as exc:
        code = getattr(exc, "ades_subindication", None)
        reason = code.standard_name if code is not None else AdESFailure.FORMAT_FAILURE.name
        log.info("signature %s cannot be validated: %s", sig.field_name, exc)
        return _unreadable(sig, "signature", reason, str(exc))

    cert = status.signing_cert
    tst = status.timestamp_validity
    ts_time = tst.timestamp if tst is not None else None
    if not status.intact:
        reasons.append(AdESFailure.HASH_FAILURE.name)
    elif not status.valid:
        reasons.append(AdESFailure.SIG_CRYPTO_FAILURE.name)
    if tst is not None and not (tst.intact and tst.valid):
        reasons.append(TIMESTAMP_FAILURE)
        messages.append("the signature timestamp token does not verify")
    proven = ts_time if tst is not None and tst.intact and tst.valid and tst.trusted else None
    revocation, revoked_at = _revocation(status, cert)
    trusted = status.trusted
    if reasons:
        pass  # the signature itself is broken: who signed it, and whether they were trusted, is moot
    elif revocation == "revoked" and revoked_at is not None:
        claimed = status.signer_reported_dt
        if (proven or claimed) is not None and revoked_at <= (proven or claimed):
            reasons.append(AdESFailure.REVOKED.name)
        elif proven is not None:
            messages.append(f"certificate revoked on {vietnam_datetime(revoked_at)}, after the timestamped "
                            "signing time")
        else:
            reasons.append(AdESIndeterminate.REVOKED_NO_POE.name)
    elif not status.trusted:
        reason = _trust_reason(status.trust_problem_indic, poe=proven or status.signer_reported_dt, cert=cert)
        reason = reason or AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.name
        expired_root = (_expired_root(sig, status, checker)
                        if reason == AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE.name else None)
        if expired_root is not None:
            # ETSI EN 319 102-1: out of the anchor's bounds, and nothing yet proves the signature
            # was made before it expired (a timestamp may, below).
            reason = AdESIndeterminate.OUT_OF_BOUNDS_NO_POE.name
            name, until = _name(expired_root), display_date(expired_root.not_valid_after)
            messages.append(f"chứng thư gốc tin cậy {name} đã hết hạn ngày {until} / the trust root {name} "
                            f"expired on {until}: it anchors only signatures proven to be older")
        precise = await chain_reason(reason, checker.context, status.validation_path, messages)
        # Revocation data missing now is missing for the past too, unless the file keeps a DSS.
        has_evidence = (proven is not None or checker.has_document_timestamp) and (
            precise == reason or checker.has_dss
        )
        reason = precise
        if reason in _PAST_VALIDATION_CANDIDATES and has_evidence:
            past = await _past_validation(sig, checker, expired_root)
            messages.append(past.note)
            proven = proven or past.proven
            trusted = past.passed
            if past.passed:
                revocation = "good (as of the signing time)"
                reason = None
            elif reason in _CRYPTO_CODES and past.code in _CRYPTO_CODES:
                reason = past.code  # e.g. proven, but only after the algorithm's cut-off date
        if reason:
            reasons.append(reason)
    if tst is not None and tst.intact and tst.valid and not tst.trusted and status.intact and status.valid:
        # An unverifiable timestamp only removes the proof of time: the signature stands or falls
        # on its own chain, checked above without that proof.
        indic = tst.trust_problem_indic
        name = indic.standard_name if indic is not None else AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.name
        if name == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.name:
            why = "its authority does not chain to a configured root (configure the TSA's root)"
        elif name in _CRYPTO_CODES:
            why = f"the token uses an algorithm the validation policy no longer accepts ({name})"
        else:
            why = f"its authority's certificate could not be validated ({name})"
        reasons.append(TIMESTAMP_UNVERIFIED)
        messages.append(f"the signature timestamp is not verified: {why}; the signing time is not proven")
    if status.intact and status.valid:
        _algorithm_findings(status, checker, proven, reasons, messages)

    docmdp = sig.docmdp_level
    reasons += _integrity_reasons(status, messages, docmdp)
    subject = _subject(cert)
    if subject and "DEVELOPMENT ONLY" in subject:
        reasons.append(DEVELOPMENT_SIGNER)
        messages.append("signed with the development PKI: not a real certification")
    reasons = _unique(reasons)
    return SignatureDetails(
        field_name=sig.field_name,
        kind="signature",
        status=overall(reasons),
        reasons=tuple(reasons),
        signer_subject=subject,
        signer_issuer=cert.issuer.human_friendly if cert is not None else None,
        signer_serial=format(cert.serial_number, "x") if cert is not None else None,
        signing_time=status.signer_reported_dt,
        timestamp_time=ts_time,
        intact=status.intact,
        valid=status.valid,
        trusted=trusted,
        coverage=status.coverage.name if status.coverage is not None else None,
        modification_level=status.modification_level.name if status.modification_level is not None else None,
        docmdp_level=docmdp.name if docmdp is not None else None,
        docmdp_ok=status.docmdp_ok,
        revocation=revocation,
        revocation_date=revoked_at,
        chain=_chain(status),
        reason=_sig_dict_text(sig, "/Reason"),
        location=_sig_dict_text(sig, "/Location"),
        messages=tuple(messages),
        revision=sig.signed_revision,
        sub_filter=_sub_filter(sig),
        **_sohoa_role(sig),
    )


def _integrity_reasons(
    status: PdfSignatureStatus | DocumentTimestampStatus,
    messages: list[str],
    docmdp: MDPPerm | None = None,
) -> list[str]:
    """Coverage, later revisions and DocMDP: what the PDF-level attacks go after.

    A signature that covers a whole revision is judged by what the later revisions do, as pyHanko's
    difference analysis (and ETSI EN 319 102-1) has it: validation data and document timestamps
    are always allowed; further signatures and form filling, and annotations, are allowed unless a
    certification signature's DocMDP permission (or a field lock) forbids them; anything else — a
    page's content, a redirected object, a redefined signature — fails. So a decision signed by the
    officer and then by the seal keeps its first signature valid, and a copy certified with "no
    changes" fails when anything at all is added.
    """
    reasons: list[str] = []
    coverage = status.coverage
    level = status.modification_level
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        reasons.append(NOT_WHOLE_FILE)
        messages.append("the signed byte ranges do not cover a whole revision of the file")
    elif coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        if level is None:
            reasons.append(MODIFIED_AFTER_SIGNING)
            messages.append("the file was changed after signing and the changes could not be analysed")
        elif level == ModificationLevel.OTHER or status.docmdp_ok is False:
            reasons.append(MODIFIED_AFTER_SIGNING)
            messages.append(f"the file was changed after signing in a way not allowed ({_CHANGES[level]})")
        elif level > ModificationLevel.LTA_UPDATES:
            messages.append(f"later revisions {_CHANGES[level]}: allowed, the signed revision is unchanged")
    if status.docmdp_ok is False and docmdp is not None:
        reasons.append(DOCMDP_VIOLATION)
        messages.append("changes after signing are not allowed by the certification (DocMDP) permissions")
    return reasons


# What each level of pyHanko's difference analysis means, in the report's words.
_CHANGES = {
    ModificationLevel.NONE: "change nothing",
    ModificationLevel.LTA_UPDATES: "add validation data or document timestamps",
    ModificationLevel.FORM_FILLING: "add signatures or fill in form fields",
    ModificationLevel.ANNOTATIONS: "add annotations",
    ModificationLevel.OTHER: "change the document's content or structure",
}


async def _check_timestamp(sig: EmbeddedPdfSignature, checker: _Checker) -> SignatureDetails:
    messages: list[str] = []
    reasons: list[str] = []
    try:
        status = await async_validate_pdf_timestamp(sig, validation_context=checker.ts_context)
    except (SignatureValidationError, PdfReadError, ValueError, KeyError) as exc:
        return _unreadable(sig, "document_timestamp", AdESFailure.FORMAT_FAILURE.name, str(exc))
    if not status.intact:
        reasons.append(AdESFailure.HASH_FAILURE.name)
    elif not status.valid:
        reasons.append(AdESFailure.SIG_CRYPTO_FAILURE.name)
    elif not status.trusted:
        indic = status.trust_problem_indic
        reason = indic.standard_name if indic is not None else AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.name
        reasons.append(await chain_reason(reason, checker.context, status.validation_path, messages))
    if any(r in _CRYPTO_CODES for r in reasons):
        _algorithm_findings(status, checker, None, reasons, messages)  # e.g. a SHA-1 timestamp token
    reasons += _integrity_reasons(status, messages)
    reasons = _unique(reasons)
    cert = status.signing_cert
    return SignatureDetails(
        field_name=sig.field_name,
        kind="document_timestamp",
        status=overall(reasons),
        reasons=tuple(reasons),
        signer_subject=_subject(cert),
        signer_issuer=cert.issuer.human_friendly if cert is not None else None,
        signer_serial=format(cert.serial_number, "x") if cert is not None else None,
        signing_time=None,
        timestamp_time=status.timestamp,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        coverage=status.coverage.name if status.coverage is not None else None,
        modification_level=status.modification_level.name if status.modification_level is not None else None,
        docmdp_level=None,
        docmdp_ok=status.docmdp_ok,
        revocation="good" if status.trusted else "unknown",
        chain=_chain(status),
        messages=tuple(messages),
    )


def _unreadable(sig: EmbeddedPdfSignature, kind: str, reason: str, message: str) -> SignatureDetails:
    return SignatureDetails(
        field_name=str(getattr(sig, "field_name", "?")),
        kind=kind,
        status=overall([reason]),
        reasons=(reason,),
        signer_subject=None, signer_issuer=None, signer_serial=None,
        signing_time=None, timestamp_time=None,
        intact=False, valid=False, trusted=False,
        coverage=None, modification_level=None, docmdp_level=None, docmdp_ok=None,
        revocation="unknown",
        messages=(message,),
    )


def _context(
    reader: PdfFileReader,
    roots: Sequence[asn1_x509.Certificate],
    allow_fetching: bool,
    moment: datetime | None,
    other_certs: Sequence[asn1_x509.Certificate] = (),
    policy: ValidationPolicy = DEFAULT_POLICY,
) -> ValidationContext:
    """Trust only ``roots``, each within its validity; use the file's own DSS (embedded
    OCSP/CRL/certs) when there is one, and ``other_certs`` (configured intermediate CAs) to build
    the chain; judge algorithms by the policy's dated rules."""
    kwargs: dict[str, Any] = {"trust_roots": [_anchor(c) for c in roots], **revocation_context_kwargs(allow_fetching),
                              "algorithm_usage_policy": policy.algorithm_policy()}
    if other_certs:
        kwargs["other_certs"] = list(other_certs)
    if moment is not None:
        kwargs.update(moment=moment, retroactive_revinfo=True)
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return ValidationContext(**kwargs)
    return dss.as_validation_context(kwargs)


def _bytes_after_last_revision(pdf: bytes) -> int:
    """How many non-whitespace bytes follow the final ``%%EOF`` marker."""
    end = pdf.rfind(b"%%EOF")
    if end < 0:
        return 0
    return len(pdf[end + 5:].strip(b"\r\n\t\f \x00"))


def _has_signature_lenient(pdf: bytes) -> bool:
    """Whether a file the strict reader refused holds any signature at all (to tell an unsigned
    file from a damaged signed one). Any doubt counts as signed, i.e. as a format failure."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        return bool(list(reader.embedded_signatures))
    except Exception:  # noqa: BLE001 - unreadable even leniently: report the format failure
        return b"/ByteRange" in pdf


def _level(reader: PdfFileReader, details: Sequence[SignatureDetails]) -> str | None:
    """The PAdES baseline level, for PAdES signatures only: a PKCS#7 signature (adbe.pkcs7.*) or an
    unreadable one has none, and the report names its format instead."""
    sigs = [d for d in details if d.kind == "signature"]
    if not sigs:
        return None
    others = sorted({d.sub_filter or "unreadable" for d in sigs if d.sub_filter != PADES_SUB_FILTER})
    if others:
        return f"not PAdES ({', '.join(others)})"
    has_ts = all(d.timestamp_time is not None for d in sigs)
    has_dss = "/DSS" in reader.root
    has_doc_ts = any(d.kind == "document_timestamp" for d in details)
    if has_ts and has_dss and has_doc_ts:
        return "B-LTA"
    if has_ts and has_dss:
        return "B-LT"
    return "B-T" if has_ts else "B-B"


async def async_verify_pdf(
    pdf: bytes,
    *,
    roots: Sequence[Certificate],
    expected_sha256: str | None = None,
    record_lookup: Callable[[str], bool | None] | None = None,
    allow_fetching: bool = True,
    validation_time: datetime | None = None,
    intermediates: Sequence[Certificate] = (),
    tsa_roots: Sequence[Certificate] | None = None,
    policy: ValidationPolicy = DEFAULT_POLICY,
) -> VerificationReport:
    """Async form of :func:`verify_pdf`."""
    sha256 = hashlib.sha256(pdf).hexdigest()
    record_match: bool | None = None
    if expected_sha256 is not None:
        record_match = sha256 == expected_sha256.strip().lower()
    elif record_lookup is not None:
        record_match = record_lookup(sha256)
    record_reasons = [RECORD_MISMATCH] if record_match is False else []

    def report(reasons: list[str], **kwargs: Any) -> VerificationReport:
        reasons = _unique(reasons + record_reasons)
        return VerificationReport(
            status=overall(reasons), reasons=reasons, record_match=record_match, sha256=sha256, **kwargs
        )

    if not pdf.startswith(b"%PDF-"):
        return report([AdESFailure.FORMAT_FAILURE.name], messages=["not a PDF file"])
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        signatures = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        reasons = [AdESFailure.FORMAT_FAILURE.name]
        messages = [f"the PDF cannot be parsed strictly: {exc}"]
        if not _has_signature_lenient(pdf):
            reasons.append(NO_SIGNATURE)
            messages.append("no signature found in what can be read")
        return report(reasons, messages=messages)
    notes: list[str] = []
    if reader.xrefs.hybrid_xrefs_present:
        # The layout Word and most government PDFs have. pyHanko's strict settings refuse to
        # validate it at all; read leniently, every later revision still goes through the
        # difference analysis, so a hybrid update that redirects an object is caught there.
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
        notes.append("hybrid-reference file (classic and stream cross-references): read leniently")
    if not signatures:
        return report([NO_SIGNATURE], messages=["the file has no signature", *notes])
    if not roots:
        return report([AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.name],
                      messages=[("no trust roots configured: set SOHOA_TRUST_ROOTS (or --trust-root), or run "
                                "where the data folder of the deployment that signed is (SOHOA_DATA_DIR)")])

    anchors = tuple(to_asn1(c) for c in roots)
    if validation_time is not None:
        allow_fetching = False  # nobody can fetch what a responder will say at another time
    others = tuple(to_asn1(c) for c in intermediates)
    tsa_anchors = None if tsa_roots is None else tuple(to_asn1(c) for c in tsa_roots)
    context = _context(reader, anchors, allow_fetching, validation_time, others, policy)
    ts_context = context if tsa_anchors is None else _context(
        reader, tsa_anchors, allow_fetching, validation_time, others, policy
    )
    checker = _Checker(
        context=context, ts_context=ts_context, roots=anchors, tsa_roots=tsa_anchors, policy=policy,
        allow_fetching=allow_fetching, validation_time=validation_time,
        has_document_timestamp=any(s.sig_object_type == "/DocTimeStamp" for s in signatures),
        has_dss="/DSS" in reader.root,
    )
    details: list[SignatureDetails] = []
    try:
        for sig in signatures:
            if sig.sig_object_type == "/DocTimeStamp":
                details.append(await _check_timestamp(sig, checker))
            else:
                details.append(await _check_signature(sig, checker))
    finally:
        await context.aclose()
        if ts_context is not context:
            await ts_context.aclose()

    reasons: list[str] = []
    for d in details:
        reasons.extend(d.reasons)
    messages: list[str] = notes
    trailing = _bytes_after_last_revision(pdf)
    if trailing:
        # Not part of any revision, so no signature and no difference analysis ever saw them;
        # lenient viewers that rebuild the xref may still show what they define.
        reasons.append(NOT_WHOLE_FILE)
        messages.append(f"{trailing} byte(s) after the end of the last revision are covered by nothing")
    regular = [d for d in details if d.kind == "signature"]
    if not regular:
        reasons.append(NO_SIGNATURE)
        messages.append("only document timestamps: nobody signed this file")
    elif regular[0].docmdp_level is None:
        messages.append("the first signature is an approval signature, not a certification (no DocMDP)")
    return report(reasons, signatures=details, level=_level(reader, details), messages=messages)


def verify_pdf(
    pdf: bytes,
    *,
    roots: Sequence[Certificate],
    expected_sha256: str | None = None,
    record_lookup: Callable[[str], bool | None] | None = None,
    allow_fetching: bool = True,
    validation_time: datetime | None = None,
    intermediates: Sequence[Certificate] = (),
    tsa_roots: Sequence[Certificate] | None = None,
    policy: ValidationPolicy = DEFAULT_POLICY,
) -> VerificationReport:
    """Verify every signature and document timestamp in ``pdf`` against ``roots`` only.

    ``expected_sha256`` (or ``record_lookup(sha256) -> bool | None``) ties the file to the
    dossier record: a mismatch fails the report (``RECORD_MISMATCH``); ``None`` means unknown.
    ``allow_fetching`` lets revocation be checked online when the file embeds no answer.
    ``validation_time`` checks as of another moment (offline), e.g. to see what an auditor will
    find after the certificates have expired; a B-LTA copy should still pass then.
    ``policy`` holds the dated algorithm rules (SHA-1, short RSA keys; :mod:`signing.policy`).
    """
    result: list[VerificationReport] = []

    async def run() -> None:
        result.append(
            await async_verify_pdf(
                pdf, roots=roots, expected_sha256=expected_sha256, record_lookup=record_lookup,
                allow_fetching=allow_fetching, validation_time=validation_time, intermediates=intermediates,
                tsa_roots=tsa_roots, policy=policy,
            )
        )

    asyncio.run(run())
    return result[0]
