# One command to set up and run the main job, one to run the tests.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest workers for `make test`: the suite mostly waits (on the emulator, on PostgreSQL, on Telegram's
# limits), so two workers halve it even on two cores. JOBS=0 runs it in one process.
JOBS   ?= 2
LINTED := piyasa_bot tests benchmarks

.PHONY: setup simulate run check test test-fast lint loadtest bench clean browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=python3 (3.11 or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	@touch $(STAMP)

simulate: setup  ## the whole system: embedded PostgreSQL, local Bot API emulator, simulated people
	$(BIN)/python -m piyasa_bot simulate $(ARGS)

run: setup
	$(BIN)/python -m piyasa_bot run

check: setup
	$(BIN)/python -m piyasa_bot check

test: setup  ## the whole suite, what CI runs; every test is bounded by pytest-timeout
	@$(MAKE) -s browser || echo "note: Chromium could not be installed here (root or sudo needed): the console's browser tests are skipped"
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup $(ARGS)

test-fast: setup  ## unit and contract tests only: no end-to-end scenario (marked slow), well under a minute
	$(BIN)/python -m pytest -q -m "not slow" $(ARGS)

browser:  ## Debian's Chromium for the console's browser tests (skipped without it, outside CI); needs root or sudo
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo -n ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@chromium --version 2>/dev/null

lint: setup  ## ruff (lint and format) and mypy
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

loadtest: setup  ## the reference load test: 50 bots, 100 people, 5 minutes; report in reports/
	$(BIN)/python -m piyasa_bot loadtest $(ARGS)

bench: setup  ## ingest benchmark beside a plain aiogram runner (see BENCHMARKS.md)
	$(BIN)/python -m benchmarks.ingest $(ARGS)

clean:
	rm -rf $(VENV) .piyasa .pytest_cache .mypy_cache .ruff_cache *.egg-info
