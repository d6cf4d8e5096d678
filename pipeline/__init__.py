"""The page stages: reading files in, cleaning up page images, OCR, and the searchable PDF/A out.

``ingest`` reads PDFs and images into pages, refusing what it cannot read; ``cleanup`` turns a page
upright and makes the cleaned copy Tesseract reads; ``ocr`` (with ``tesseract``, ``spacing``,
``punctuation``, ``second_reading``, ``stacked_marks``) turns it into words; ``qr`` reads QR codes;
``pagework`` is one page's whole page work and ``executor`` runs it on a process pool; ``pdfa``
assembles a document's searchable PDF/A from the original pixels and the words. Plain functions
over :mod:`core.model`; the flow (:mod:`flow.steps`) decides when each runs.
"""
