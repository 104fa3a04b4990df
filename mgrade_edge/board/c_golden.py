"""`mgrade-edge board-test` for a `--target c` bundle: its golden program (main.c + the generated
step) built with the board layer and run on the host or bare metal under QEMU, with the step's RAM
measured from the linked program.

    report = board_test_c("digits_c", cpu="cortex-m4", dsp=False)
    print(format_c_board_report(report))

What is measured, and how:
- passed: the golden program's PASS line and exit code 0 (every output equal to the one the export
  recorded: the Python integer mirror's for the quantised variants, the float torch step's within a
  tolerance for float32), and, for the integer variants, the FNV-1a hash of all outputs equal to the
  hash of the recorded outputs, recomputed here from main.c: so equal hashes on two CPUs mean
  bit-identical outputs.
- ram_bytes = state + scratch + I/O + stack: g_state (main.c), every RAM symbol (.data/.bss) of the
  step's own object, g_io_x + g_io_y (main.c), all sized from the linked ELF's symbol table, plus the
  stack high-water of the step found by stack painting in main.c (argv[1] steps).
- flash: the step object's code + constant data (what a firmware adds), and the whole program's.
- instructions_per_step: SysTick ticks around each step call of the first golden pass under QEMU
  -icount shift=0, converted to guest instructions: an instruction count, not cycles.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import MGRADEConfig
from ..errors import ArtifactError
from ..jsonutil import thousands as num
from ..manifest import read_manifest
from ..targets import TARGETS
from .boards import timing_lines
from .build import SourceSet, cache_root, compile_command, first_error, measure_elf
from .cycles.estimate import NO_WAIT_STATES, estimate_for_program
from .cycles.timing import MemoryModel
from .program import Program, ProgramSpec, build_program
from .run import RUN_TIMEOUT_S, golden_result, run_program, ticks_to_instructions
from .toolchain import CPUS, BoardError, Toolchain, get_cpu

STATE_SYMBOL = "g_state"
IO_SYMBOLS = ("g_io_x", "g_io_y")
DSP_DEFINE = "MGRADE_USE_DSP"
BLOCK_PAIRS_DEFINE = "MGRADE_BLOCK_PAIRS"
MVE_DEFINE = "MGRADE_USE_MVE"
STACK_PAINT_DEFINE = "MGRADE_STACK_PAINT_BYTES"
_HASH = re.compile(r"output hash ([0-9a-f]{8})")
_TICKS = re.compile(r"^ticks (\d+) for (\d+) steps", re.M)
_BLOCK = re.compile(r"^block: (\d+) steps in calls of (\d+), output hash ([0-9a-f]{8}), (\w+)", re.M)
_BLOCK_TICKS = re.compile(r"^block ticks (\d+) for (\d+) steps", re.M)
_STACK = re.compile(r"^stack: (\d+) bytes high-water over (\d+) steps \((\d+) bytes painted\)", re.M)
_STACK_OVER = re.compile(r"^stack: more than the (\d+) painted bytes over (\d+) steps", re.M)
_GOLDEN_OUTPUT = re.compile(r"static const (\w+) kGoldenOutput\[(\d+)\] = \{([^}]*)\};")
CTYPES = {"int8_t": np.int8, "int16_t": np.int16, "float": np.float32}


@dataclass
class CGoldenRun:
    exit_code: int
    passed: bool
    line: str  # the PASS/FAIL line, or the last line printed
    output_hash: str | None
    ticks: int | None  # SysTick ticks inside the step calls of the first pass (bare metal)
    timed_steps: int | None
    stack_bytes: int | None  # painted high-water; None if not printed or the painted region was exceeded
    stack_steps: int | None
    stack_painted_bytes: int | None
    block_steps: int | None = None  # steps per step_block call of the block pass
    block_identical: bool | None = None  # its outputs hash as the step by step pass's
    block_ticks: int | None = None  # SysTick ticks inside its step_block calls (bare metal)


def parse_c_golden_output(text: str, exit_code: int) -> CGoldenRun:
    """The golden program's result. Passing needs both the PASS line and exit code 0."""
    passed, line = golden_result(text, exit_code)
    h, ticks, stack = _HASH.search(line), _TICKS.search(text), _STACK.search(text)
    over = _STACK_OVER.search(text)
    block, block_ticks = _BLOCK.search(text), _BLOCK_TICKS.search(text)
    return CGoldenRun(exit_code, passed, line,
                      h.group(1) if h else None,
                      int(ticks.group(1)) if ticks else None, int(ticks.group(2)) if ticks else None,
                      int(stack.group(1)) if stack else None,
                      int(stack.group(2)) if stack else (int(over.group(2)) if over else None),
                      int(stack.group(3)) if stack else (int(over.group(1)) if over else None),
                      int(block.group(2)) if block else None, block.group(4) == "identical" if block else None,
                      int(block_ticks.group(1)) if block_ticks else None)


