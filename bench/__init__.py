"""``make bench``: what crosslink costs over plain Celery, as ratios against baselines measured
in the same run on the same machine. Not tests: nothing here asserts a timing."""
