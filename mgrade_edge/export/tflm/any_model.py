"""`mgrade-edge board-test MODEL.tflite`: any int8 .tflite on TensorFlow Lite Micro, made by anyone.

The tool's figures are only worth as much as they agree with what others measured, so the same
machinery that board-tests a bundle runs a model it did not make (MLPerf Tiny's, a user's): a generic
runner (board/data/tflite_runner.cc) with exactly the model's ops registered, one int8 input drawn at
random (seed given), the output compared with LiteRT's reference kernels on the same input within one
quantisation step, the smallest working arena probed, and the program's flash, the instructions per
Invoke() and, on request, the estimated cycles of Invoke().

    report = board_test_tflite("kws_ref_model.tflite", cpu="cortex-m4", cycles=True)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ...board.boards import timing_lines
from ...board.build import cache_root, measure_elf
from ...board.cycles.estimate import NO_WAIT_STATES, estimate_for_program
from ...board.cycles.timing import MemoryModel
from ...board.program import build_program
from ...board.run import run_program, ticks_to_instructions
from ...board.tflm_golden import (
    default_kernels,
    parse_golden_output,
    require_cxx,
    search_min_arena,
    tflm_program_spec,
)
from ...board.toolchain import DATA, BoardError, get_cpu
from ...tflm_tree import find_tree
from .. import cgen, flatbuffer
from .export import resolver_method

RUNNER = DATA / "tflite_runner.cc"
INVOKE = "_ZN6tflite16MicroInterpreter6InvokeEv"  # tflite::MicroInterpreter::Invoke(): what is timed and traced
TOLERANCE_STEPS = 1  # kernels may round one step differently from LiteRT's reference kernels
ARENA_CAPACITY = 512 * 1024  # the runner's static arena: the largest arena tried


def read_int8_model(path: Path) -> tuple[bytes, list[str]]:
    """The model's bytes and its builtin ops, or a one-line error saying what the file is not."""
    path = Path(path)
    if not path.is_file():
        raise BoardError(f"{path} does not exist")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise BoardError(f"{path} is not a .tflite flatbuffer (no TFL3 identifier)")
    model = flatbuffer.read_model(data)
    graph = model.subgraphs[0]
    types = flatbuffer.type_names()
    for role, indices in (("input", graph.inputs), ("output", graph.outputs)):
        kinds = [types[graph.tensors[i].type] for i in indices]
        if len(kinds) != 1 or kinds[0].lower() != "int8":
            raise BoardError(f"{path.name}: board-test MODEL.tflite runs models with one int8 input and one int8 "
                             f"output; its {role}s are {', '.join(kinds) or 'none'}")
    return data, flatbuffer.used_ops(model)


