# Two commands: `make run` (local server with a task worker) and `make test` (the suite).
# Only Python 3.11+ is needed; everything else is installed into .venv from the requirements.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-all lint format migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

# Local development: DEBUG on, SQLite unless DATABASE_URL is set.
run: export DEBUG ?= 1
run: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) ensure_local_admin
	@echo "Serving http://$(HOST):$(PORT)/ with a task worker beside it. Ctrl+C stops both."
	@trap 'kill 0' INT TERM; \
	  $(MANAGE) run_worker --interval 0.5 & \
	  $(MANAGE) runserver --noreload $(HOST):$(PORT); \
	  kill 0

# The quick suite (SQLite, or Postgres when DATABASE_URL is set).
test: $(VENV)/.installed-dev
	$(BIN)/pytest -m "not slow and not e2e" $(PYTEST_ARGS)

# Everything, including the tests that start real servers and workers.
test-all: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
