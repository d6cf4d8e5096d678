"""Distributed processing: the Celery app (:mod:`workers.app`), its tasks (:mod:`workers.tasks`), the
submitting side (:mod:`workers.submit`), a Celery page executor and ``sohoa worker/submit/status``.
See ``workers/README.md`` for running workers on several machines."""
