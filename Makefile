# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: demo test lint typecheck bench docs clean system-packages

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

# The demo needs no database driver; the tests install every extra and the dev tools.
$(VENV)/.demo: pyproject.toml $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[demo]"
	touch $@

# The tests need Debian packages (mysqlclient's build tools, Chromium): installed first where possible.
system-packages:
	@scripts/system-packages

$(VENV)/.test: pyproject.toml $(BIN)/uv | system-packages
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[all]" --group dev
	touch $@

demo: $(VENV)/.demo
	$(BIN)/python demo/flights.py $(DEMO)
	$(BIN)/lathe train $(DEMO)/train.toml --budget 90 --out $(DEMO)/models/late
	$(BIN)/lathe predict $(DEMO)/models/late $(DEMO)/score.toml --out $(DEMO)/scored.parquet
	$(BIN)/lathe info $(DEMO)/models/late
	@echo "report: $(DEMO)/models/late/report.html"

lint: $(VENV)/.test
	$(BIN)/ruff check src tests bench demo
	$(BIN)/ruff format --check src tests bench demo
	$(BIN)/lint-imports

typecheck: $(VENV)/.test
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	$(BIN)/python bench/baseline.py

# The documentation site, offline: every warning (a broken link or anchor, a docstring mkdocstrings
# cannot read) fails the build.
docs: $(VENV)/.test
	$(BIN)/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
