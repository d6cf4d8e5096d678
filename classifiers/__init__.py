"""The document stages: splitting pages into documents, classifying them, extracting their fields.

``split`` groups OCR'd pages into documents (titles, separator sheets, result codes);
``classify`` names a document's type (``features``, ``unknown``, the committed model);
``extract`` reads the type's fields by their labels (``labels``, ``anchors``, ``text``,
``idcard``), normalises and validates them (``normalise``, ``lexicon``, ``syllable``,
``validate``) and, given a line reader, reads names, places and numbers a second time from the
scan (``second``, ``reread``, ``merge``). Plain functions over :mod:`core.model`: the OCR engine is
handed in by the flow, never called from here.
"""
