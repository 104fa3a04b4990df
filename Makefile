# Two commands for a new user: `make demo` and `make test`. Both create .venv first when it is
# missing or older than pyproject.toml; a second run does not reinstall.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo example bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python -m mgrade_edge.demo

# Retrain the bundled example reproducibly (fixed seed; CPU, deterministic algorithms).
example: $(STAMP)
	$(BIN)/mgrade-edge train --task digits --out examples/digits.pt --seed 0 --force

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
	$(BIN)/python benchmarks/update_readme.py

clean:
	rm -rf $(VENV) build *.egg-info demo_out
