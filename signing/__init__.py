"""Keys, the development PKI, certification of electronic copies (PAdES) and their verification.

Layers, each importing only the ones above it:

* ``devpki``    — the DEVELOPMENT-ONLY root → intermediate → agency signer (``sohoa pki init-dev``);
* ``keys``      — where the signing key lives (PKCS#12, PKCS#11 token, dev PKI) and the trust roots;
* ``stamp``     — the visible Vietnamese certification stamp with its QR code (its number and
  QR payload come from the flow's policy);
* ``normalize`` — the pikepdf rewrite that makes any readable PDF acceptable to pyHanko;
* ``certify``   — stamp + PAdES certification signature (DocMDP: no changes), B-B … B-LTA;
* ``verify``    — the auditor's report, ETSI EN 319 102-1 style (PASSED/INDETERMINATE/FAILED);
* ``manifest``  — RFC 8785 dossier manifests signed as detached CMS;

Nothing here imports pyHanko at package import time, so ``import signing`` stays cheap.
"""
