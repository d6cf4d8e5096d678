"""The bottom layer: what every other package shares and nothing else.

``model`` (pages, words, fields, documents, dossiers, certified copies, statuses), ``errors`` (each
with its exit code), ``settings`` (``SOHOA_*``), ``doctypes`` (the document types and their field
names: the contract of design.md), ``personal_id`` (the rules of a 12-digit personal ID),
``result_code`` (the QR payload on a digitized result), ``iters`` and ``memory`` (small helpers).
It imports no other package of the project.
"""
