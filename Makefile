# Hearth: `make run` serves, `make test` runs every test. Both set up what they need.
# Another Python gets its own venv: `make test PYTHON=python3.13 VENV=.venv-3.13`.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian's Chromium drives the browser tests (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
# certutil (libnss3-tools) puts Hearth's CA in a test browser profile's NSS store.
CERTUTIL ?= /usr/bin/certutil
# The store and bus suites also run on PostgreSQL and Redis: tests start their own servers
# from Debian's binaries on free loopback ports (tests/support/engines.py).
INITDB   := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) /usr/lib/postgresql/initdb)
REDIS    ?= /usr/bin/redis-server
MINOR    := -c 'import sys; print("%d.%d" % sys.version_info[:2])'

.PHONY: run test lint format icons check-python clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Hearth needs Python 3.11 or newer")'
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python $(MINOR))" != "$$($(PYTHON) $(MINOR))" ]; then \
		echo "$(VENV) is for Python $$($(BIN)/python $(MINOR)), $(PYTHON) is $$($(PYTHON) $(MINOR)):" \
			"give each Python its own venv (VENV=.venv-3.13) or \`make clean\` this one" >&2; \
		exit 1; \
	fi

$(BIN)/hearth: pyproject.toml setup.py | check-python
	@echo "Setting up Hearth's Python packages in $(VENV) (once: about a minute on a PC, a few on a Pi)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e .
	@echo "Packages ready."
	@touch $@

$(VENV)/.test-deps: $(BIN)/hearth pyproject.toml
	@echo "Installing the test tools (pytest, Playwright, ruff, mypy; a few minutes the first time)..."
	@$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -q
	$(SUDO) apt-get install -y -q chromium

$(CERTUTIL):
	$(SUDO) apt-get update -q
	$(SUDO) apt-get install -y -q libnss3-tools

$(INITDB):
	$(SUDO) apt-get update -q
	$(SUDO) apt-get install -y -q postgresql

$(REDIS):
	$(SUDO) apt-get update -q
	$(SUDO) apt-get install -y -q redis-server

run: $(BIN)/hearth
	$(BIN)/hearth serve

test: $(VENV)/.test-deps $(CHROMIUM) $(CERTUTIL) $(INITDB) $(REDIS)
	$(BIN)/ruff check appliance tests bench
	$(BIN)/ruff format --check appliance
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(VENV)/.test-deps
	$(BIN)/ruff check appliance tests bench
	$(BIN)/ruff format --check appliance
	$(BIN)/mypy

format: $(VENV)/.test-deps
	$(BIN)/ruff format appliance
	$(BIN)/ruff check --fix appliance tests bench

# The PNG icons, drawn from webui/icons/*.svg (they are committed; run after changing those).
icons: $(VENV)/.test-deps $(CHROMIUM)
	$(BIN)/python scripts/draw_icons.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
