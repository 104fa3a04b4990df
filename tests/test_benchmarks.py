"""The benchmark suite's own logic, without running any benchmark: goals, tables, the round-robin timing
loop, the window extrapolation and run_all's command line."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import report, run_all
from benchmarks.latency import time_round_robin
from benchmarks.window_vs_stream import extrapolate

ROOT = Path(__file__).resolve().parents[1]


def _latency_row(engine, median, speedup, precision="int8", state="external"):
    return {"engine": engine, "precision": precision, "state": state, "median_us": median, "p90_us": median * 1.2,
            "mean_us": median * 1.1, "speedup_vs_torch_eager": speedup}


def _window_row(window, tflm_ratio, arena_ratio, source="measured"):
    timing = {e: {"window_invoke": {"median_us": 1000.0 * window}, "step_invoke": {"median_us": 30.0},
                  "latency_ratio": tflm_ratio} for e in ("tflm", "litert")}
    return {"window": window, "source": source, "ops": 6 * window, "arena_min_bytes": int(36_000 * arena_ratio),
            "arena_persistent_bytes": 1_000 * window, "arena_non_persistent_bytes": 300 * window,
            "model_file_bytes": 40_000 * window, "constant_data_bytes": 32_433,
            "arena_ratio": arena_ratio, "analytic_ratio": 2.5, "timing": timing, "y_max_abs_err_vs_float_step": 0.5}


def fake_results(tflm_median=100.0, window_1024=True) -> dict:
    windows = [_window_row(64, 56.0, 3.9)] + ([_window_row(1024, 3000.0, 51.3)] if window_1024 else [])
    results = {
        "machine": {"date_utc": "2026-01-01T00:00:00+00:00", "cpu_model": "Test CPU", "logical_cpus": 2,
                    "load_average_at_start": [1.5, 1.0, 1.0], "python": "3.11.0", "git_commit": "abcdef1234567890",
                    "packages": {"torch": "2.13.0", "tflite-micro": None}},
        "quick": False, "elapsed_s": 540.0,
        "latency": {"steps_per_engine": 5000, "block": 100, "threads": 1, "warmup": 200,
                    "rows": [_latency_row("torch eager", 350.0, 1.0, "float32"),
                             _latency_row("LiteRT int8", 20.0, 17.5), _latency_row("TFLM int8", tflm_median, 3.5),
                             _latency_row("LiteRT int8 internal state", 21.0, 16.7, state="internal"),
                             _latency_row("TFLM int8 internal state", 45.0, 7.8, state="internal")]},
        "window_vs_stream": {"streaming": {"arena_min_bytes": 36_640, "analytic_min_ram_bytes": 2_411,
                                           "arena_persistent_bytes": 25_872, "arena_non_persistent_bytes": 3_120},
                             "what": "invoke() only", "windows": windows},
        "accuracy": {"test_sequences": 450, "long_stream_steps": 2000, "rows": [
            {"target": "torch", "engine": "torch", "precision": "float32", "state": "external", "accuracy": 0.9867,
             "agreement_with_torch": 1.0, "max_abs_err": 0.0, "rms_err": 0.0, "within_tolerance": True},
            {"target": "tflite-int8", "engine": "tflm", "precision": "int8", "state": "internal", "accuracy": 0.98,
             "agreement_with_torch": 0.9956, "max_abs_err": 5.2, "rms_err": 0.43, "cosine_sequences": 0.997,
             "cosine_long_stream": 0.995, "within_tolerance": False}]},
        "memory": {"params": 29_866, "notes": ["a note"], "rows": [
            {"artifact": "tflite-int8-internal", "precision": "int8", "state": "internal", "model_file_bytes": 72_496,
             "analytic_flash_bytes": 47_584, "tflm_arena_min_bytes": 36_640, "state_bytes": 1_536,
             "analytic_min_ram_bytes": 2_411},
            {"artifact": "onnx", "precision": "float32", "state": "external", "model_file_bytes": 131_801,
             "analytic_flash_bytes": 121_384, "state_bytes": 6_144, "analytic_min_ram_bytes": None}]},
    }
    results["goals"] = report.evaluate_goals(results)
    return results


def test_goals_are_judged_against_the_declared_thresholds():
    goals = {g["goal"]: g for g in fake_results()["goals"]}
    assert goals["LiteRT int8: median per-step call"]["met"] is True
    assert goals["TFLM int8: median per-step call"]["met"] is False  # 100 us > 50 us
    assert goals["TFLM int8: speedup vs torch eager (median)"]["met"] is False  # 3.5x < 10x
    assert goals["TFLM int8 internal state: median per-step call"]["met"] is True  # 45 us
    assert goals["TFLM int8 internal state: speedup vs torch eager (median)"]["met"] is False  # 7.8x
    window = [g for g in goals.values() if g["goal"].startswith("W=1024")]
    assert len(window) == 3 and all(g["met"] is True for g in window)
    edge = {g["goal"]: g for g in fake_results(tflm_median=report.INT8_STEP_MAX_US)["goals"]}
    assert edge["TFLM int8: median per-step call"]["met"] is True  # the threshold itself counts as met


def test_goals_not_measured_are_neither_met_nor_missed():
    goals = fake_results(window_1024=False)["goals"]
    window = [g for g in goals if g["goal"].startswith("W=1024")]
    assert window and all(g["met"] is None and g["measured"] is None for g in window)
    assert all(g["source"] == "not measured in this run" for g in window)


def test_markdown_has_every_section_with_units_and_the_rerun_line():
    md = report.render_markdown(fake_results())
    assert "rerun with `make bench`" in md and "Test CPU" in md and "Quick run" not in md
    assert not any(line.startswith(("# ", "## ")) for line in md.splitlines())  # goes under a "# Results"
    for header in ("### Goals", "### 1. Per-step latency", "### 2. Streaming step vs", "### 3. Accuracy",
                   "### 4. Parameters, flash and RAM", "median (µs)", "p90 (µs)",
                   "speedup vs torch eager (×, medians)",
                   "window arena (bytes)", "TFLM latency ratio (×)", "accuracy (%)", "model file (bytes)",
                   "TFLM arena min (bytes)"):
        assert header in md, header
    assert "| TFLM int8 | int8 | external | 100.0 | 120.0 | 110.0 | 3.50 |" in md
    assert "| 1024 | measured | 6,144 | 1,846,800 | 51.3 | 2.5 | 1,024,000.0 | 30.00 | 3,000 |" in md
    assert "streaming 25,872 + 3,120; W=64 64,000 + 19,200 (model file 2,560,000 bytes, of which 32,433" in md
    assert "| tflite-int8 | tflm | int8 | internal | 98.00 | 99.56 | 5.2 | 0.43 | 0.99500 | NO |" in md
    assert "| onnx | float32 | external | 131,801 | 121,384 | n/a | 6,144 | n/a |" in md
    assert "| TFLM int8: median per-step call | <= 50 µs | 100.0 µs | MISSED |" in md
    # every Markdown table row has as many cells as its header
    for block in md.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len({line.count("|") for line in rows}) <= 1, block


def test_markdown_marks_quick_runs_and_analytic_windows():
    results = fake_results(window_1024=False)
    results["quick"] = True
    results["window_vs_stream"]["windows"].append({**extrapolate(
        [_window_row(64, 56.0, 3.9), _window_row(256, 200.0, 13.4)], 1024), "error": "MemoryError: "})
    md = report.render_markdown(results)
    assert "Quick run (`--quick`)" in md
    assert "analytic: linear extrapolation from W=64 and W=256" in md and "Not measured: W=1024: MemoryError" in md


def test_extrapolation_is_linear_in_the_window_and_labelled():
    rows = [_window_row(64, 56.0, 2.0), _window_row(256, 200.0, 8.0)]
    out = extrapolate(rows, 1024)
    assert out["source"].startswith("analytic")
    assert out["arena_min_bytes"] == int(36_000 * 8.0 + (36_000 * 6.0) * (1024 - 256) / 192)
    assert out["timing"]["tflm"]["window_invoke"]["median_us"] == pytest.approx(1_024_000.0)
    assert "arena_min_bytes" not in extrapolate(rows[:1], 1024)


class RecordingRunner:
    def __init__(self, log, name):
        self.log, self.name, self.inputs = log, name, []

    def reset(self):
        self.inputs.clear()

    def step(self, x):
        self.log.append(self.name)
        self.inputs.append(float(x[0]))
        return x


def test_round_robin_gives_every_runner_the_same_inputs_and_rotates_the_order():
    log = []
    runners = {name: RecordingRunner(log, name) for name in ("a", "b", "c")}
    stream = np.arange(40, dtype=np.float32).reshape(-1, 1)
    samples = time_round_robin(runners, stream, steps=30, block=10, warmup=5)
    assert all(len(s) == 30 and min(s) >= 0 for s in samples.values())
    assert all(r.inputs == list(range(35)) for r in runners.values())
    timed = log[15:]  # after the warm-up calls
    firsts = [timed[i] for i in range(0, 90, 10)]
    assert firsts[::3] == ["a", "b", "c"]  # each round starts with the next engine
    with pytest.raises(ValueError, match="shorter than warmup"):
        time_round_robin(runners, stream, steps=40, block=10, warmup=5)


def test_cli_parses_its_options(tmp_path):
    args = run_all.parse_args([])
    assert not args.quick and args.out_dir == ROOT / "benchmarks" and args.artifacts_dir is None
    quick = run_all.parse_args(["--quick"])
    assert quick.quick and quick.out_dir != ROOT / "benchmarks"  # a quick run never replaces the full results
    custom = run_all.parse_args(["--out-dir", str(tmp_path), "--artifacts-dir", str(tmp_path / "a"),
                                 "--reuse-artifacts"])
    assert custom.out_dir == tmp_path and custom.reuse_artifacts
    assert run_all.parse_args(["--render-only"]).render_only
    with pytest.raises(SystemExit) as exit_info:
        run_all.parse_args(["--reuse-artifacts"])
    assert exit_info.value.code == 2
    assert run_all.FULL.latency_steps >= 1000 and 1024 in run_all.FULL.windows


def test_render_only_rewrites_the_tables_from_results_json(tmp_path):
    from mgrade_edge.jsonutil import dumps

    results = fake_results()
    results["goals"] = []  # recomputed from the numbers
    (tmp_path / "results.json").write_text(dumps(results))
    assert run_all.main(["--render-only", "--out-dir", str(tmp_path)]) == 0
    md = (tmp_path / "results.md").read_text()
    assert md == report.render_markdown(fake_results())
    assert "| TFLM int8: median per-step call | <= 50 µs | 100.0 µs | MISSED |" in md


def test_script_help_runs_without_heavy_imports():
    code = ("import runpy, sys\nsys.argv = ['run_all.py', '--help']\n"
            "try:\n    runpy.run_path('benchmarks/run_all.py', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert e.code == 0\n"
            "heavy = [m for m in ('torch', 'tensorflow', 'onnxruntime', 'tflite_micro') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--quick" in out.stdout and "--out-dir" in out.stdout


def test_c_board_table_renders_parts_and_the_tflite_micro_ratio(tmp_path):
    from benchmarks.update_docs import C_END, C_START, c_board_table, replace_section

    rows = [{"model": "m", "cpu": "cortex-m4", "kernels": "cmsis-nn", "instructions_per_step": 500_000},
            {"target": "c", "model": "m", "cpu": "cortex-m4", "kernels": "arm-dsp", "passed": True, "identical": True,
             "output_hash": "0badcafe", "ram_bytes": 110, "state": 60, "scratch": 30, "io": 4, "stack": 16,
             "step_flash_bytes": 4_096, "instructions_per_step": 100_000, "instructions_per_mac": 2.5,
             "analytic_min_ram_bytes": 100, "ram_over_minimum": 1.1}]
    table = c_board_table(rows)
    assert ("| m | Cortex-M4 | `-DMGRADE_USE_DSP` | 110 = 60 + 30 + 4 + 16 | 1.10x of 100 | 4,096 | 100,000 | 2.50 "
            "| 5.00x |") \
        in table
    assert "Every row passed" in table and "m `0badcafe`" in table
    rows[1]["identical"] = False
    assert "NOT every row passed" in c_board_table(rows)
    text = replace_section(f"a\n{C_START}\nold\n{C_END}\nb", C_START, C_END, "new", tmp_path)
    assert text == f"a\n{C_START}\nnew\n{C_END}\nb"


def test_fused_board_table_compares_with_the_builtin_bundle_of_the_same_cpu():
    from benchmarks.update_docs import c_board_table, fused_board_table

    rows = [{"model": "m", "cpu": "cortex-m4", "kernels": "cmsis-nn", "instructions_per_step": 500_000,
             "model_ram_bytes": 20_000},
            {"target": "tflm-fused", "model": "m", "cpu": "cortex-m4", "variant": "arm-dsp", "passed": True,
             "arena_bytes_min": 2_000, "interpreter_objects_bytes": 300, "step_scratch_bytes": 200,
             "model_ram_bytes": 2_500, "analytic_min_ram_bytes": 2_000, "ram_over_minimum": 1.25,
             "instructions_per_step": 50_000}]
    table = fused_board_table(rows)
    assert ("| m | Cortex-M4 | `-DMGRADE_USE_DSP` | 2,500 = 2,000 + 300 + 200 | 1.25x of 2,000 | 20,000 | 50,000 "
            "| 10.00x |") in table
    assert "Every row passed" in table
    # a fused row never stands in for the builtin bundle in the c table's ratio
    c_row = {"target": "c", "model": "m", "cpu": "cortex-m4", "kernels": "arm-dsp", "passed": True,
             "identical": True, "output_hash": "0", "ram_bytes": 1, "state": 1, "scratch": 0, "io": 0, "stack": 0,
             "step_flash_bytes": 1, "instructions_per_step": 100_000, "instructions_per_mac": 1.0,
             "analytic_min_ram_bytes": 1, "ram_over_minimum": 1.0}
    assert "| 5.00x |" in c_board_table(rows + [c_row])
    rows[1]["passed"] = False
    assert "NOT every row passed" in fused_board_table(rows)


def test_qemu_profile_counts_each_executed_block_and_sums_per_function():
    from benchmarks.qemu_profile import by_symbol, instructions_per_address

    log = ["IN: f", "0x00001000:  b510  push {r4, lr}", "0x00001002:  2001  movs r0, #1", "",
           "IN: g", "0x00002000:  4770  bx lr", "",
           "Trace 0: 0x7f00 [00000000/00001000/00000000/ff000000] f",
           "Trace 0: 0x7f01 [00000000/00002000/00000000/ff000000] g",
           "Trace 0: 0x7f00 [00000000/00001000/00000000/ff000000] f"]
    counts = instructions_per_address(log)
    assert counts == {0x1000: 2, 0x1002: 2, 0x2000: 1}
    assert by_symbol(counts, [(0x1000, "f"), (0x2000, "g")]) == {"f": 4, "g": 1}


def test_qemu_profile_counts_a_helium_instruction_once():
    """QEMU's in_asm prints an MVE instruction as ".byte" for its first halfword and a bogus instruction for
    its second (the trace overcounted Helium code by a quarter): the second halfword is not counted."""
    from benchmarks.qemu_profile import instructions_per_address

    log = ["IN: f", "0x00000f98:  4616       mov      r6, r2", "0x00000f9a:  f04e       .byte    0x4e, 0xf0",
           "0x00000f9c:  e001       b        #0xfa2", "0x00000f9e:  b0a5       sub      sp, #0x94",
           "0x00000fa0:  0a11       .byte    0x11, 0x0a", "",
           "Trace 0: 0x7f00 [00000000/00000f98/00000000/ff000000] f"]
    # 0x0a11 is a 16-bit halfword QEMU could not name: it is one instruction, the next is not skipped
    assert instructions_per_address(log) == {0xf98: 1, 0xf9a: 1, 0xf9e: 1, 0xfa0: 1}


def test_c_target_counts_the_step_calls_callgrind_recorded():
    """benchmarks/c_target.py divides the step's instructions by its calls as callgrind recorded them
    (the golden program's stack measurement calls the step too)."""
    from benchmarks.c_target import step_calls

    out = "\n".join(["fn=(1) run", "cfn=(7) mgrade_x_step_q", "calls=2 0", "5 100", "cfn=(7)", "calls=126 0",
                      "5 900", "fn=(2) stack_high_water", "cfn=(7)", "calls=64 0", "9 400", "cfn=(8) other",
                      "calls=5 0", "1 10"])
    assert step_calls(out, "mgrade_x_step_q") == 192
    assert step_calls(out, "other") == 5
    assert step_calls(out, "missing") == 0


def test_workload_targets_table_has_one_row_per_target_in_percent():
    from benchmarks.workload_targets import table

    def report(label, within):
        return {"label": label, "accuracy_ref": 0.5, "accuracy_artifact": 0.48, "agreement": 0.9, "max_abs_err": 1.5,
                "rms_err": 0.1, "drift_ratio": 0.8, "within_tolerance": within,
                "test_sequences": {"cosine": 0.999}, "long_stream": {"cosine": 0.998, "steps": 100000}}

    text = table([report("tflite-int8", True), report("c int8", False)]).splitlines()
    assert "float 50.00%" in text[0] and "100,000 steps" in text[0]
    assert len(text) == 4 and text[2].startswith("| tflite-int8 |") and text[2].endswith("| yes |")
    assert "| 90.00% | 48.00% | 0.80 | no |" in text[3]


def test_state_precision_grid_holds_zero_and_saturates():
    import torch

    from benchmarks.state_precision import round_to_grid

    v = torch.tensor([-3.0, 0.0, 0.013, 1.0, 9.0])
    got = round_to_grid(v, 0.0, 2.55, 8)  # h's range: 255 steps of 0.01
    assert got[1] == 0.0 and got[0] == 0.0 and torch.isclose(got[4], torch.tensor(2.55))
    assert torch.isclose(got[2], torch.tensor(0.01)) and torch.isclose(got[3], torch.tensor(1.0))


def test_state_precision_study_rows():
    from benchmarks.state_precision import study, table

    # the bundled digits model (trained: an untrained one answers one class whatever its inputs)
    rows = study(str(ROOT / "examples" / "digits.pt"), clips=40, bits=(16, 2), log=lambda *_: None)
    by_case = {r["case"]: r for r in rows}
    assert rows[0]["case"] == "float" and rows[0]["agreement"] == 1.0
    assert {"all int16", "x int16", "h_0_in int16", "delay_0_in int16", "all int2"} <= set(by_case)
    assert by_case["all int16"]["agreement"] >= 0.95  # 65,535 levels: nearly every decision stays
    assert by_case["all int2"]["agreement"] < by_case["all int16"]["agreement"]  # 3 levels: it cannot follow
    assert table(rows, 40).splitlines()[2] == "| rounded | accuracy | agreement with float |"


def test_state_precision_small_updates_counts_changes_below_half_a_step():
    from types import SimpleNamespace

    from benchmarks.state_precision import small_updates

    # one stream of h values 0, 0.001, 0.2, 0.2 on a grid of step 1/255 (range [0, 1]): the changes
    # 0.001 (0.255 of a step) and 0.199 (above half) count, the zero change does not
    values = [0.0, 0.001, 0.2, 0.2]
    samples = [{"x": np.zeros((1, 1)), "h_0_in": np.array([[v]])} for v in values]
    calibration = SimpleNamespace(input_names=["x", "h_0_in"], streams=[np.zeros((4, 1))],
                                  samples=lambda: iter(samples))
    got = small_updates(calibration, {"h_0_in": (0.0, 1.0)})
    assert got["h_0_in"]["below_half_step"] == 0.5
    assert np.isclose(got["h_0_in"]["median_steps"], (0.001 + 0.199) / 2 * 255)


def test_step_breakdown_knows_every_function_of_the_step_templates():
    """A new kernel or step function must be given a kind, or its instructions would count as the harness's."""
    import re

    from benchmarks.step_breakdown import KINDS
    from mgrade_edge.export.c.generator import TEMPLATES

    known = {f for functions in KINDS.values() for f in functions}
    definition = re.compile(r"^(?:__attribute__\(\(\w+\)\)\s+)?static\s+(?:INLINE\s+)?[\w\s*]*?\b(\w+)\(", re.M)
    defined = {name for source in ("int_step.c", "kernels.h")
               for name in definition.findall((TEMPLATES / source).read_text())}
    assert {"dot4", "conv_lanes", "gru_update4", "layer_norm_into"} <= defined
    assert defined <= known, sorted(defined - known)
