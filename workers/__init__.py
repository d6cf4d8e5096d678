"""The Celery runner of the flow: the app (:mod:`workers.app`), the intake and dispatch on the
submitting side (:mod:`workers.submit`), the flow's phases as tasks (:mod:`workers.tasks`) and
their state in Redis (:mod:`workers.state`). See ``workers/README.md`` for running workers on
several machines."""
