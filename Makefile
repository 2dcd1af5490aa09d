# The README's two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# gunicorn, on loopback behind nginx (which listens on PORT: see deploy/nginx.conf)
APP_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
export FLASK_APP := wsgi:app

.PHONY: run test lint check install install-dev system-deps translations migration bench clean prodlike

include make/assets.mk

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv; fi; \
	  rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when a requirements file or pyproject.toml changed. The project itself is installed
# (editable, without dependencies: those are the pinned requirements) so that every process the venv
# starts imports app, crypto, recording and wsgi from this checkout, whatever its working directory.
$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@ $(VENV)/.runtime

# Debian packages the platform uses at run time: Pango for the PDF records (WeasyPrint), CJK fonts, and nginx
# (deploy/nginx-run, the Procfile's `web:`) in front of gunicorn to absorb slow clients, and opencv-data (the face
# cascades of the window-presence watcher, `flask presence watch`).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk nginx opencv-data
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

install: system-deps $(VENV)/.runtime translations assets
install-dev: system-deps $(VENV)/.dev translations assets

translations: | $(BIN)/python
	@if [ -d app/translations ]; then $(BIN)/pybabel compile -f -d app/translations >/dev/null; fi

run: install
	$(BIN)/flask platform init
	PORT=$(PORT) APP_PORT=$(APP_PORT) exec $(BIN)/honcho -f Procfile start

# The suite runs as jobs (make/test-jobs): each file of `scenario` tests (whole-platform scenarios in their own
# processes) in the background, beside the rest on TEST_WORKERS processes (pytest-xdist; each process has its
# own databases, S3 prefix and ports); then the tests marked `realtime` (recorders timed against the wall
# clock) alone, so load cannot skew them. Every job always runs; the target fails if any did.
TEST_WORKERS ?= 2
test: install-dev
	@BIN=$(BIN) TEST_WORKERS=$(TEST_WORKERS) PYTEST_ARGS="$(PYTEST_ARGS)" bash make/test-jobs

# The production topology on this machine (two web processes behind nginx with TLS, two workers, beat,
# recorder, a private PostgreSQL, Redis, SeaweedFS S3), APP_ENV=production: see deploy/prodlike.py.
prodlike: install
	deploy/prodlike start $(PRODLIKE_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict crypto recording
	$(BIN)/mypy app

check: lint test

migration: install
	$(BIN)/flask db migrate -m "$(m)"

bench: install-dev
	$(BIN)/python bench/age_bench.py 1G
	$(BIN)/python bench/bid_bench.py
	$(BIN)/python bench/recording_bench.py --minutes 10

clean: assets-clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build
