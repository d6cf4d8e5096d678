"""A SoftHSM2 token for tests, benchmarks and development: key generated on the token, never out.

``init_softhsm_token`` makes a token in its own folder (SoftHSM2 reads ``SOFTHSM2_CONF`` when the
module is first initialised in a process, so the variable is set here, before any PKCS#11 call);
``provision_token_signer`` generates an RSA-2048 key pair on the token, has the development
intermediate CA certify the public half, and stores that certificate (and the CA chain) on the
token beside the key, which is what pyHanko's ``PKCS11Signer`` looks up by label.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.errors import ConfigError, ExternalToolError
from signing.devpki import DevPki, dev_name, issue_certificate, load_ca

log = logging.getLogger(__name__)

SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    user_pin: str
    so_pin: str
    conf_path: Path


def softhsm_module() -> str:
    for candidate in SOFTHSM_MODULE_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise ConfigError("SoftHSM2 is not installed (Debian package softhsm2)")


def init_softhsm_token(directory: Path, *, label: str = "sohoa", user_pin: str = "1234", so_pin: str = "123456") -> SoftHsmToken:
    """Create (or reuse) a SoftHSM2 token stored under ``directory``."""
    module = softhsm_module()
    tool = shutil.which("softhsm2-util")
    if tool is None:
        raise ExternalToolError("softhsm2-util not found (Debian package softhsm2)")
    directory = Path(directory).resolve()
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    listing = subprocess.run([tool, "--show-slots"], capture_output=True, text=True, check=False).stdout
    if f"Label:            {label}" not in listing and f"Label: {label}" not in listing:
        result = subprocess.run(
            [tool, "--init-token", "--free", "--label", label, "--pin", user_pin, "--so-pin", so_pin],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise ExternalToolError(f"softhsm2-util --init-token failed: {result.stderr.strip() or result.stdout.strip()}")
    return SoftHsmToken(module=module, label=label, user_pin=user_pin, so_pin=so_pin, conf_path=conf)


def provision_token_signer(token: SoftHsmToken, pki: DevPki, *, key_label: str = "sohoa-signer",
                           agency: str = "UBND xã Thử Nghiệm HSM") -> x509.Certificate:
    """Generate a key pair on the token and store its development certificate (and the CA chain)
    beside it; return the certificate. The private key is created sensitive and non-extractable."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    lib = pkcs11.lib(token.module)
    tok = lib.get_token(token_label=token.label)
    with tok.open(rw=True, user_pin=token.user_pin) as session:
        key_id = os.urandom(8)
        public, _private = session.generate_keypair(
            KeyType.RSA, 2048, id=key_id, label=key_label, store=True,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
        )
        numbers = rsa.RSAPublicNumbers(
            e=int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            n=int.from_bytes(public[Attribute.MODULUS], "big"),
        )
        root, _root_key, inter, inter_key = load_ca(pki)
        cert = issue_certificate(
            subject=dev_name(agency, unit="Chứng thực bản sao điện tử (HSM)"),
            public_key=numbers.public_key(), issuer_cert=inter, issuer_key=inter_key, ca=False,
        )
        for label, c, cid in ((key_label, cert, key_id), ("sohoa-dev-intermediate", inter, b"ca-1"),
                              ("sohoa-dev-root", root, b"ca-0")):
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: label,
                Attribute.ID: cid,
                Attribute.VALUE: c.public_bytes(serialization.Encoding.DER),
                # SoftHSM2 answers TemplateIncomplete without these three.
                Attribute.SUBJECT: c.subject.public_bytes(),
                Attribute.ISSUER: c.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: _der_integer(c.serial_number),
            })
    log.info("provisioned key %r on token %r", key_label, token.label)
    return cert


def _der_integer(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8 or 1, "big")
    return bytes([0x02, len(body)]) + body if len(body) < 128 else bytes([0x02, 0x81, len(body)]) + body
