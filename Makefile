# PACSweb: `make run` starts the whole system, `make test` runs the whole test suite.
# Both install into .venv in this checkout.

# Python 3.11, 3.12 or 3.13: the newest present (tools/pythons lists them, newest first).
PYTHONS := $(shell sh tools/pythons)
PYTHON ?= $(firstword $(PYTHONS))
# make test runs the suite once more on the oldest present, so both ends stay supported.
COMPAT_PYTHON ?= $(lastword $(PYTHONS))
VENV := .venv
PY := $(VENV)/bin/python
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
COMPAT_VERSION := $(shell $(COMPAT_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
COMPAT_VENV := $(VENV)/compat-$(COMPAT_VERSION)
DEBS := dcmtk chromium fonts-noto-cjk poppler-utils nodejs orthanc orthanc-dicomweb slapd ldap-utils rsyslog rsyslog-gnutls
# A compiler and headers to build python-ldap (django-auth-ldap's client library),
# which has no wheel.
BUILD_DEBS := gcc python3-dev libldap-dev libsasl2-dev
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-postgres venv test-deps build-deps test-peers codecs

# Built files of an npm package the viewer serves as static files: CharLS's WASM
# JPEG-LS decoder (frames travel to the browser as JPEG-LS lossless), fetched from the
# npm registry once and checked against its pinned SHA-256 (tools/fetch_codecs.py).
CODECS := static/vendor/codecs

# One stamp per Python: another Python found (or pyproject.toml changed) builds it anew.
$(VENV)/.installed-$(PY_VERSION): pyproject.toml | build-deps
	@test -n "$(PY_VERSION)" || { echo "Needs Python 3.11, 3.12 or 3.13 with its venv module" \
	  "(Debian: apt-get install python3-venv)."; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed-$(PY_VERSION)

$(COMPAT_VENV)/.installed: pyproject.toml $(VENV)/.installed-$(PY_VERSION) | build-deps
	$(COMPAT_PYTHON) -m venv --clear $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

$(CODECS)/.installed: tools/fetch_codecs.py $(VENV)/.installed-$(PY_VERSION)
	rm -rf $(CODECS)
	$(PY) tools/fetch_codecs.py $(CODECS)
	touch $@

codecs: $(CODECS)/.installed

run: venv codecs
	$(PY) manage.py serve $(ARGS)

# The Debian packages named in $(1) that are missing, installed with apt-get.
define install_debs
	@missing=""; for deb in $(1); do dpkg -s $$deb >/dev/null 2>&1 || missing="$$missing $$deb"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

test-deps:
	$(call install_debs,$(DEBS))

build-deps:
	$(call install_debs,$(BUILD_DEBS))

# A real OpenID Connect provider for the sign-in tests (panva's oidc-provider, pinned in
# its package-lock.json): installed again only when the lock file is newer.
OIDC_PROVIDER := tools/oidc-provider

$(OIDC_PROVIDER)/node_modules/.installed: $(OIDC_PROVIDER)/package-lock.json | test-deps
	@node $(OIDC_PROVIDER)/check-node.mjs
	npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund
	touch $@

test-peers: $(OIDC_PROVIDER)/node_modules/.installed

test: test-deps test-peers venv codecs
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	@echo "== JavaScript unit tests (node --test) =="
	node --test tests/js/*/*.test.mjs
	@echo "== test suite on SQLite, Python $(PY_VERSION) =="
	env -u DATABASE_URL $(VENV)/bin/pytest -m "not postgres"
	@$(MAKE) --no-print-directory test-postgres

# The suite without the browser on PostgreSQL, on the oldest supported Python present:
# one pass covers the other database and the other end of the Pythons supported.
test-postgres:
	@if [ "$(COMPAT_VERSION)" = "$(PY_VERSION)" ]; then \
	  echo "Only Python $(PY_VERSION) is here: the PostgreSQL pass runs on it too."; \
	  if [ "$$CI" = "true" ]; then echo "CI runs the suite on two Pythons: install another."; exit 1; fi; \
	  echo "== database tests on PostgreSQL ($(TEST_PG_URL)), Python $(PY_VERSION) ==" && \
	  DATABASE_URL=$(TEST_PG_URL) $(VENV)/bin/pytest -m "not browser"; \
	else \
	  $(MAKE) --no-print-directory $(COMPAT_VENV)/.installed && \
	  echo "== database tests on PostgreSQL ($(TEST_PG_URL)), Python $(COMPAT_VERSION) ==" && \
	  DATABASE_URL=$(TEST_PG_URL) $(COMPAT_VENV)/bin/pytest -m "not browser"; \
	fi
