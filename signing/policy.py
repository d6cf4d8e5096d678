"""The validation policy's dated algorithm rules, and how a verdict on them is said.

An algorithm does not become unsafe for the signatures made while it was sound: a SHA-1 signature
that a trusted timestamp proves was made in 2012 is as good as it was then, one that cannot be
placed before the policy's cut-off date proves nothing (anyone may forge a SHA-1 signature today
and claim it is old). ETSI EN 319 102-1 expresses this as cryptographic constraints with dates:
the check "as of now" gives ``CRYPTO_CONSTRAINTS_FAILURE_NO_POE`` when the algorithm was once
accepted, and the past signature validation (pyHanko's AdES-LTA process) accepts the signature
when its proof of existence (a timestamp) predates the cut-off. An algorithm that was never
acceptable (MD5) is ``CRYPTO_CONSTRAINTS_FAILURE`` whatever the proof.

:class:`DatedAlgorithmPolicy` is a pyHanko ``AlgorithmUsagePolicy``: pyHanko consults it for the
signature, the certificates of its chain and the timestamp tokens, each at the time in question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from asn1crypto import algos, keys
from pyhanko_certvalidator.policy_decl import AlgorithmUsageConstraint, AlgorithmUsagePolicy

from core.settings import Settings
from core.vietnam_time import VIETNAM_TIME, vietnam_date

NEVER: Literal["never"] = "never"

# Digests no cut-off date can save (collisions found and exploited long ago).
_NEVER_DIGESTS = {"md5": "MD5", "md2": "MD2", "md4": "MD4"}
_SHA1 = "sha1"
MIN_RSA_BITS_EVER = 1024  # below this, no date helps either
_DISPLAY = {"sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}


def display_date(moment: date | datetime) -> str:
    """dd/mm/yyyy, as dates are written on Vietnamese documents, of Vietnam's calendar (UTC+7)."""
    return vietnam_date(moment)


def _cutoff(value: date | Literal["never"] | None) -> datetime | None:
    """A cut-off date as the first instant it no longer holds: midnight in Vietnam, whose calendar
    the sentences date the proof by (a signature proven at 20:00 UTC the evening before is proven
    on the cut-off day there, and is not said to be "before" it); ``None``: never."""
    if value is None or value == NEVER:
        return None
    assert isinstance(value, date)
    return datetime.combine(value, time(0), tzinfo=VIETNAM_TIME)


@dataclass(frozen=True)
class ValidationPolicy:
    """The dated algorithm rules a deployment validates signatures with (settings, README).

    ``sha1_until`` / ``short_rsa_until``: SHA-1, and RSA keys of at least 1024 but fewer than
    ``rsa_min_bits`` bits, are accepted for a signature proven to exist before that date;
    ``"never"``: not at all. MD5 (and MD2/MD4) never, RSA under 1024 bits never.
    """

    sha1_until: date | Literal["never"] = date(2014, 1, 1)
    short_rsa_until: date | Literal["never"] = date(2014, 1, 1)
    rsa_min_bits: int = 2048

    @classmethod
    def from_settings(cls, settings: Settings) -> ValidationPolicy:
        return cls(sha1_until=settings.sha1_signatures_until, short_rsa_until=settings.short_rsa_keys_until,
                   rsa_min_bits=settings.rsa_min_bits)

    def algorithm_policy(self) -> DatedAlgorithmPolicy:
        return DatedAlgorithmPolicy(self)

    def describe(self) -> list[str]:
        """The rules in plain words (``sohoa info``)."""
        sha1 = ("never" if self.sha1_until == NEVER
                else f"signatures proven before {display_date(self.sha1_until)}")  # type: ignore[arg-type]
        rsa = ("never" if self.short_rsa_until == NEVER
               else f"signatures proven before {display_date(self.short_rsa_until)}")  # type: ignore[arg-type]
        return [f"SHA-1 accepted for: {sha1}", f"RSA keys under {self.rsa_min_bits} bits accepted for: {rsa}",
                "MD5 and RSA keys under 1024 bits: never"]


@dataclass(frozen=True)
class AlgorithmFinding:
    """What the policy says of one signature's algorithms, given when it is proven to exist."""

    name: str  # "SHA-1", "MD5", "RSA 1024-bit key"
    cutoff: datetime | None  # first instant not accepted; None: never accepted
    accepted: bool  # at the proven time (False without a proven time when a cut-off applies)

    def sentence(self, proven: datetime | None, *, accepted: bool | None = None) -> str:
        """Vietnamese, then English, with the dates as documents write them. ``accepted`` overrides
        the finding's own judgment when the verdict as a whole refused the algorithm (e.g. the
        timestamp that would prove its age could not itself be validated)."""
        accepted = self.accepted if accepted is None else accepted
        if self.cutoff is None:
            return (f"ký bằng {self.name}, thuật toán chính sách không bao giờ chấp nhận / "
                    f"signed with {self.name}, which the validation policy never accepts: "
                    "the signature cannot be relied on, whoever made it")
        until = display_date(self.cutoff)
        if accepted and proven is not None:
            when = display_date(proven)
            return (f"ký bằng {self.name}: được chấp nhận vì dấu thời gian chứng minh chữ ký có từ {when}, "
                    f"trước {until} (chính sách không còn chấp nhận {self.name} từ ngày đó) / "
                    f"signed with {self.name}: accepted because a trusted timestamp proves it was made on "
                    f"{when}, before {until}; the policy no longer accepts {self.name} since {until}")
        if proven is not None and proven < self.cutoff:
            return (f"ký bằng {self.name}: chính sách chỉ chấp nhận {self.name} cho chữ ký có trước {until}; "
                    f"dấu thời gian ({display_date(proven)}) chưa được xác minh đầy đủ / "
                    f"signed with {self.name}: the policy accepts {self.name} only for signatures proven "
                    f"before {until}, and the proof of time ({display_date(proven)}) could not be fully validated")
        if proven is not None:
            return (f"ký bằng {self.name}: chính sách không còn chấp nhận {self.name} từ {until}, "
                    f"dấu thời gian ({display_date(proven)}) không có trước ngày đó / "
                    f"signed with {self.name}: the policy no longer accepts {self.name} since {until}, and "
                    f"the signature is only proven to exist on {display_date(proven)}")
        return (f"ký bằng {self.name}: chính sách không còn chấp nhận {self.name} từ {until}, "
                f"không có dấu thời gian chứng minh chữ ký có trước ngày đó / "
                f"signed with {self.name}: the policy no longer accepts {self.name} since {until}, and no "
                f"trusted timestamp proves the signature was made before then")


