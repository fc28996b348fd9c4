# crosslink — the front door. `make help` lists every target.
#
# Each system has its own environment (system_a/.venv, system_b/.venv), built from its own
# lock file; nothing here relies on an activated shell. Defaults point at RabbitMQ, Redis and
# PostgreSQL on localhost; override any variable on the command line or in the environment.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
A_PY := system_a/.venv/bin/python
B_PY := system_b/.venv/bin/python
T_PY := tests/.venv/bin/python

# The one configuration vocabulary, shared with both systems, compose, CI and the tests.
export CELERY_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
export CELERY_RESULT_BACKEND ?= redis://127.0.0.1:6379/0
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crosslink
export CROSSLINK_STORAGE_ROOT ?= $(CURDIR)/var/storage
export DJANGO_DEBUG ?= true
# uv must use the machine's Python, never download one.
export UV_PYTHON_DOWNLOADS := never

LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet \
	--no-emit-package crosslink-shared-schema

.PHONY: help
help: ## Show this list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- Environments -----------------------------------------------------------------------------

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# An environment is rebuilt when its lock file or a manifest changes. The systems are named
# in full (not system_%) so that `make rename` can give them any name.
system_a/.venv/.synced system_b/.venv/.synced: %/.venv/.synced: %/requirements-dev.lock %/pyproject.toml shared_schema/pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $*/.venv
	$(UV) pip sync --quiet --python $*/.venv/bin/python --require-hashes $*/requirements-dev.lock
	$(UV) pip install --quiet --python $*/.venv/bin/python --no-deps -e shared_schema \
		$(if $(filter system_b,$*),-e system_b)
	touch $@

# The cross-system tests' environment: A's runtime plus the test tools (tests/pyproject.toml).
tests/.venv/.synced: tests/requirements.lock tests/pyproject.toml system_a/pyproject.toml shared_schema/pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) tests/.venv
	$(UV) pip sync --quiet --python $(T_PY) --require-hashes tests/requirements.lock
	$(UV) pip install --quiet --python $(T_PY) --no-deps -e shared_schema
	touch $@

# System C, a third caller of B that lives in the test suite (tests/system_c): its own
# environment, from B's lock (the same Celery), with the contract's wire layer.
tests/system_c/.venv/.synced: system_b/requirements.lock tests/system_c/pyproject.toml shared_schema/pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) tests/system_c/.venv
	$(UV) pip sync --quiet --python tests/system_c/.venv/bin/python --require-hashes system_b/requirements.lock
	$(UV) pip install --quiet --python tests/system_c/.venv/bin/python --no-deps -e shared_schema -e tests/system_c
	touch $@

.PHONY: setup
setup: system_a/.venv/.synced system_b/.venv/.synced tests/.venv/.synced tests/system_c/.venv/.synced ## Create the systems' and the tests' environments from their lock files

.PHONY: lock
lock: | $(UV) ## Re-resolve the lock files after changing a pyproject.toml or the build backend
	for s in system_a system_b; do \
		$(UV) pip compile $(LOCK_FLAGS) $$s/pyproject.toml -o $$s/requirements.lock; \
		$(UV) pip compile $(LOCK_FLAGS) --extra dev -c $$s/requirements.lock $$s/pyproject.toml \
			-o $$s/requirements-dev.lock; \
	done
	$(UV) pip compile $(LOCK_FLAGS) -c system_a/requirements.lock system_a/pyproject.toml \
		tests/pyproject.toml -o tests/requirements.lock
	$(UV) pip compile $(LOCK_FLAGS) deploy/requirements-build.in -o deploy/requirements-build.lock
	$(UV) pip compile $(LOCK_FLAGS) bench/requirements-peers.in -o bench/requirements-peers.lock
	$(UV) pip compile $(LOCK_FLAGS) deploy/storage/requirements.in -o deploy/storage/requirements.lock
	$(UV) pip compile $(LOCK_FLAGS) deploy/ci/minio/requirements.in -o deploy/ci/minio/requirements.lock

# --- Demo -------------------------------------------------------------------------------------

.PHONY: db
db: setup ## Create A's database if needed and apply migrations
	cd system_a && .venv/bin/python manage.py ensure_database && .venv/bin/python manage.py migrate --no-input

