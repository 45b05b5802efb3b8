# Two commands: `make run` (local server with a task worker) and `make test` (the suite).
# PYTEST_ARGS passes arguments to pytest in the test targets, e.g. one test (test-all has no
# coverage floor, which one test would fail):
#   make test-all PYTEST_ARGS="tests/customers/test_api.py::test_name"
# Only Python 3.11+ is needed; everything else is installed into .venv from the locked
# requirements (every package pinned, with its hashes, compiled from requirements*.in).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The quick suite's line coverage may not fall below this (percent of users/ and primepre/).
COVERAGE_FLOOR ?= 92
PIP_INSTALL := $(BIN)/python -m pip install --quiet --require-hashes
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --no-header --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu

.PHONY: run test test-slow test-all e2e-deps lint format migrate lock admin-password clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-pip.txt

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

# Local development: DEBUG on, SQLite unless DATABASE_URL is set.
run: export DEBUG ?= 1
run: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	@# The server, a task worker, and last, once the server answers, its URL and the local
	@# admin's sign-in (bin/run-local says why it is not a shell line).
	@$(BIN)/python bin/run-local $(HOST) $(PORT)

$(VENV)/.installed-e2e: requirements.txt requirements-dev.txt requirements-e2e.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements-e2e.txt
	@touch $@ $(VENV)/.installed-dev $(VENV)/.installed

# The quick suite (SQLite, or Postgres when DATABASE_URL is set), then the browser test when a
# browser is here.
test: $(VENV)/.installed-dev
	$(BIN)/pytest -m "not slow and not e2e" -rs --cov --cov-report=term:skip-covered \
	  --cov-fail-under=$(COVERAGE_FLOOR) $(PYTEST_ARGS)
	@if [ -x /usr/bin/chromium ] && $(BIN)/python -c "import playwright" 2>/dev/null; then \
	  $(BIN)/pytest tests/e2e -m e2e -rs; \
	else \
	  echo "Skipped the browser test (tests/e2e): it needs /usr/bin/chromium" \
	    "(apt-get install chromium) and Playwright (make e2e-deps)."; \
	fi

# The slow tests: real gunicorn and workers on a fresh Postgres database, faults, Schemathesis.
test-slow: $(VENV)/.installed-dev
	$(BIN)/pytest -m slow -rs $(PYTEST_ARGS)

# The browser test's Python side (the browser itself: apt-get install chromium).
e2e-deps: $(VENV)/.installed-e2e

# Everything.
test-all: $(VENV)/.installed-dev
	$(BIN)/pytest -rs $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable

# A new password for the local super admin (when the one `make run` printed is lost).
admin-password: export DEBUG ?= 1
admin-password: $(VENV)/.installed
	$(MANAGE) ensure_local_admin --new-password

# Compile requirements*.in into the locked requirements*.txt (after changing an .in file).
lock: $(VENV)/.installed-dev
	$(LOCK) requirements-pip.in -o requirements-pip.txt
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt
	$(LOCK) requirements-e2e.in -o requirements-e2e.txt

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
