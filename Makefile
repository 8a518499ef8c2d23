# corredor — every target installs what it needs into .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint typecheck install clean flee-venv

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/corredor main-job --out runs/main --force

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

# Flee 3.1, the reference the benchmarks compare against: its own virtualenv, never a corredor
# dependency; (re)created when missing or when flee cannot be imported from it.
FLEE_VENV := benchmarks/.venv-flee

flee-venv:
	@$(FLEE_VENV)/bin/python -c "import flee" 2>/dev/null || \
	  ( $(PY) -m venv $(FLEE_VENV) && $(FLEE_VENV)/bin/pip install flee==3.1 )

bench: $(STAMP) flee-venv
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# mypy's settings (and the third-party modules it may not follow) are in pyproject.toml [tool.mypy].
typecheck: $(STAMP)
	$(BIN)/mypy src/corredor

clean:
	rm -rf $(VENV) runs .pytest_cache
