"""The behaviour suite: what Celery really does with ``link`` and ``link_error`` when the task
and its callbacks live in two code bases. ``make behaviour`` prints it as a table; the same
scenarios run as integration tests (tests/integration/test_behaviour.py)."""
