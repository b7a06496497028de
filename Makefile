# iog: the two set-up commands are `make run` and `make test`; everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-fast bench lint programs install js web web-screenshot anvil contracts clean help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

programs: $(STAMP) ## Build the on-chain program (installs clang-14/llvm-14 when missing and root)
	$(MAKE) -C programs PY=$(abspath $(PY))

JS_STAMP := tests/js/node_modules/.installed

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $(JS_STAMP); \
	else echo "npm not found: tests that use the official JS clients will be skipped"; fi

js: $(JS_STAMP) ## Install the pinned official Solana JS clients the tests use (npm ci in tests/js)

ANVIL_DIR := .tools/anvil
ANVIL_STAMP := $(ANVIL_DIR)/node_modules/.installed

# The pinned anvil binary ships inside the npm package @foundry-rs/anvil-linux-amd64 (an optional dependency of
# @foundry-rs/anvil); --ignore-scripts keeps its postinstall from trying to download anything.
$(ANVIL_STAMP): $(ANVIL_DIR)/package.json $(ANVIL_DIR)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(ANVIL_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(ANVIL_STAMP); \
	else echo "npm not found: no anvil (the EVM rail and its tests are skipped)"; fi

anvil: $(ANVIL_STAMP) ## Install the pinned local EVM node (anvil, npm) into .tools/anvil

contracts: install ## Compile the EVM contracts (Vyper, pinned) to the committed ABI and bytecode
	$(PY) -m backend.evm.compile --write

WEB_FRONTEND := backend/web/frontend
WEB_NPM_STAMP := $(WEB_FRONTEND)/node_modules/.installed
WEB_STAMP := backend/web/static/build/.built
WEB_SOURCES := $(wildcard $(WEB_FRONTEND)/src/*.js $(WEB_FRONTEND)/src/*/*.js) $(WEB_FRONTEND)/build.mjs

$(WEB_NPM_STAMP): $(WEB_FRONTEND)/package.json $(WEB_FRONTEND)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to build the web app (apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix $(WEB_FRONTEND) --no-audit --no-fund --loglevel=error
	@touch $(WEB_NPM_STAMP)

$(WEB_STAMP): $(WEB_NPM_STAMP) $(WEB_SOURCES)
	cd $(WEB_FRONTEND) && node build.mjs
	@touch $(WEB_STAMP)

web: $(WEB_STAMP) ## Build the web app's browser module and the offline /docs and /redoc assets (pinned npm packages)

web-screenshot: install programs web ## Redraw backend/web/docs/marketplace.png from a seeded network (needs chromium)
	$(PY) -m tests.backend.web.screenshot

run: install programs web anvil ## Start localnet, bootstrap, API, indexer and scheduler on embedded defaults
	$(VENV)/bin/iog run

test: install programs js web anvil ## Install and run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install programs js web anvil ## The suite without tests marked slow (fault injection, long property runs)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: install programs anvil ## Run the benchmark scripts (each prints a table against its own baseline)
	@set -e; for b in tests/bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check backend indexer localnet tests programs
	$(VENV)/bin/mypy backend indexer localnet

clean: ## Remove the virtualenv, build output and local state
	rm -rf $(VENV) .iog programs/staking/target tests/js/node_modules $(WEB_FRONTEND)/node_modules backend/web/static/build $(ANVIL_DIR)/node_modules
