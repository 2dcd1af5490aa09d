# The README's two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi:app

.PHONY: run test lint check install install-dev translations migration bench clean

include make/assets.mk

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv; fi; \
	  rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime translations assets
install-dev: $(VENV)/.dev translations assets

translations: | $(BIN)/python
	@if [ -d app/translations ]; then $(BIN)/pybabel compile -f -d app/translations >/dev/null; fi

run: install
	$(BIN)/flask platform init
	PORT=$(PORT) exec $(BIN)/honcho -f Procfile start

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict crypto recording
	$(BIN)/mypy app

check: lint test

migration: install
	$(BIN)/flask db migrate -m "$(m)"

bench: install-dev
	$(BIN)/python -m bench

clean: assets-clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
