"""Settings for A's unit tier (``make test-unit``): no service at all, whatever the environment.

* The database is SQLite in memory. The ORM queries A's services make (guarded UPDATEs, the
  state and task-id constraints) behave the same on it; what only PostgreSQL can show is marked
  ``services`` and runs in ``make test-services``.
* The broker is kombu's in-memory transport and the result backend Celery's in-memory cache
  backend: the same publish and result-reading code paths as in production, inside this
  process. Tests that need the broker down still point Celery at a closed port
  (``config.testing.celery_broker``), which needs no service either.

Celery reads ``CELERY_BROKER_URL`` and ``CELERY_RESULT_BACKEND`` from the environment before
its configuration (``celery.app.utils.Settings.broker_url``), so they are set there too:
``make test-unit`` points every service URL at a closed port to prove nothing reaches one.
"""

import os

from config.settings_test import *  # noqa: F403

UNIT_TIER = True

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"] = "memory://"
CELERY_RESULT_BACKEND = os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
# Publisher confirms are an AMQP feature; the in-memory transport takes every message.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
