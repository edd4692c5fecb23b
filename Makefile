# 个贷中心 — the two commands: `make run` and `make test`.
#
#   make run    install everything, migrate the embedded SQLite database, load the demo once,
#               serve http://127.0.0.1:8000 (Celery tasks run in-process)
#   make test   install everything, check the import layers (lint-imports, pyproject.toml) and run the whole suite
#               (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
#
# Both are idempotent: system packages are installed only when missing, the virtualenv is rebuilt only
# when requirements.txt changes.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs on two processes (each with its own test database); tests that disturb the whole machine
# (restarting PostgreSQL, killing a Celery worker) run afterwards, alone (marker "serial").
TEST_WORKERS ?= 2

# Debian packages: headless browser for the Playwright test, CJK font and HarfBuzz for WeasyPrint PDFs,
# pdftotext for PDF tests, gettext for translations.
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils libharfbuzz-subset0 gettext

.PHONY: help run test lint bench system-deps venv migrate seed messages clean

help:
	@echo "make run    install, migrate, load the demo, serve http://$(HOST):$(PORT)  (PORT=8080 / HOST=0.0.0.0 to change)"
	@echo "make test   install and run the whole test suite"
	@echo "make lint   ruff"
	@echo "make bench  nightly-batch benchmark on PostgreSQL (BENCH_ARGS=\"--loans 1000000\")"

# ---------------------------------------------------------------------------------------------------------
# Installation

# Installs missing Debian packages when root; otherwise names exactly what is missing and stops.
# SKIP_SYSTEM_DEPS=1 skips the check (e.g. on a machine that is not Debian).
system-deps:
	@if [ -n "$(SKIP_SYSTEM_DEPS)" ]; then exit 0; fi; \
	missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
	  dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if ! $(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 && [ ! -x $(PY) ]; then \
	  missing="$$missing python3-venv"; \
	fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing system packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "Missing system packages:$$missing" >&2; \
	  echo "Install them as root:  apt-get install --no-install-recommends$$missing" >&2; \
	  echo "(or run with SKIP_SYSTEM_DEPS=1 to try without them)" >&2; \
	  exit 1; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-runs pip only when requirements.txt is newer than the stamp.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	@touch $@

venv: $(STAMP)

# ---------------------------------------------------------------------------------------------------------
# Running

migrate: system-deps venv
	$(PY) manage.py migrate --noinput

# Loads the demo only while no staff exist, so a database with real staff never gets demo data.
seed: migrate
	$(PY) manage.py seed_demo --if-no-staff

run: seed
	@echo "Serving http://$(HOST):$(PORT)/  (demo logins: see README.md, password demo-pass-2026)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Translations: the compiled .mo files are committed; run this after editing a .po file.
messages: venv
	$(PY) manage.py compilemessages --ignore=.venv

# ---------------------------------------------------------------------------------------------------------
# Quality

test: system-deps venv
	@mkdir -p staticfiles  # WhiteNoise warns on every request while STATIC_ROOT does not exist
	@start=$$(date +%s); \
	status=0; \
	$(PY) manage.py makemigrations --check --dry-run || status=$$?; \
	if [ $$status = 0 ]; then $(VENV)/bin/lint-imports || status=$$?; fi; \
	if [ $$status = 0 ]; then $(PY) -m pytest -n $(TEST_WORKERS) -m "not serial" $(PYTEST_ARGS) || status=$$?; fi; \
	if [ $$status = 0 ]; then $(PY) -m pytest -m serial $(PYTEST_ARGS) || status=$$?; fi; \
	elapsed=$$(( $$(date +%s) - start )); \
	echo "make test took $$((elapsed / 60))m $$((elapsed % 60))s (database: $$(if [ -n "$$DATABASE_URL" ]; then echo PostgreSQL; else echo embedded SQLite; fi), exit $$status)"; \
	exit $$status

lint: venv
	$(VENV)/bin/ruff check .

# The nightly batch on PostgreSQL (uses its own database lc_bench); BENCH_ARGS="--loans 1000000" for the full run.
BENCH_ARGS ?= --loans 100000
bench: venv
	$(PY) bench/nightly_batch.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
