# kapcare — the two commands: `make demo` and `make test`. Needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench serve clean

demo: $(INSTALLED)
	$(BIN)/kapcare demo

test: $(INSTALLED) lint typecheck pytest

$(INSTALLED): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "kapcare needs Python 3.11 (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create a virtual environment. On Debian: apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(INSTALLED)

lint: $(INSTALLED)
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench
	$(BIN)/lint-imports

typecheck: $(INSTALLED)
	$(BIN)/mypy src/kapcare
	$(BIN)/mypy --config-file /dev/null --strict --python-version 3.11 --ignore-missing-imports \
	  src/kapcare/clinical

# pytest exits 5 when it collected no tests; that fails here like any other failure.
pytest: $(INSTALLED)
	$(BIN)/pytest

BENCH_INSTALLED := $(VENV)/.bench-installed

$(BENCH_INSTALLED): bench/requirements.txt $(INSTALLED)
	$(BIN)/python -m pip install --quiet Cython==3.3.1 setuptools==80.9.0
	$(BIN)/python -m pip install --quiet --no-build-isolation -r bench/requirements.txt
	@touch $(BENCH_INSTALLED)

bench: $(BENCH_INSTALLED)
	$(BIN)/python bench/run.py

serve: $(INSTALLED)
	$(BIN)/kapcare serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
