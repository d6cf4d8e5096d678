"""Synthetic scanned Vietnamese administrative documents with ground truth, and a sample dossier.

Public API (others code against it): :mod:`samples.generator` (``DOC_TYPES``, ``LAYOUTS``,
``SampleDocument``, ``generate_document``, ``generate``, ``write_sample_dossier``) and
:func:`samples.damage.apply_damage`. Modules: ``facts`` (people, places, dates, IDs), ``wording``
(labels, layouts, numbers in words), ``render`` (page layout and drawing), ``documents`` and
``cards`` (the nine types), ``damage`` (scan damage), ``dossier`` (the committed sample dossier).
"""
