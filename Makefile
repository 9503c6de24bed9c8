# One-command setup: `make run` serves the app (sandbox mode with no configuration), `make test` runs ruff, mypy and
# every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071
AZURITE_VERSION := 3.35.0
AZURITE := .tools/node_modules/.bin/azurite-table
# Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser) and axe-core for accessibility.
CHROMIUM := /usr/bin/chromium
AXE_VERSION := 4.14.1
AXE := .tools/node_modules/axe-core/axe.min.js

.PHONY: run test bench venv azurite browser clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(AZURITE):
	npm install --silent --no-audit --no-fund --prefix .tools azurite@$(AZURITE_VERSION)

azurite: $(AZURITE)

$(CHROMIUM):
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

$(AXE):
	npm install --silent --no-audit --no-fund --prefix .tools axe-core@$(AXE_VERSION)

browser: venv $(CHROMIUM) $(AXE)

run: venv
	PORT=$(PORT) $(PY) -m dataverse serve

test: venv azurite browser
	$(PY) -m ruff check .
	$(PY) -m mypy
	AZURITE_TABLE_BIN=$(abspath $(AZURITE)) $(PY) -m pytest -q $(PYTEST_ARGS)

bench: venv
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .tools .pytest_cache
