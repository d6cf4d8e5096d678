"""The dossier flow: its steps declared once (``steps``), the one policy for failures, statuses,
certification numbers and stamps (``policy``), the values passed between steps (``context``), and
the in-process runner (``run``). The Celery runner (:mod:`workers`) runs the same steps as tasks.
"""
