"""`mgrade-edge board-test`: a TFLite Micro bundle's golden program built against real TFLite Micro
sources and run on the host or bare metal under QEMU, with its memory and instruction count.

    report = board_test("digits_tflm", cpu="cortex-m4", kernels=None, tflm_dir=None)
    print(format_board_report(report))

The golden program (the bundle's main.cc) is built once with a static arena of twice the emitted
size; the arena actually used is its first argument, so the smallest working arena is searched
with one process (host) or one QEMU boot per probe, bisecting in 16-byte steps between the
`arena_used_bytes()` that TFLite Micro reports (never enough: allocation needs temporary memory)
and a size that worked. "Working" means the golden check passed with that arena.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..config import MGRADEConfig
from ..jsonutil import thousands as num
from ..manifest import MANIFEST, read_manifest
from ..targets import TARGETS
from ..tflm_tree import TflmTree, core_sources, find_tree, kernel_sources, resolver_methods_of
from .boards import timing_lines
from .build import SourceSet, cache_root, measure_elf
from .c_golden import DSP_DEFINE, check_dsp, object_ram_symbols
from .cycles.estimate import NO_WAIT_STATES, estimate_for_program
from .cycles.timing import MemoryModel
from .program import ProgramSpec, build_program
from .run import RUN_TIMEOUT_S, golden_result, run_program, ticks_to_instructions
from .toolchain import CPUS, DATA, BoardError, get_cpu

BUNDLE_SOURCES = ("main.cc", "mgrade_stream.cc", "model_data.cc")
BUNDLE_FILES = BUNDLE_SOURCES + ("mgrade_model.h", "op_resolver.h", "golden_io.h", "model_data.h", "mgrade_stream.h")
ARENA_STEP = 16  # TFLite Micro aligns allocations to 16 bytes
CAPACITY_FACTOR = 2  # static arena = this x the emitted kTensorArenaSize, room to probe above it
DEFINES = ("TF_LITE_STATIC_MEMORY",)
STEP_FUNCTION = r"re:::step\(float const\*, float\*\)$"  # mgrade_stream.h's step(), in the bundle's namespace
_USED = re.compile(r"arena used (\d+) of (\d+) bytes")
_TIME = re.compile(r"TIME: (\d+) steps took (\d+) ticks at (\d+) ticks per second")
_CONST = re.compile(r"inline constexpr \w+ (kTensorArenaMinimum|kTensorArenaMargin|kGoldenSteps) = (\d+);")


def default_kernels(cpu: str) -> str:
    """CMSIS-NN on Cortex-M (what Arm users deploy), reference kernels on the host."""
    return "reference" if cpu == "host" else "cmsis-nn"


@dataclass
class GoldenRun:
    exit_code: int
    passed: bool
    line: str  # the PASS/FAIL line, or the last line printed
    arena_used_bytes: int | None
    steps: int | None
    ticks: int | None
    ticks_per_second: int | None


def parse_golden_output(text: str, exit_code: int) -> GoldenRun:
    """The golden program's result. Passing needs both the PASS line and exit code 0."""
    passed, line = golden_result(text, exit_code)
    used = _USED.search(line)
    timing = _TIME.search(text)
    return GoldenRun(exit_code, passed, line,
                     int(used.group(1)) if used else None, int(timing.group(1)) if timing else None,
                     int(timing.group(2)) if timing else None, int(timing.group(3)) if timing else None)


def bundle_constants(bundle: Path) -> dict[str, int]:
    text = (bundle / "mgrade_model.h").read_text() + (bundle / "golden_io.h").read_text()
    found = dict((k, int(v)) for k, v in _CONST.findall(text))
    if set(found) != {"kTensorArenaMinimum", "kTensorArenaMargin", "kGoldenSteps"}:
        raise BoardError(f"{bundle}: mgrade_model.h/golden_io.h lack the arena or golden constants; re-export the "
                         f"bundle with mgrade-edge export MODEL --target tflm --out {bundle}")
    return found


