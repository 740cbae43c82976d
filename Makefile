# Reclaim: `make run` sets everything up and runs the main job; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench clean

install: $(STAMP)

# Rebuilt only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/reclaim --db sqlite:///demo.db demo

test: install
	bash scripts/install-vpdq.sh $(BIN)/python || echo "vpdq not installed: its parity tests will skip (and fail in CI)"
	bash scripts/install-node.sh || echo "node not installed: the in-browser hasher's tests will skip (and fail in CI)"
	bash scripts/install-chromium.sh || echo "chromium not installed: the browser tests will skip (and fail in CI)"
	$(BIN)/python -m pytest -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	bash scripts/install-vpdq.sh $(BIN)/python || echo "vpdq not installed: benchmarks/video.py measures Reclaim alone"
	bash scripts/install-tmk.sh $(BIN)/python || echo "tmkpy not installed: benchmarks/video.py leaves TMK out"
	$(BIN)/python benchmarks/hashing.py
	$(BIN)/python benchmarks/index.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/video.py --decode
	bash scripts/install-chromium.sh
	$(BIN)/python benchmarks/portal.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
