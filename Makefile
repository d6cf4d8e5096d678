# Two commands on a fresh machine (as root, nothing but Python 3.11 installed):
#   make demo   set up, then digitize the committed sample dossier and print the result table
#   make test   set up, then run the whole test suite
# Both are idempotent: a second run skips what is already installed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng softhsm2 fonts-dejavu-core \
	fonts-noto-core fonts-liberation2 poppler-utils chromium chromium-driver
DEMO_OUT ?= out/demo

.PHONY: setup apt venv services demo test lint clean

setup: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

# Re-install only when the project's dependencies change.
$(VENV)/.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.stamp-install

# PostgreSQL and Redis run on these machines from the start; start them if they have stopped.
services:
	@bash .ci/services

demo: setup
	@rm -rf $(DEMO_OUT)
	OMP_THREAD_LIMIT=1 $(BIN)/sohoa process samples/dossier/ho-so-mau.pdf samples/dossier/*.jpg samples/dossier/*.png \
		--dossier 000.00.19.H99-261124-0001 --procedure 1.001612 --out $(DEMO_OUT)
	@echo "Certified copies: $(DEMO_OUT)/   Object store and records: ./sohoa-data/"

# The layers (core, the stages, the flow, its runners, the API and the command line) import
# downward only: pyproject.toml's [tool.importlinter] contract, checked before the tests.
test: setup services
	$(BIN)/lint-imports --no-cache
	OMP_THREAD_LIMIT=1 $(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check core pipeline classifiers storage signing samples flow workers api cli bench tests

clean:
	rm -rf $(VENV) sohoa-data out
