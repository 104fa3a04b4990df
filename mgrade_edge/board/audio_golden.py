"""board-test of a c bundle's audio path (audio in, a decision per hop out): board/data/audio_main.c
with a recorded segment and the host's outputs for it, built with the bundle's step, its front end
and TensorFlow Lite Micro's signal library (TFLM_DIR), and run on the CPU.

What it reports, per hop: instructions in the front end and in the network (SysTick under QEMU
-icount shift=0), estimated cycles of each (traced: mgrade_fe_compute and the step), RAM (the
<prefix>_audio struct + the step's static scratch + the stack high-water of the whole path) and
flash (front end objects and step object, code + constants), and whether every hop's outputs equal
the host's (integer bundles: exactly; float: within FLOAT_TOLERANCE).
"""

from __future__ import annotations

import re
import string
import tempfile
from pathlib import Path

import numpy as np

from ..frontend.host import tflm_root, to_int16
from ..frontend.sources import include_dirs, signal_sources
from ..frontend.spec import FrontendSpec
from ..manifest import read_manifest
from ..runtime.c_audio import AudioRunner
from ..wakeword_stream.stream import StreamSpec, load_stream
from .build import SourceSet, cache_root, measure_elf
from .c_golden import golden_defines, object_flash, object_ram_symbols
from .cycles.estimate import NO_WAIT_STATES, estimate_for_program
from .program import ProgramSpec, build_program
from .run import RUN_TIMEOUT_S, golden_result, run_program, ticks_to_instructions
from .toolchain import BoardError, get_cpu

DATA = Path(__file__).parent / "data"
SEGMENT_SECONDS = 2.0
FLOAT_TOLERANCE = 1e-3
_TICKS = re.compile(r"^ticks front end (\d+) network (\d+) for (\d+) hops", re.M)
_MEMORY = re.compile(r"^memory: audio struct (\d+) bytes, front end (\d+) bytes \((\d+) kept", re.M)
_STACK = re.compile(r"^stack: (\d+) bytes high-water", re.M)
AUDIO_SYMBOL = "g_audio"


def recorded_segment(front: FrontendSpec, seconds: float = SEGMENT_SECONDS) -> tuple[np.ndarray, str]:
    """`seconds` of the wakeword test stream ending shortly after its first wakeword (eSpeak), or, without
    eSpeak, seeded voiced bursts over noise; and what it is."""
    n = int(seconds * front.sample_rate)
    try:
        stream = load_stream(StreamSpec(minutes=1, wakewords=4, sample_rate=front.sample_rate))
    except Exception as exc:  # noqa: BLE001 - no eSpeak: a synthetic segment still checks the path
        rng = np.random.default_rng(0)
        t = np.arange(n) / front.sample_rate
        voiced = sum(np.sin(2 * np.pi * h * 140 * t) / h for h in range(1, 10)) * np.sin(np.pi * t / seconds) ** 2
        return to_int16(0.3 * voiced + 0.02 * rng.standard_normal(n)), f"synthetic voiced tone ({exc})"
    end = int(stream.wakewords[0, 1] + 0.5 * front.sample_rate)
    start = max(0, end - n)
    return stream.audio[start:start + n], f"{seconds:g} s of the wakeword test stream around its first wakeword"


def c_values(values: np.ndarray, io_type: str) -> str:
    if io_type == "float":  # exact float32 literals: 9 significant digits round-trip
        items = [f"{float(np.float32(v)):.9g}f" for v in values.ravel()]
    else:
        items = [str(int(v)) for v in values.ravel()]
    return ",\n".join("    " + ", ".join(items[i:i + 16]) for i in range(0, len(items), 16))


def write_audio_main(directory: Path, facts: dict, audio: np.ndarray, expected: np.ndarray, io_type: str) -> Path:
    p = facts["prefix"]
    rule = "exactly" if io_type != "float" else f"within {FLOAT_TOLERANCE}"
    text = string.Template((DATA / "audio_main.c").read_text()).substitute(
        p=p, P=p.upper(), samples=len(audio), hops=len(expected), audio=c_values(audio, "int16_t"),
        expected=c_values(expected, io_type), io_type=io_type, rule=rule,
        tolerance=0 if io_type != "float" else FLOAT_TOLERANCE)
    path = directory / "audio_main.c"
    path.write_text(text)
    return path


