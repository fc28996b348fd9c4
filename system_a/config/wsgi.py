"""WSGI entry point: ``gunicorn config.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

from config.telemetry import web_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
web_setup()  # tracing, when OTEL_* asks for it; before Django loads its middleware

application = get_wsgi_application()