def fnv1a(data: bytes) -> str:
    """The golden program's hash (32-bit FNV-1a), as it prints it."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def expected_output_hash(bundle: Path) -> str | None:
    """Hash of the outputs main.c embeds (recorded at export), or None for float bundles: their
    outputs are checked within a tolerance, so their bytes may differ from the recording."""
    m = _GOLDEN_OUTPUT.search((Path(bundle) / "main.c").read_text())
    if m is None or m.group(1) not in CTYPES:
        raise BoardError(f"{bundle}/main.c has no kGoldenOutput array; re-export the bundle with "
                         f"mgrade-edge export MODEL --target c --out {bundle}")
    if m.group(1) == "float":
        return None
    values = np.array([int(v) for v in m.group(3).replace("\n", " ").split(",") if v.strip()],
                      dtype=CTYPES[m.group(1)])
    if values.size != int(m.group(2)):
        raise BoardError(f"{bundle}/main.c: kGoldenOutput has {values.size} values, declares {m.group(2)}")
    return fnv1a(values.astype(values.dtype.newbyteorder("<")).tobytes())


def c_bundle_facts(bundle: Path) -> dict:
    """The manifest's c details (prefix, sources, planned sizes), checked by the manifest reader (types,
    paths inside the bundle), or a one-line error naming the fix."""
    bundle = Path(bundle)
    how = f"create one with mgrade-edge export MODEL --target c --out {bundle}"
    m = read_manifest(bundle)
    if TARGETS[m["target"]].board != "c":
        raise BoardError(f"{bundle} is a {m['target']} bundle, not a c-target bundle; {how}")
    facts = m["details"]["c"]
    missing = [f for f in ("main.c", facts["header"], *facts["sources"]) if not (bundle / f).is_file()]
    if missing:
        raise BoardError(f"{bundle} lacks {', '.join(missing)}; {how}")
    return {**facts, "target": m.get("target"), "config": m.get("config")}


def is_c_bundle(bundle: Path) -> bool:
    """True for a bundle whose target board-test builds as the C step (a tflm-fused bundle runs under TFLite Micro)."""
    try:
        return TARGETS[read_manifest(bundle)["target"]].board == "c"
    except ArtifactError:
        return False


def golden_defines(cpu, dsp: bool = False) -> tuple[str, ...]:
    """main.c's defines on `cpu`: its counter and stack painting depth on bare metal, the DSP dot product."""
    board = ("MGRADE_SYSTICK", f"MGRADE_STACK_PAINT_BYTES={cpu.stack_paint_bytes}") if cpu.bare_metal else ()
    return board + ((DSP_DEFINE,) if dsp else ())


def c_program_spec(bundle: Path, facts: dict, cpu, dsp: bool = False, defines: tuple[str, ...] = (),
                   flags: tuple[str, ...] = ()) -> ProgramSpec:
    """main.c and the step source, compiled together (the step object is the program's second);
    `flags` are added after the board build's own (e.g. -O3 to override its -O2)."""
    defines = golden_defines(cpu, dsp) + tuple(defines)
    sources = (bundle / "main.c", *(bundle / s for s in facts["sources"]))
    return ProgramSpec((SourceSet(sources, (bundle,), defines, tuple(flags)),),
                       name=f"golden_{cpu.name}{'_dsp' if dsp else ''}{''.join(flags)}")


def kernels_label(dsp: bool, defines: tuple[str, ...]) -> str:
    return "helium" if MVE_DEFINE in defines else ("arm-dsp" if dsp else "portable-c")