def board_test_audio(bundle: Path, cpu: str, dsp: bool = False, cycles: bool = False,
                     memory=NO_WAIT_STATES, tflm_dir: str | None = None, defines: tuple[str, ...] = ()) -> dict:
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    facts = manifest["details"]["c"]
    front = FrontendSpec.from_dict(manifest["frontend"])
    io_type = facts.get("io_ctype", "float") if facts.get("step_variant") else "float"
    audio, what = recorded_segment(front)
    expected = AudioRunner(bundle, manifest, tflm_dir).push_raw(audio)
    root = tflm_root(tflm_dir)
    spec_cpu = get_cpu(cpu)
    (cache_root() / "programs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="audio-golden-", dir=cache_root() / "programs") as tmp:
        main = write_audio_main(Path(tmp), facts, audio, expected, io_type)
        includes = (bundle, *include_dirs(root)[1:])
        c_sources = (main, bundle / facts["sources"][0], bundle / facts["audio"]["frontend_sources"][0])
        cc_sources = tuple(bundle / s for s in facts["audio"]["frontend_sources"][1:]) + tuple(signal_sources(root))
        defines = golden_defines(spec_cpu, dsp) + tuple(defines)
        spec = ProgramSpec((SourceSet(c_sources, includes, defines), SourceSet(cc_sources, includes, ())),
                           name=f"audio_{spec_cpu.name}{'_dsp' if dsp else ''}")
        program = build_program(spec_cpu, spec, Path(tmp))
        result = run_program(program.toolchain, program.elf)
        if result.timed_out:
            raise BoardError(f"the audio program ran longer than {RUN_TIMEOUT_S} s on {cpu} and was stopped")
        tc = program.toolchain
        objects = program.stats.objects
        step_obj, fe_objs = objects[1], objects[2:len(c_sources) + len(cc_sources)]
        step_flash = object_flash(tc, step_obj)
        fe_flash = [object_flash(tc, o) for o in fe_objs]
        sizes = measure_elf(tc, program.elf)
        scratch = sum(sizes.symbol_size(n) for n in object_ram_symbols(tc, step_obj) if n in sizes.symbols)
        timing = None
        if cycles:
            fe_timing = estimate_for_program(tc, program.elf, "mgrade_fe_compute", memory, 0.0)
            net_timing = estimate_for_program(tc, program.elf, f"{facts['prefix']}_step{facts.get('step_variant', '')}",
                                              memory, step_flash["const"])
            timing = {"front_end": fe_timing, "network": net_timing}
    passed, line = golden_result(result.output, result.exit_code)
    ticks, mem, stack = _TICKS.search(result.output), _MEMORY.search(result.output), _STACK.search(result.output)
    hops = int(ticks.group(3)) if ticks else len(expected)
    per_hop = None
    if ticks:
        fe_i, net_i = (ticks_to_instructions(tc, int(ticks.group(k))) for k in (1, 2))
        if fe_i is not None:
            per_hop = {"front_end": round(fe_i / hops), "network": round(net_i / hops)}
            per_hop["total"] = per_hop["front_end"] + per_hop["network"]
    struct = sizes.symbol_size(AUDIO_SYMBOL)
    stack_bytes = int(stack.group(1)) if stack else None
    ram = None if stack_bytes is None else struct + scratch + stack_bytes
    cycles_per_hop = None
    if timing and timing["front_end"]["estimated_cycles"] and timing["network"]["estimated_cycles"]:
        cycles_per_hop = {k: timing["front_end"]["estimated_cycles"][k] + timing["network"]["estimated_cycles"][k]
                          for k in ("low", "nominal", "high")}
    return {
        "passed": passed, "result_line": line, "segment": what, "hops": hops, "samples": len(audio),
        "frontend": front.describe(), "steps_per_second": front.steps_per_second,
        "instructions_per_hop": per_hop,
        "estimated_cycles_per_hop": cycles_per_hop,
        "estimated_cycles_parts": None if timing is None else {
            k: v["estimated_cycles"] for k, v in timing.items()},
        "timing_models": None if timing is None else {k: {kk: vv for kk, vv in v.items() if kk != "estimated_cycles"}
                                                      for k, v in timing.items()},
        "ram_bytes": ram, "ram_parts": {"audio_struct": struct, "step_scratch": scratch, "stack": stack_bytes,
                                        "front_end_memory": int(mem.group(2)) if mem else None,
                                        "front_end_kept_between_hops": int(mem.group(3)) if mem else None},
        "flash_bytes": step_flash["total"] + sum(f["total"] for f in fe_flash),
        "flash_parts": {"network": step_flash["total"], "front_end": sum(f["total"] for f in fe_flash)},
        "program_flash_bytes": sizes.flash,
    }


def format_audio_report(a: dict) -> str:
    lines = [f"audio path     {a['frontend']} -> network, {a['steps_per_second']:g} hops/s",
             f"  {a['result_line']}", f"  segment       {a['segment']}, {a['hops']} hops"]
    if a["instructions_per_hop"]:
        i = a["instructions_per_hop"]
        lines.append(f"  instructions  {i['total']:,} per hop = front end {i['front_end']:,} + network "
                     f"{i['network']:,} (QEMU instruction count, not cycles); "
                     f"{i['total'] * a['steps_per_second'] / 1e6:.2f} M per second of audio")
    if a["estimated_cycles_per_hop"]:
        c = a["estimated_cycles_per_hop"]
        lines.append(f"  est. cycles   {c['low']:,.0f} / {c['nominal']:,.0f} / {c['high']:,.0f} per hop "
                     "(low / nominal / high; estimated from the traced instruction stream)")
    r = a["ram_parts"]
    if a["ram_bytes"] is not None:
        lines.append(f"  RAM           {a['ram_bytes']:,} B = audio struct {r['audio_struct']:,} (front end "
                     f"{r['front_end_memory']:,}, of it {r['front_end_kept_between_hops']:,} kept between hops) + "
                     f"step scratch {r['step_scratch']:,} + stack {r['stack']:,}")
    f = a["flash_parts"]
    lines.append(f"  flash         {a['flash_bytes']:,} B = front end {f['front_end']:,} + network {f['network']:,} "
                 "(code + constants of their objects)")
    return "\n".join(lines)
