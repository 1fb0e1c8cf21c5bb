# The README's commands. `make test` and `make run` set everything up on a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.orchard-installed
export DO_NOT_TRACK := 1
export SCARF_NO_ANALYTICS := true
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: install lint test run up down status help browser services superset bench bench-quick

help:
	@echo "make run     set up, start the embedded warehouse, run Orchard's nightly pipeline once"
	@echo "make test    set up and run the whole test suite (lint included)"
	@echo "make up      start Airflow 3 and the embedded warehouse; prints the UI's URL and login"
	@echo "make down    stop what make up started"
	@echo "make lint    ruff, yamllint and sqlfluff"
	@echo "make superset  install Superset in its own virtualenv (.venv-superset); make up/run start it"
	@echo "make bench   run every benchmark under bench/ and write bench/RESULTS.md (BENCH_ARGS=--scale-10 adds scale 10)"
	@echo "make bench-quick  the same at scale 0.01 with short runs (a few minutes)"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt 2>&1 \
		| { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 \
		| { grep -v "is ignored: it is neither a file nor a directory" || true; }
	@touch $(STAMP)

install: $(STAMP)

# Superset in its own virtualenv: its pins (SQLAlchemy 1.4, Flask 2) clash with Airflow's. Its own
# resolution is broken (Flask-Caching 2.5.1 cannot start): installed with Superset's pins.
SUPERSET_VENV := .venv-superset
SUPERSET_STAMP := $(SUPERSET_VENV)/.orchard-installed
$(SUPERSET_STAMP): superset/requirements.txt superset/constraints.txt
	@test -x $(SUPERSET_VENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	$(SUPERSET_VENV)/bin/pip install -q --disable-pip-version-check -r superset/requirements.txt \
		-c superset/constraints.txt 2>&1 | { grep -v -e "is ignored: it is neither" -e DEPRECATION || true; }
	@touch $(SUPERSET_STAMP)

superset: $(SUPERSET_STAMP)

lint: install
	$(BIN)/ruff check --output-format concise .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint -s -c .yamllint.yml .
	$(BIN)/python scripts/lint_sql.py

# Debian's Chromium for the UI tests (a test tool's own browser download cannot work here).
browser:
	bash scripts/install_test_browser.sh

# Debian's PostgreSQL, Redis and docker-compose for the tests on real services (tests/production).
services:
	bash scripts/install_test_services.sh

# Two workers (pytest-xdist): tests sharing a session resource run on one (tests/conftest.py XDIST_GROUPS).
test: lint browser services superset
	$(BIN)/pytest -n 2 --durations=30

run: install superset
	$(BIN)/python scripts/airflow_local.py run

up: install superset
	$(BIN)/python scripts/airflow_local.py up

down:
	$(BIN)/python scripts/airflow_local.py down

status:
	$(BIN)/python scripts/airflow_local.py status

# Every benchmark under bench/, each run with its own command, summarised in bench/RESULTS.md.
BENCH_ARGS ?=
bench: install superset
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

bench-quick: install superset
	$(BIN)/python bench/run_all.py --quick $(BENCH_ARGS)
