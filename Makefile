# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
NODESTAMP := node_modules/.installed

.PHONY: run test check lint format install install-dev assets worker clean-data

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): requirements/base.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements/base.txt
	touch $@

$(DEVSTAMP): requirements/dev.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $@

$(NODESTAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(NODESTAMP)
install-dev: $(DEVSTAMP) $(NODESTAMP)

## make run: embedded PostgreSQL (unless DATABASE_URL), broker, demo data, web + worker + scheduler.
run: install
	$(PY) scripts/devstack.py run

## make test: quality gates, then the whole suite on PostgreSQL.
test: install-dev
	$(PY) scripts/devstack.py test -- $(PYTEST_ARGS)

## make check: the quality gates alone (ruff, mypy, import-linter, vulture, Django checks, migrations).
check: install-dev
	$(PY) scripts/devstack.py check

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