def check_bundle(bundle: Path) -> Path:
    bundle = Path(bundle)
    missing = [f for f in BUNDLE_FILES if not (bundle / f).is_file()]
    if missing:
        raise BoardError(f"{bundle} is not a TFLite Micro bundle (missing {', '.join(missing)}); create one with "
                         f"mgrade-edge export MODEL --target tflm --out {bundle}")
    return bundle


def bundle_manifest(bundle: Path) -> dict | None:
    """The bundle's checked manifest, or None for one still being exported (export --cpu probes its
    arena before the manifest is written)."""
    return read_manifest(bundle) if (Path(bundle) / MANIFEST).is_file() else None


def fused_program_sources(bundle: Path, manifest: dict | None = None) -> tuple[str, ...] | None:
    """A tflm-fused bundle's program sources (the tflm ones plus the custom op and the C step), from
    its manifest; None for a builtin-op tflm bundle (or one without a manifest yet)."""
    m = manifest if manifest is not None else bundle_manifest(bundle)
    if m is None or TARGETS[m["target"]].format != "tflm-fused":
        return None
    return tuple(m["details"]["tflm_fused"]["program_sources"])


def require_cxx(cpu) -> None:
    """TensorFlow Lite Micro programs need a C++ library for `cpu` (picolibc's riscv32 here has none)."""
    if not cpu.cxx:
        cxx_cpus = ", ".join(name for name, spec in CPUS.items() if spec.cxx)
        raise BoardError(f"TensorFlow Lite Micro is C++ and the {cpu.name} toolchain here has no C++ library; "
                         f"TensorFlow Lite Micro programs build on {cxx_cpus} (c bundles run on {cpu.name})")


def tflm_program_spec(sources: tuple[Path, ...], own_dir: Path, tree: TflmTree, cpu, methods: list[str],
                      own_defines: tuple[str, ...] = (), name: str = "mgrade_golden") -> ProgramSpec:
    """A TensorFlow Lite Micro program: its own `sources` (headers in `own_dir`), the timer port, and TFLite
    Micro's core with the kernels of the resolver `methods` (archived: only what is referenced links)."""
    includes = tree.include_dirs
    # CMSIS_NN tells the shared kernel headers that cmsis_nn/*.cc define the per-type registrations.
    defines = DEFINES + (("CMSIS_NN",) if tree.kernels == "cmsis-nn" else ())
    timer = (SourceSet((DATA / "micro_time_systick.cc",), includes, (f"MGRADE_BOARD_CLOCK_HZ={cpu.clock_hz}",))
             if cpu.bare_metal else SourceSet((DATA / "micro_time_none.cc",), includes))
    own = SourceSet(tuple(sources), (own_dir, *includes), (*defines, *own_defines))
    tflm = SourceSet(tuple(core_sources(tree) + kernel_sources(tree, methods)), includes, defines)
    return ProgramSpec((own, timer), (tflm,), name=name)


def golden_program_spec(bundle: Path, tree: TflmTree, cpu, capacity: int, dsp: bool = False,
                        sources: tuple[str, ...] = BUNDLE_SOURCES) -> ProgramSpec:
    """Everything the golden program links: bundle `sources`, the timer port, TFLite Micro (archived).
    `dsp` (tflm-fused bundles): the C step with its Arm DSP dot product."""
    return tflm_program_spec(tuple(bundle / f for f in sources), bundle, tree, cpu,
                             resolver_methods_of(bundle / "op_resolver.h"),
                             (f"MGRADE_ARENA_CAPACITY={capacity}", *((DSP_DEFINE,) if dsp else ())))