def mve_defines(cpu, mve: bool | None) -> tuple[str, ...]:
    """The Helium build's define: by default on every core with MVE (--no-mve: the scalar/DSP build)."""
    if mve is None:
        mve = cpu.mve
    if mve and not cpu.mve:
        with_mve = ", ".join(name for name, spec in CPUS.items() if spec.mve)
        raise BoardError(f"--mve needs a core with Helium ({with_mve}), not {cpu.name}")
    return (MVE_DEFINE,) if mve else ()


def check_dsp(cpu, dsp: bool) -> None:
    """--dsp (c and tflm-fused bundles alike) needs a core with the Arm DSP instructions."""
    if dsp and not cpu.dsp:
        with_dsp = ", ".join(name for name, spec in CPUS.items() if spec.dsp)
        raise BoardError(f"--dsp uses the Arm DSP instructions (SMLAD); it needs a --cpu with them ({with_dsp}), "
                         f"not {cpu.name}")


def build_c_golden(bundle: Path, cpu: str, out_dir: Path, dsp: bool = False, defines: tuple[str, ...] = (),
                   facts: dict | None = None, flags: tuple[str, ...] = ()) -> tuple[Program, dict]:
    """The golden program of `bundle` for `cpu`; `facts`: the export's c details when the bundle has no
    manifest yet (the profiler's)."""
    spec_cpu = get_cpu(cpu)
    check_dsp(spec_cpu, dsp)
    facts = facts or c_bundle_facts(bundle)
    program = build_program(spec_cpu, c_program_spec(Path(bundle), facts, spec_cpu, dsp, defines, flags), out_dir)
    return program, facts


def run_c_golden(program: Program, stack_steps: int | None = None) -> CGoldenRun:
    result = run_program(program.toolchain, program.elf, () if stack_steps is None else (str(stack_steps),))
    if result.timed_out:  # a run that never finished says nothing about the model: not a golden FAIL
        raise BoardError(f"the golden program ran longer than {RUN_TIMEOUT_S} s on {program.toolchain.cpu.name} "
                         f"({stack_steps or 'the golden'} stack steps) and was stopped; pass fewer --stack-steps")
    return parse_c_golden_output(result.output, result.exit_code)


def step_object(program: Program) -> Path:
    """The compiled step source: the object after main.c's (c_program_spec's order)."""
    return program.stats.objects[1]


def object_ram_symbols(tc: Toolchain, obj: Path) -> dict[str, int]:
    """name -> size of every data object an object defines in .data* or .bss* (its static RAM).
    nm's System V format names each symbol's section: the host's position-independent constants
    that hold pointers sit in .data.rel.ro (read-only after relocation, typed 'd'), and are not RAM
    the step writes, so they count as constants."""
    out = subprocess.run([tc.nm, "-S", "--format=sysv", str(obj)], capture_output=True, text=True,
                         check=True).stdout
    ram = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) != 7 or cells[3] != "OBJECT" or not cells[4]:
            continue
        section = cells[6]
        if section.startswith((".bss", ".data")) and not section.startswith(".data.rel.ro"):
            ram[cells[0]] = int(cells[4], 16)
    return ram