.PHONY: demo
demo: db ## Run the demo on local services: A's web on :8000, A's worker, B's worker
	bash scripts/demo.sh

# --- Deployment -------------------------------------------------------------------------------

.PHONY: env
env: ## Write .env for docker compose with fresh random secrets (never overwrites one)
	$(PYTHON) scripts/make_env.py

.PHONY: broker-users
broker-users: ## Apply the compose broker's vhost, users and permissions to the local RabbitMQ
	@# Passwords come from the environment or .env (the same names compose reads); the rules
	@# from deploy/rabbitmq/permissions.json. Only the crosslink vhost and its users change.
	set -a; if [[ -f .env ]]; then source .env; fi; set +a; \
		$(PYTHON) deploy/rabbitmq/broker_users.py apply

.PHONY: redis-users
redis-users: ## Apply the compose Redis' ACL users (deploy/redis/users.json) to the local Redis
	@# Passwords from the environment or .env, like broker-users; the default user is left as
	@# it is. Point each system at its user: CELERY_RESULT_BACKEND=redis://system_a:...@...
	set -a; if [[ -f .env ]]; then source .env; fi; set +a; \
		$(PYTHON) deploy/redis/redis_users.py apply

# --- Quality ----------------------------------------------------------------------------------

.PHONY: lint
lint: setup ## ruff and mypy over every package
	$(A_PY) -m ruff check .
	$(A_PY) -m ruff format --check .
	cd system_a && .venv/bin/python -m mypy
	cd system_b && .venv/bin/python -m mypy
	cd shared_schema && ../system_b/.venv/bin/python -m mypy
	cd tests/system_c && ../../system_b/.venv/bin/python -m mypy

.PHONY: format
format: setup ## Apply ruff's fixes and formatting
	$(A_PY) -m ruff check --fix .
	$(A_PY) -m ruff format .

# --- Tests ------------------------------------------------------------------------------------

PYTEST_FLAGS ?=

# The unit tier needs no service: A's unit settings (system_a/config/settings_unit.py) use SQLite
# in memory and Celery's in-memory broker and result backend. Every service URL points at a
# closed port while it runs, so a unit test that reached a real service would fail.
NO_SERVICES := CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:1// \
	CELERY_RESULT_BACKEND=redis://127.0.0.1:1/0 DATABASE_URL=postgres://postgres@127.0.0.1:1/crosslink

.PHONY: test-unit
test-unit: setup ## Unit tests of each package, each in its own environment; no service needed
	cd shared_schema && env $(NO_SERVICES) ../system_b/.venv/bin/python -m pytest $(PYTEST_FLAGS)
	cd system_b && env $(NO_SERVICES) .venv/bin/python -m pytest $(PYTEST_FLAGS)
	cd system_a && env $(NO_SERVICES) .venv/bin/python -m pytest $(PYTEST_FLAGS)

.PHONY: test-services
test-services: setup ## A's tests again on the real PostgreSQL, Redis and RabbitMQ (no workers)
	cd system_a && .venv/bin/python -m pytest --ds=config.settings_test $(PYTEST_FLAGS)

# make setup's environments use the default Python (3.11); these are the newer ones crosslink
# supports, each given its own environments under var/pythons/ and the unit tests.
OTHER_PYTHONS ?= 3.12 3.13

.PHONY: test-pythons
test-pythons: | $(UV) ## Unit tests again on each newer supported Python (OTHER_PYTHONS="3.12 3.13")
	bash scripts/test_pythons.sh $(OTHER_PYTHONS)

# The browser test drives Debian's Chromium through Playwright; Playwright's own browser
# download is never used.
CHROMIUM := /usr/bin/chromium

.PHONY: browser
browser: tests/browser/node_modules/.package-lock.json ## Install Debian's Chromium for the browser test, if it is missing (needs root), and axe-core
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

# axe-core, the accessibility checker the browser tests inject into each page, from npm as
# tests/browser/package-lock.json pins it (npm from Debian's archive if missing).
tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	@if ! command -v npm >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; \
	fi
	cd tests/browser && npm ci --no-audit --no-fund

