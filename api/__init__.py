"""The HTTP API (FastAPI) for scanning stations, workflow systems and auditors, and the pages
served to people (the auditor's page). Uploads are recorded through :mod:`storage.batches` and run
by :mod:`api.jobs` with the flow's in-process runner, or handed to the Celery runner. See
``api/README.md``."""
