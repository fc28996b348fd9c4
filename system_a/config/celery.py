"""System A's Celery application: ``celery -A config worker``.

Configuration comes from Django settings under the ``CELERY_`` namespace, as in Celery's own
``examples/django``.
"""

import os

from celery import Celery

from config.wire import DeclareDeadLetter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("system_a")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["consumer"].add(DeclareDeadLetter)