def search_min_arena(run, used: int, known_ok: int) -> tuple[int, list[dict]]:
    """Smallest multiple of ARENA_STEP for which run(arena) passes; `known_ok` passed already.
    The first probe sits just below `used` (what TFLite Micro reported using), which must fail."""
    probes = []

    def probe(arena: int) -> bool:
        ok = run(arena).passed
        probes.append({"arena": arena, "ok": ok})
        return ok

    lo = max(0, (used // ARENA_STEP) * ARENA_STEP - ARENA_STEP)
    if lo > 0 and probe(lo):
        lo = 0
    hi = known_ok
    while hi - lo > ARENA_STEP:
        mid = max(lo + ARENA_STEP, min(hi - ARENA_STEP, ((lo + hi) // 2 // ARENA_STEP) * ARENA_STEP))
        if probe(mid):
            hi = mid
        else:
            lo = mid
    return hi, probes


def _analytic_min_ram(m: dict | None) -> int | None:
    if m is None:
        return None
    from ..analytic import analytic_profile

    target = {"int8": "tflite-int8", "int16x8": "tflite-int16x8"}.get(m.get("precision"))
    if target is None or not isinstance(m.get("config"), dict):
        return None
    return int(analytic_profile(MGRADEConfig(**m["config"]), target)["analytic_min_ram_bytes"])


def arena_sizes(consts: dict[str, int]) -> tuple[int, int]:
    """(the emitted arena, the static capacity the golden program is built with to try larger ones)."""
    emitted = consts["kTensorArenaMinimum"] + consts["kTensorArenaMargin"]
    return emitted, CAPACITY_FACTOR * emitted


@contextlib.contextmanager
def golden_program(bundle: Path, tree: TflmTree, cpu, capacity: int, dsp: bool = False,
                   sources: tuple[str, ...] = BUNDLE_SOURCES):
    """The bundle's golden program built for `cpu` in a temporary folder under the cache (objects cached)."""
    (cache_root() / "programs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="golden-", dir=cache_root() / "programs") as tmp:
        yield build_program(cpu, golden_program_spec(bundle, tree, cpu, capacity, dsp, sources), Path(tmp))


_RECORDED = re.compile(r"^Y (\d+) (\d+) (-?\d+)\s*$", re.M)


def record_golden_outputs(bundle: Path, tflm_dir: str | Path | None) -> tuple[np.ndarray, str]:
    """The bundle's golden outputs as the host build of a TensorFlow Lite Micro tree (reference kernels)
    computes them: ([steps, outputs] integers, the tree's path). Kernels change between TFLite Micro
    versions (the int16 SUB of the 2026-08-20 snapshot and of the Python wheel differ by one step at
    rounding edges), so a golden recorded with the sources the bundle is built with is the one it can
    pass; board-test on a device then checks the device's kernels against it."""
    bundle = Path(bundle)
    tree = find_tree("reference", tflm_dir)
    consts = bundle_constants(bundle)
    _, capacity = arena_sizes(consts)
    with golden_program(bundle, tree, get_cpu("host"), capacity) as program:
        result = run_program(program.toolchain, program.elf, (str(capacity), "record"))
    values = _RECORDED.findall(result.output)
    steps, outputs = consts["kGoldenSteps"], 1 + max((int(c) for _, c, _ in values), default=-1)
    if result.timed_out or not values or len(values) != steps * outputs:
        line = golden_result(result.output, result.exit_code)[1]
        raise BoardError(f"recording the golden with {tree.root} failed: {line}")
    recorded = np.zeros((steps, outputs), np.int64)
    for t, c, v in values:
        recorded[int(t), int(c)] = int(v)
    return recorded, str(tree.root)


def board_test(bundle: str | Path, cpu: str = "host", kernels: str | None = None, tflm_dir: str | Path | None = None,
               probe: bool = True, dsp: bool = False, cycles: bool = False,
               memory: MemoryModel = NO_WAIT_STATES) -> dict:
    """Build and run the bundle's golden program on `cpu`; see the module docstring. Returns a dict
    (JSON-ready): passed, cpu, kernels, arena and memory figures, instructions per step, build stats.
    `dsp` only for tflm-fused bundles (their C step's -DMGRADE_USE_DSP)."""
    spec_cpu = get_cpu(cpu)
    require_cxx(spec_cpu)
    bundle = check_bundle(Path(bundle))
    manifest = bundle_manifest(bundle)
    fused_sources = fused_program_sources(bundle, manifest)
    if dsp and fused_sources is None:
        raise BoardError(f"--dsp is for c and tflm-fused bundles; {bundle} is a builtin-op tflm bundle")
    check_dsp(spec_cpu, dsp)
    kernels = kernels or default_kernels(cpu)
    tree = find_tree(kernels, tflm_dir)
    consts = bundle_constants(bundle)
    emitted, capacity = arena_sizes(consts)
    with golden_program(bundle, tree, spec_cpu, capacity, dsp, fused_sources or BUNDLE_SOURCES) as program:
        tc, elf = program.toolchain, program.elf
        runs = []

        def run(arena: int) -> GoldenRun:
            result = run_program(tc, elf, (str(arena),))
            if result.timed_out and arena >= emitted:  # a probe below it may hang: that probe just fails
                raise BoardError(f"the golden program ran longer than {RUN_TIMEOUT_S} s on {cpu} with a "
                                 f"{arena:,}-byte arena and was stopped; the bundle's {consts['kGoldenSteps']} "
                                 f"golden steps should take well under a second: check the build")
            runs.append(result.seconds)
            return parse_golden_output(result.output, result.exit_code)

        at_emitted = run(emitted)
        at_capacity = at_emitted if at_emitted.passed else run(capacity)
        arena_min, probes = None, []
        if probe and at_capacity.passed and at_capacity.arena_used_bytes:
            arena_min, probes = search_min_arena(run, at_capacity.arena_used_bytes,
                                                 emitted if at_emitted.passed else capacity)
        sizes = measure_elf(tc, elf)
        # a fused bundle's C step (the last program source) keeps its scratch in its own statics
        step_scratch = (sum(object_ram_symbols(tc, program.stats.objects[len(fused_sources) - 1]).values())
                        if fused_sources else 0)
        model_symbol = next((k for k in sizes.symbols if re.search(r"g_\w+_model_data$", k)), None)
        model_bytes = sizes.symbols[model_symbol] if model_symbol else None
        # the calls of the bundle's step() (mgrade_stream.cc: quantise, invoke, dequantise, state feedback)
        timing = (estimate_for_program(tc, elf, STEP_FUNCTION, memory, model_bytes or 0, (str(emitted),))
                  if cycles else None)
    arena_symbol = sizes.symbol_size("g_arena")
    timed = at_emitted if at_emitted.ticks is not None else at_capacity
    instructions = (ticks_to_instructions(tc, timed.ticks) / timed.steps
                    if timed.ticks is not None and timed.steps else None)
    ram_without_arena = sizes.static_ram - arena_symbol
    # the bundle's own objects outside the arena: the MicroInterpreter, the resolver, state staging
    interpreter_objects = sum(v for k, v in sizes.ram_symbols.items()
                              if k.startswith("mgrade") and "::" in k and not k.endswith("::g_arena"))
    ram_symbols = dict(sorted(((k, v) for k, v in sizes.ram_symbols.items() if v and not k.endswith("g_arena")),
                              key=lambda kv: (-kv[1], kv[0]))[:12])
    return {
        "passed": at_emitted.passed, "cpu": cpu, "kernels": kernels, "tflm_tree": str(tree.root),
        "fused": fused_sources is not None, "dsp": dsp,
        "result_line": at_emitted.line, "exit_code": at_emitted.exit_code,
        "golden_steps": consts["kGoldenSteps"],
        "emitted_arena_bytes": emitted,
        "arena_bytes_min": arena_min,
        "arena_used_bytes": at_capacity.arena_used_bytes,
        "ram_bytes": None if arena_min is None else ram_without_arena + arena_min,
        "interpreter_objects_bytes": interpreter_objects,
        "step_scratch_bytes": step_scratch,
        "model_ram_bytes": None if arena_min is None else arena_min + interpreter_objects + step_scratch,
        "ram_bytes_at_emitted_arena": ram_without_arena + emitted,
        "flash_bytes": sizes.flash,
        "model_flash_bytes": model_bytes,
        "instructions_per_step": None if instructions is None else round(instructions),
        "analytic_min_ram_bytes": _analytic_min_ram(manifest),
        "elf": {"text": sizes.text, "data": sizes.data, "bss": sizes.bss, "static_arena": arena_symbol},
        "largest_ram_symbols": ram_symbols,
        "probes": probes,
        "build": {"compiled": program.stats.compiled, "cached": program.stats.cached,
                  "runs": len(runs), "run_seconds": round(sum(runs), 2)},
        "estimated_cycles": timing and timing["estimated_cycles"],
        "estimated_cycles_model": timing and {k: v for k, v in timing.items() if k != "estimated_cycles"},
        "notes": NOTES,
    }


NOTES = {
    "arena_bytes_min": "smallest arena (16-byte steps) with which the golden check passed, one process or QEMU "
                       "boot per probe",
    "arena_used_bytes": "MicroInterpreter::arena_used_bytes() after init: less than the arena needed (allocation "
                        "uses temporary memory), so not a safe arena size",
    "ram_bytes": "static RAM of the golden program (.data + .bss) with the arena at arena_bytes_min; stack and heap "
                 "not included",
    "interpreter_objects_bytes": "static objects of the bundle's namespace outside the arena (the MicroInterpreter, "
                                 "the op resolver, external-state staging), from the symbol sizes",
    "step_scratch_bytes": "tflm-fused: the C step's static scratch (its object's .bss/.data symbols); 0 otherwise",
    "model_ram_bytes": "arena_bytes_min + interpreter_objects_bytes + step_scratch_bytes: what the model needs, "
                       "without the golden program's C library and start-up data",
    "flash_bytes": "text + data of the whole golden program (TFLite Micro, kernels, C library, model)",
    "instructions_per_step": "guest instructions per step() under QEMU -icount shift=0 (an instruction count, not "
                             "cycles); none on the host",
    "analytic_min_ram_bytes": "state + peak live activations + I/O from the analytic memory model (mgrade-edge "
                              "profile)",
}


def format_board_report(r: dict) -> str:
    lines = [f"board-test {r['cpu']} ({r['kernels']} kernels, {r['tflm_tree']})",
             f"  golden: {'PASSED' if r['passed'] else 'FAILED'} at the emitted arena "
             f"({r['emitted_arena_bytes']:,} bytes): {r['result_line']}",
             f"  arena_bytes_min        {num(r['arena_bytes_min'])}  (probed, {len(r['probes'])} runs)",
             f"  arena_used_bytes       {num(r['arena_used_bytes'])}  (reported after init; not a safe size)",
             f"  ram_bytes              {num(r['ram_bytes'])}  (.data + .bss with the minimum arena)",
             f"  model_ram_bytes        {num(r['model_ram_bytes'])}  (arena + interpreter objects "
             f"{num(r['interpreter_objects_bytes'])}" + (f" + step scratch {num(r['step_scratch_bytes'])}"
                                                         if r["fused"] else "") + ")",
             f"  flash_bytes            {num(r['flash_bytes'])}  (whole program; model {num(r['model_flash_bytes'])})",
             f"  instructions_per_step  {num(r['instructions_per_step'])}"
             + ("  (QEMU -icount instruction count, not cycles)" if r["instructions_per_step"] else ""),
             f"  analytic_min_ram_bytes {num(r['analytic_min_ram_bytes'])}",
             *timing_lines(r),
             f"  build: {r['build']['compiled']} objects compiled, {r['build']['cached']} from the cache; "
             f"{r['build']['runs']} runs in {r['build']['run_seconds']} s"]
    return "\n".join(lines)


def report_fields() -> tuple[str, ...]:
    return tuple(f for f in asdict(GoldenRun(0, False, "", None, None, None, None)))
