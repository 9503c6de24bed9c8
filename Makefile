# One-command setup: `make run` serves the app (sandbox mode with no configuration), `make test` runs ruff, mypy and
# every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071
AZURITE_VERSION := 3.35.0
AZURITE := .tools/node_modules/.bin/azurite-table
# Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser) and axe-core for accessibility.
AXE_VERSION := 4.14.1
AXE := .tools/node_modules/axe-core/axe.min.js
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test bench venv azurite browser clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(AZURITE):
	npm install --silent --no-audit --no-fund --prefix .tools azurite@$(AZURITE_VERSION)

azurite: $(AZURITE)

# The browser tests: Debian's Chromium (driven by the `playwright` package from requirements-dev.txt; it never
# downloads a browser) and axe-core for the accessibility checks. Installed once; quiet when already there.
$(AXE):
	npm install --silent --no-audit --no-fund --prefix .tools axe-core@$(AXE_VERSION)

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null

browser: venv $(AXE) $(CHROMIUM)

run: venv
	PORT=$(PORT) $(PY) -m dataverse serve

test: venv azurite browser
	$(PY) -m ruff check .
	$(PY) -m mypy
	AZURITE_TABLE_BIN=$(abspath $(AZURITE)) AXE_CORE_JS=$(abspath $(AXE)) CHROMIUM_PATH=$(CHROMIUM) \
		$(PY) -m pytest -q $(PYTEST_ARGS)

bench: venv azurite
	AZURITE_TABLE_BIN=$(abspath $(AZURITE)) $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .tools .pytest_cache test-artifacts