.PHONY: test-integration
test-integration: setup browser ## Contract, integration and browser tests: real workers, real services, real Chromium
	$(T_PY) -m pytest tests $(PYTEST_FLAGS)

# Empty: the pinned version, from both systems' environments. CELERY=5.5.3: any published one.
CELERY ?=

.PHONY: behaviour
behaviour: $(if $(CELERY),$(UV),setup) ## What Celery does with link/link_error across two code bases (CELERY=x.y.z to try a version)
	bash scripts/behaviour.sh $(CELERY)
# Fault tests run in a session of their own: it points everything (A's test database included)
# at private RabbitMQ, Redis and PostgreSQL instances on spare ports, which the tests stop and
# restart. `make chaos` sends CHAOS_FILES files per fault; `make test` fewer, to keep CI short.
CHAOS_FILES ?= 50
CHAOS_TEST_FILES ?= 15

.PHONY: chaos
chaos: setup ## Fault tests, 50 files per fault, default settings: a line per fault, then "files: N, lost: L, stuck: S, wrong: W"
	rm -f var/chaos/summary.txt
	status=0; CROSSLINK_CHAOS_FILES=$(CHAOS_FILES) CROSSLINK_CHAOS_REPORT=var/chaos/summary.txt \
		$(T_PY) -m pytest tests/chaos -p no:cacheprovider $(PYTEST_FLAGS) || status=$$?; \
	echo; cat var/chaos/summary.txt 2>/dev/null || echo "files: 0, lost: ?, stuck: ?, wrong: ? (no fault ran)"; \
	exit $$status

.PHONY: test-chaos
test-chaos: setup ## The fault tests with a smaller batch (CHAOS_TEST_FILES per fault), as `make test` runs them
	CROSSLINK_CHAOS_FILES=$(CHAOS_TEST_FILES) $(T_PY) -m pytest tests/chaos -p no:cacheprovider $(PYTEST_FLAGS)

.PHONY: rename
rename: ## Rename this copy: NAME=acme (project and CROSSLINK_ prefix), optional SYSTEM_A=web SYSTEM_B=worker
	@test -n "$(NAME)" || { echo "usage: make rename NAME=acme [SYSTEM_A=web SYSTEM_B=worker]"; exit 2; }
	$(PYTHON) scripts/rename.py $(NAME) $(if $(SYSTEM_A),--system-a $(SYSTEM_A)) \
		$(if $(SYSTEM_B),--system-b $(SYSTEM_B))

.PHONY: test-rename
test-rename: | $(UV) ## Rename a copy under var/ (acme, web, worker) and run its unit and contract tests
	bash scripts/rename_check.sh

# docker-compose.yml for real: its own Docker engine (images kept in CROSSLINK_CI_STATE, default
# /var/lib/crosslink-ci), stand-in images where no registry answers, then tests/compose. Needs
# root; leaves no container, network, dockerd or iptables rule behind. docs/deployment.md.
.PHONY: test-compose
test-compose: setup ## Build the images, run the compose stack, use it and break it (root; Docker from apt)
	bash scripts/compose_ci.sh

.PHONY: test
test: lint test-unit test-services test-pythons test-rename test-integration test-chaos test-compose ## Set up and run every test (what CI runs)

# --- Benchmarks -------------------------------------------------------------------------------

BENCH_FLAGS ?=

# The processing peers (frictionless, DuckDB) live in an environment of their own, from their
# own hash-pinned lock: neither system ever installs them.
bench/.venv/.synced: bench/requirements-peers.lock | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) bench/.venv
	$(UV) pip sync --quiet --python bench/.venv/bin/python --require-hashes bench/requirements-peers.lock
	touch $@

.PHONY: bench
bench: setup bench/.venv/.synced ## Benchmarks: round trip, burst, processing speed, memory, as ratios to baselines and peers
	$(T_PY) -m bench $(BENCH_FLAGS)

.PHONY: clean
clean: ## Remove environments, caches and runtime state (var/)
	rm -rf .tools system_a/.venv system_b/.venv tests/.venv bench/.venv var .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .pytest_cache -type d -prune -exec rm -rf {} +
	find . -name .mypy_cache -type d -prune -exec rm -rf {} +