def litert_case(data: bytes, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random int8 input and LiteRT's output for it (reference kernels: no delegate, no optimised path)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=data, num_threads=1,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    x = np.random.default_rng(seed).integers(-128, 128, inp["shape"], dtype=np.int8)
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return x.reshape(-1), interpreter.get_tensor(out["index"]).reshape(-1)


def write_runner_sources(directory: Path, data: bytes, ops: list[str], x: np.ndarray, y: np.ndarray,
                         invokes: int) -> None:
    methods = [resolver_method(op) for op in ops]
    registrations = "\n".join(f"  if (resolver.{m}() != kTfLiteOk) return kTfLiteError;" for m in methods)
    (directory / "runner_ops.h").write_text(
        "#pragma once\n#include \"tensorflow/lite/micro/micro_mutable_op_resolver.h\"\n"
        f"using RunnerOpResolver = tflite::MicroMutableOpResolver<{len(methods)}>;\n"
        f"inline TfLiteStatus RegisterRunnerOps(RunnerOpResolver& resolver) {{\n{registrations}\n"
        "  return kTfLiteOk;\n}\n")
    (directory / "runner_case.h").write_text(
        "#pragma once\n#include <cstdint>\n"
        f"constexpr int kInvokes = {invokes};\nconstexpr int kToleranceSteps = {TOLERANCE_STEPS};\n"
        + cgen.c_array("kRunnerInput", "int8_t", x, modifiers="alignas(16) const")
        + cgen.c_array("kRunnerExpected", "int8_t", y, modifiers="const"))
    (directory / "model_data.cc").write_text(
        "extern const unsigned char g_runner_model[];\n"
        + cgen.c_array("g_runner_model", "unsigned char", np.frombuffer(data, np.uint8),
                       modifiers="alignas(16) const"))


def board_test_tflite(model_path: str | Path, cpu: str = "host", kernels: str | None = None,
                      tflm_dir: str | Path | None = None, invokes: int = 3, seed: int = 0, cycles: bool = False,
                      memory: MemoryModel = NO_WAIT_STATES) -> dict:
    model_path = Path(model_path)
    spec_cpu = get_cpu(cpu)
    require_cxx(spec_cpu)
    data, ops = read_int8_model(model_path)
    x, y = litert_case(data, seed)
    kernels = kernels or default_kernels(cpu)
    tree = find_tree(kernels, tflm_dir)
    (cache_root() / "programs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tflite-runner-", dir=cache_root() / "programs") as tmp:
        work = Path(tmp)
        write_runner_sources(work, data, ops, x, y, invokes)
        spec = tflm_program_spec((RUNNER, work / "model_data.cc"), work, tree, spec_cpu,
                                 [resolver_method(op) for op in ops], (f"MGRADE_ARENA_CAPACITY={ARENA_CAPACITY}",),
                                 name="tflite_runner")
        program = build_program(spec_cpu, spec, work)

        def run(arena: int):
            result = run_program(program.toolchain, program.elf, (str(arena),))
            return parse_golden_output(result.output, result.exit_code)

        full = run(ARENA_CAPACITY)
        if not full.passed:
            raise BoardError(f"{model_path.name} on {cpu} ({kernels}): {full.line}")
        arena, probes = search_min_arena(run, full.arena_used_bytes, ARENA_CAPACITY)
        sizes = measure_elf(program.toolchain, program.elf)
        instructions = (ticks_to_instructions(program.toolchain, full.ticks) / invokes
                        if full.ticks is not None else None)
        timing = estimate_for_program(program.toolchain, program.elf, INVOKE, memory, len(data),
                                      (str(arena),)) if cycles else None
    return {
        "passed": True, "model": model_path.name, "model_bytes": len(data), "ops": ops, "cpu": cpu,
        "kernels": kernels, "tflm_tree": str(tree.root), "result_line": full.line,
        "arena_bytes_min": arena, "arena_used_bytes": full.arena_used_bytes, "probes": len(probes),
        "flash_bytes": sizes.flash, "instructions_per_invoke": None if instructions is None else round(instructions),
        "estimated_cycles": timing and timing["estimated_cycles"],
        "estimated_cycles_model": timing and {k: v for k, v in timing.items() if k != "estimated_cycles"},
        "build": {"compiled": program.stats.compiled, "cached": program.stats.cached},
    }


def format_tflite_report(r: dict) -> str:
    lines = [f"board-test {r['cpu']} ({r['model']}, {r['kernels']} kernels, {len(r['ops'])} op types)",
             f"  check: PASSED: {r['result_line']}",
             f"  arena_bytes_min        {r['arena_bytes_min']:,} (probed; TFLite Micro reported "
             f"{r['arena_used_bytes']:,})",
             f"  flash_bytes            {r['flash_bytes']:,} (whole program; model {r['model_bytes']:,})"]
    if r["instructions_per_invoke"] is not None:
        lines.append(f"  instructions_per_invoke {r['instructions_per_invoke']:,}  (QEMU -icount instruction count, "
                     f"not cycles)")
    return "\n".join(lines + timing_lines(r, "invoke"))