def object_flash(tc: Toolchain, obj: Path) -> dict[str, int]:
    """Code and constant data of an object (`size -A`): .text* and .rodata* / .data.rel.ro* (the host's
    position-independent constants holding pointers, read-only after relocation)."""
    code = const = 0
    for line in subprocess.run([tc.size, "-A", str(obj)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        if parts[0].startswith(".text"):
            code += int(parts[1])
        elif parts[0].startswith((".rodata", ".data.rel.ro")):
            const += int(parts[1])
    return {"code": code, "const": const, "total": code + const}


_CI_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n(\d+) bytes \((\w+(?:,\w+)?)\)"')
_CI_EXTERNAL = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*" shape : ellipse')
_CI_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def static_stack_bound(tc: Toolchain, bundle: Path, facts: dict, defines: tuple[str, ...] = ()) -> dict:
    """The compiler's view of the step's stack: the step source compiled like the program's with
    -fcallgraph-info=su, and the deepest call chain from the step entry point summed (no recursion in
    the step). Functions of other objects (the C library's) have no size there and are listed."""
    entry = f"{facts['prefix']}_step{facts.get('step_variant', '')}"
    source = Path(bundle) / facts["sources"][0]
    with tempfile.TemporaryDirectory(prefix="mgrade-ci-") as tmp:
        obj = Path(tmp) / "step.o"
        cmd = compile_command(tc, source, SourceSet((source,), (Path(bundle),), tuple(defines),
                                                    ("-fcallgraph-info=su",)), obj)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0:
            raise BoardError(f"compiling {source.name} with -fcallgraph-info failed: {first_error(proc.stderr)}")
        text = obj.with_suffix(".ci").read_text()
    sizes = {name: (int(size), kind) for name, size, kind in _CI_NODE.findall(text)}
    external = set(_CI_EXTERNAL.findall(text))
    calls: dict[str, set[str]] = {}
    for src, dst in _CI_EDGE.findall(text):
        calls.setdefault(src, set()).add(dst)
    if entry not in sizes:
        raise BoardError(f"{source.name}: no function {entry} in the compiler's call graph")
    reached_external: set[str] = set()

    def depth(fn: str, seen: frozenset) -> int:
        if fn in external:
            reached_external.add(fn)
        if fn in seen or fn not in sizes:
            return 0
        return sizes[fn][0] + max((depth(c, seen | {fn}) for c in calls.get(fn, ())), default=0)

    bound = depth(entry, frozenset())
    dynamic = sorted(n for n, (_, kind) in sizes.items() if kind != "static")
    return {"entry": entry, "bytes": bound, "external_calls": sorted(reached_external), "dynamic_frames": dynamic}


def measure_ram(program: Program, facts: dict) -> dict:
    """State, scratch and I/O bytes from the linked program's symbol table (scratch: the RAM symbols
    the step object defines, as linked)."""
    tc = program.toolchain
    sizes = measure_elf(tc, program.elf)
    scratch_names = object_ram_symbols(tc, step_object(program))
    linked = {name: sizes.symbol_size(name) for name in scratch_names if name in sizes.symbols}
    return {"state": sizes.symbol_size(STATE_SYMBOL), "scratch": sum(linked.values()),
            "io": sum(sizes.symbol_size(s) for s in IO_SYMBOLS), "scratch_symbols": linked, "elf": sizes}


def planned_ram(facts: dict, kernels: str = "portable-c") -> dict:
    """What the export planned for this build (Helium's int8 slots are smaller; bundles from before
    they existed record one figure)."""
    scratch = facts["scratch_bytes"]
    if kernels == "helium":
        scratch = facts.get("scratch_bytes_helium", scratch)
    return {"state": facts["state_bytes"], "scratch": scratch, "io": facts["io_bytes"]}


def analytic_min_ram(facts: dict) -> int | None:
    if not facts.get("config") or not facts.get("target"):
        return None
    from ..analytic import analytic_profile

    return int(analytic_profile(MGRADEConfig(**facts["config"]), facts["target"])["analytic_min_ram_bytes"])


def board_test_c(bundle: str | Path, cpu: str = "host", dsp: bool = False, stack_steps: int | None = None,
                 defines: tuple[str, ...] = (), flags: tuple[str, ...] = (), cycles: bool = False,
                 memory: MemoryModel = NO_WAIT_STATES) -> dict:
    """Build and run a c bundle's golden program on `cpu`; see the module docstring. Returns a dict
    (JSON-ready) with the fields of the TFLite Micro board test (arena fields None) and the C parts."""
    bundle = Path(bundle)
    facts = c_bundle_facts(bundle)
    expected = expected_output_hash(bundle)
    (cache_root() / "programs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="c-golden-", dir=cache_root() / "programs") as tmp:
        program, facts = build_c_golden(bundle, cpu, Path(tmp), dsp, defines, flags=flags)
        run = run_c_golden(program, stack_steps)
        ram = measure_ram(program, facts)
        flash = object_flash(program.toolchain, step_object(program))
        bound = static_stack_bound(program.toolchain, bundle, facts, c_program_spec(
            bundle, facts, get_cpu(cpu), dsp, defines).groups[0].defines)
        # one more run under the execution trace (one stack step: the golden passes are what is traced)
        timing = estimate_for_program(program.toolchain, program.elf, step_function(facts), memory, flash["const"],
                                      ("1",)) if cycles else None
    sizes = ram.pop("elf")
    tc = program.toolchain
    instructions = (ticks_to_instructions(tc, run.ticks) / run.timed_steps
                    if run.ticks is not None and run.timed_steps else None)
    block_instructions = (ticks_to_instructions(tc, run.block_ticks) / run.timed_steps
                          if run.block_ticks is not None and run.timed_steps else None)
    bit_exact = None if expected is None else run.output_hash == expected
    parts = {"state": ram["state"], "scratch": ram["scratch"], "io": ram["io"], "stack": run.stack_bytes}
    ram_bytes = None if run.stack_bytes is None else sum(parts.values())
    analytic = analytic_min_ram(facts)
    kernels = kernels_label(dsp, defines)
    return {
        "passed": run.passed and bit_exact is not False,
        "cpu": cpu, "target": facts.get("target"), "kernels": kernels,
        "variant": f"{facts['precision']} {facts['prefix']}_step{facts.get('step_variant', '')}",
        "tflm_tree": None, "result_line": run.line, "exit_code": run.exit_code,
        "golden_steps": _golden_steps(bundle),
        "output_hash": run.output_hash, "expected_output_hash": expected, "bit_exact_vs_mirror": bit_exact,
        "emitted_arena_bytes": None, "arena_bytes_min": None, "arena_used_bytes": None,
        "ram_bytes_at_emitted_arena": None,
        "ram_bytes": ram_bytes, "ram_parts": parts, "planned_ram_parts": planned_ram(facts, kernels),
        "scratch_symbols": ram["scratch_symbols"],
        "stack_bytes": run.stack_bytes, "stack_steps": run.stack_steps,
        "stack_painted_bytes": run.stack_painted_bytes, "stack_bytes_static_bound": bound["bytes"],
        "stack_static_bound_external_calls": bound["external_calls"],
        "flash_bytes": sizes.flash, "step_flash_bytes": flash["total"], "model_flash_bytes": flash["const"],
        "step_code_bytes": flash["code"],
        "program_static_ram_bytes": sizes.static_ram,
        "instructions_per_step": None if instructions is None else round(instructions),
        "block_steps": run.block_steps, "block_identical": run.block_identical,
        "block_pairs": BLOCK_PAIRS_DEFINE in defines and bool(facts.get("step_variant")),  # integer steps only
        "instructions_per_step_in_blocks": None if block_instructions is None else round(block_instructions),
        "analytic_min_ram_bytes": analytic,
        "ram_over_minimum": None if ram_bytes is None or not analytic else round(ram_bytes / analytic, 3),
        "elf": {"text": sizes.text, "data": sizes.data, "bss": sizes.bss, "static_arena": None},
        "probes": [],
        "build": {"compiled": program.stats.compiled, "cached": program.stats.cached, "runs": 1},
        "estimated_cycles": timing and timing["estimated_cycles"],
        "estimated_cycles_model": timing and {k: v for k, v in timing.items() if k != "estimated_cycles"},
        "notes": NOTES,
    }


def step_function(facts: dict) -> str:
    """The step function main.c times: <prefix>_step, or <prefix>_step_q for the integer I/O variant."""
    return f"{facts['prefix']}_step{facts.get('step_variant', '')}"


def _golden_steps(bundle: Path) -> int | None:
    m = re.search(r"#define GOLDEN_STEPS (\d+)", (bundle / "main.c").read_text())
    return int(m.group(1)) if m else None


NOTES = {
    "ram_bytes": "state + scratch + I/O (symbol sizes in the linked ELF: g_state, the step object's .data/.bss, "
                 "g_io_x + g_io_y) + the step's stack high-water (stack painting over stack_steps steps); the "
                 "golden harness, C library and start code are not included (program_static_ram_bytes has them)",
    "stack_bytes": "bytes below the caller's stack pointer the step calls overwrote (painted pattern counted from "
                   "the bottom); reserved but never written frame padding is not counted",
    "stack_bytes_static_bound": "deepest call chain of the step in the compiler's -fcallgraph-info=su stack sizes "
                                "(reserved frames); calls into the C library or libgcc "
                                "(stack_static_bound_external_calls, e.g. __aeabi_uldivmod on Cortex-M) are not in "
                                "it, the painted high-water includes them",
    "step_flash_bytes": "code + constant data (.text, .rodata) of the step's object: what a firmware adds",
    "flash_bytes": "text + data of the whole golden program (step, golden data, harness, C library)",
    "instructions_per_step": "guest instructions per step() under QEMU -icount shift=0 (an instruction count, not "
                             "cycles; includes the two SysTick reads around each call); none on the host",
    "instructions_per_step_in_blocks": "the same count per step over the golden inputs through step_block, "
                                       "block_steps steps a call (with block_pairs, two steps through each "
                                       "layer together: -DMGRADE_BLOCK_PAIRS)",
    "block_identical": "the step_block pass gave the step by step pass's outputs (part of passed)",
    "bit_exact_vs_mirror": "the output hash equals the hash of the outputs the export recorded (the Python integer "
                           "mirror); None for float32 bundles (checked within a tolerance)",
    "analytic_min_ram_bytes": "state + peak live activations + I/O from the analytic memory model (mgrade-edge "
                              "profile)",
}


def without_helium(r: dict) -> dict:
    """The parts of a board test of the DSP build that the Helium build's report shows beside its own."""
    return {k: r[k] for k in ("kernels", "passed", "output_hash", "instructions_per_step")}


def helium_lines(r: dict) -> list[str]:
    other = r.get("without_helium")
    if not other:
        return []
    ips, mine = other["instructions_per_step"], r.get("instructions_per_step")
    ratio = f" ({ips / mine:.2f}x the Helium build's)" if ips and mine else ""
    same = "same outputs" if other["output_hash"] == r["output_hash"] else "DIFFERENT outputs"
    return [f"  without Helium         {other['kernels']} build: {num(ips)} instructions per step{ratio}, {same}"
            + ("" if other["passed"] else ", golden FAILED")]


def block_lines(r: dict) -> list[str]:
    """The step_block pass: equal outputs, and its instructions per step against single steps."""
    if r.get("block_steps") is None:
        return []
    how = "pairs of steps through each layer" if r["block_pairs"] else "a loop of steps"
    line = (f"  step_block             {r['block_steps']} steps a call ({how}): outputs "
            f"{'identical to' if r['block_identical'] else 'DIFFERENT from'} step by step")
    per, single = r.get("instructions_per_step_in_blocks"), r.get("instructions_per_step")
    if per and single:
        change = 100 * (single - per) / single
        line += (f"; {per:,} instructions per step ({abs(change):.1f}% {'fewer' if change >= 0 else 'more'} than "
                 f"this build's single steps)")
    return [line]


def format_c_board_report(r: dict) -> str:
    p, plan = r["ram_parts"], r["planned_ram_parts"]
    exact = {True: "bit-exact vs the Python integer mirror", False: "NOT equal to the recorded outputs",
             None: "float32: within the golden tolerance"}[r["bit_exact_vs_mirror"]]
    ratio = f" = {r['ram_over_minimum']:.2f}x the analytic minimum" if r["ram_over_minimum"] else ""
    lines = [f"board-test {r['cpu']} (c target {r['target']}, {r['variant']}, {r['kernels']})",
             f"  golden: {'PASSED' if r['passed'] else 'FAILED'}: {r['result_line']}",
             f"  outputs                hash {r['output_hash']}: {exact}",
             f"  ram_bytes              {num(r['ram_bytes'])} = state {num(p['state'])} + scratch {num(p['scratch'])}"
             f" + I/O {num(p['io'])} + stack {num(p['stack'])}{ratio}",
             f"    planned by export    state {plan['state']:,} + scratch {plan['scratch']:,} + I/O {plan['io']:,}",
             f"    stack                {num(r['stack_bytes'])} high-water over {num(r['stack_steps'])} steps "
             f"(stack painting, {num(r['stack_painted_bytes'])} bytes painted); compiler's bound "
             f"{num(r['stack_bytes_static_bound'])}"
             + (f" + {', '.join(r['stack_static_bound_external_calls'])}" if r["stack_static_bound_external_calls"]
                else ""),
             f"  step_flash_bytes       {num(r['step_flash_bytes'])} (code {num(r['step_code_bytes'])} + constants "
             f"{num(r['model_flash_bytes'])}); whole program {num(r['flash_bytes'])}",
             f"  instructions_per_step  {num(r['instructions_per_step'])}"
             + ("  (QEMU -icount instruction count, not cycles)" if r["instructions_per_step"] else ""),
             *helium_lines(r),
             *block_lines(r),
             f"  analytic_min_ram_bytes {num(r['analytic_min_ram_bytes'])}",
             *timing_lines(r),
             f"  build: {r['build']['compiled']} objects compiled, {r['build']['cached']} from the cache"]
    return "\n".join(lines)
