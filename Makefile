# iog: the two set-up commands are `make run` and `make test`; everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-fast bench lint programs install js anvil contracts clean help

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

run: install programs anvil ## Start localnet, bootstrap, API, indexer and scheduler on embedded defaults
	$(VENV)/bin/iog run

test: install programs js anvil ## Install and run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install programs js anvil ## The suite without tests marked slow (fault injection, long property runs)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: install programs anvil ## Run the benchmark scripts (each prints a table against its own baseline)
	@set -e; for b in tests/bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check backend indexer localnet tests programs
	$(VENV)/bin/mypy backend indexer localnet

clean: ## Remove the virtualenv, build output and local state
	rm -rf $(VENV) .iog programs/staking/target tests/js/node_modules $(ANVIL_DIR)/node_modules
