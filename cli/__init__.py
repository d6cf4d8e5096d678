"""The ``sohoa`` command: :mod:`cli.main` parses and dispatches; each module registers the commands
of one area (``process``, ``ocr``, ``extract``, ``samples``, ``signing``, ``storage``, ``workers``,
``serve``) and imports what it drives."""
