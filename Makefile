# PACSweb: `make run` starts the whole system, `make test` runs the whole test suite.
# Both install into .venv in this checkout.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DEBS := dcmtk chromium fonts-noto-cjk poppler-utils nodejs
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test venv test-deps codecs

# Built files of an npm package the viewer serves as static files: CharLS's WASM
# JPEG-LS decoder (frames travel to the browser as JPEG-LS lossless), fetched from the
# npm registry once and checked against its pinned SHA-256 (tools/fetch_codecs.py).
CODECS := static/vendor/codecs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

$(CODECS)/.installed: tools/fetch_codecs.py $(VENV)/.installed
	rm -rf $(CODECS)
	$(PY) tools/fetch_codecs.py $(CODECS)
	touch $@

codecs: $(CODECS)/.installed

run: venv codecs
	$(PY) manage.py serve $(ARGS)

test-deps:
	@missing=""; for deb in $(DEBS); do dpkg -s $$deb >/dev/null 2>&1 || missing="$$missing $$deb"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: test-deps venv codecs
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	@echo "== JavaScript unit tests (node --test) =="
	node --test tests/js/*/*.test.mjs
	@echo "== test suite on SQLite =="
	env -u DATABASE_URL $(VENV)/bin/pytest -m "not postgres"
	@echo "== database tests on PostgreSQL ($(TEST_PG_URL)) =="
	DATABASE_URL=$(TEST_PG_URL) $(VENV)/bin/pytest -m "not browser"