class DatedAlgorithmPolicy(AlgorithmUsagePolicy):
    """pyHanko's algorithm usage policy with dates: see the module docstring.

    ``not_allowed_after`` is set on a refusal that a proof of existence could overturn, which is
    what makes pyHanko say ``CRYPTO_CONSTRAINTS_FAILURE_NO_POE`` rather than
    ``CRYPTO_CONSTRAINTS_FAILURE`` and try the past validation."""

    def __init__(self, policy: ValidationPolicy) -> None:
        self.policy = policy
        self._sha1 = _cutoff(policy.sha1_until)
        self._short_rsa = _cutoff(policy.short_rsa_until)

    @staticmethod
    def _dated(cutoff: datetime | None, moment: datetime | None, what: str) -> AlgorithmUsageConstraint:
        if cutoff is None:
            return AlgorithmUsageConstraint(allowed=False, failure_reason=f"{what} is never accepted")
        if moment is not None and moment < cutoff:
            return AlgorithmUsageConstraint(allowed=True)
        return AlgorithmUsageConstraint(allowed=False, not_allowed_after=cutoff,
                                        failure_reason=f"{what} is not accepted since {display_date(cutoff)}")

    def digest_algorithm_allowed(self, algo: algos.DigestAlgorithm,
                                 moment: datetime | None) -> AlgorithmUsageConstraint:
        name = algo["algorithm"].native
        if name in _NEVER_DIGESTS:
            return AlgorithmUsageConstraint(allowed=False, failure_reason=f"{_NEVER_DIGESTS[name]} is never accepted")
        if name == _SHA1:
            return self._dated(self._sha1, moment, "SHA-1")
        return AlgorithmUsageConstraint(allowed=True)

    def signature_algorithm_allowed(self, algo: algos.SignedDigestAlgorithm, moment: datetime | None,
                                    public_key: keys.PublicKeyInfo | None) -> AlgorithmUsageConstraint:
        try:
            mechanism = algo.signature_algo
        except ValueError:
            mechanism = algo["algorithm"].native
        if mechanism.startswith("rsa") and public_key is not None:
            bits = public_key.bit_size
            if bits < MIN_RSA_BITS_EVER:
                return AlgorithmUsageConstraint(allowed=False, failure_reason=f"RSA key of {bits} bits is never accepted")
            if bits < self.policy.rsa_min_bits:
                verdict = self._dated(self._short_rsa, moment, f"an RSA key of {bits} bits")
                if not verdict:
                    return verdict
        try:
            digest = algo.hash_algo
        except ValueError:
            return AlgorithmUsageConstraint(allowed=True)
        return self.digest_algorithm_allowed(algos.DigestAlgorithm({"algorithm": digest}), moment)

    def findings(self, md_algorithm: str | None, key_bits: int | None, key_is_rsa: bool,
                 proven: datetime | None) -> list[AlgorithmFinding]:
        """The rules this signature's digest and key fall under, judged at ``proven`` (the time a
        trusted timestamp gives; ``None`` when nothing proves it)."""
        found: list[AlgorithmFinding] = []
        md = (md_algorithm or "").lower().replace("-", "")
        if md in _NEVER_DIGESTS:
            found.append(AlgorithmFinding(_NEVER_DIGESTS[md], None, False))
        elif md == _SHA1:
            found.append(AlgorithmFinding("SHA-1", self._sha1, self._accepted(self._sha1, proven)))
        if key_is_rsa and key_bits is not None and key_bits < self.policy.rsa_min_bits:
            name = f"RSA {key_bits}-bit key"
            if key_bits < MIN_RSA_BITS_EVER:
                found.append(AlgorithmFinding(name, None, False))
            else:
                found.append(AlgorithmFinding(name, self._short_rsa, self._accepted(self._short_rsa, proven)))
        return found

    @staticmethod
    def _accepted(cutoff: datetime | None, proven: datetime | None) -> bool:
        return cutoff is not None and proven is not None and proven < cutoff


DEFAULT_POLICY = ValidationPolicy()


def digest_display(md_algorithm: str | None) -> str | None:
    return _DISPLAY.get((md_algorithm or "").lower().replace("-", ""), md_algorithm)
