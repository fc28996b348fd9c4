"""Settings for A's own tests against the real services (``make test-services``).

Production settings, so the tests see what a deployment runs, with one change: a fast password
hasher. PBKDF2's deliberate slowness is the point in production and two thirds of a test run's
time here (every test user is hashed at least once).
https://docs.djangoproject.com/en/5.2/topics/testing/overview/#password-hashing
"""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
