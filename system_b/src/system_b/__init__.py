"""System B: owns ``remote.processing``. A plain Celery worker; knows nothing about System A."""
