"""Certification with the key on a real SoftHSM2 token: generated there, never leaving it."""

from __future__ import annotations

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from core.errors import ConfigError
from signing.certify import certify_copy
from signing.keys import load_pkcs11_signer
from signing.verify import PASSED, verify_pdf


def test_token_key_is_not_extractable(softhsm_signer):
    session = softhsm_signer.signer.session
    key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=softhsm_signer.key_label)
    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    assert key[Attribute.LOCAL] is True  # generated on the token, not imported
    with pytest.raises(pkcs11.PKCS11Error):
        key[Attribute.PRIVATE_EXPONENT]


def test_certify_with_token_key(softhsm_signer, source_pdf, dev_roots, new_stamp):
    signer = softhsm_signer.signer
    assert signer.kind == "pkcs11" and len(signer.chain) == 3
    copy = certify_copy(source_pdf, signer, new_stamp())
    report = verify_pdf(copy.pdf, roots=dev_roots)
    assert report.status == PASSED, report.to_dict()
    assert report.signatures[0].signer_subject == signer.subject


def test_wrong_label_is_a_config_error(softhsm_signer):
    with pytest.raises(ConfigError):
        load_pkcs11_signer(softhsm_signer.module, token_label=softhsm_signer.label,
                           user_pin=softhsm_signer.pin, key_label="no-such-key")
    with pytest.raises(ConfigError):
        load_pkcs11_signer(softhsm_signer.module, token_label="no-such-token",
                           user_pin=softhsm_signer.pin, key_label="agency-key")
