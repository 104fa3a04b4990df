"""Measure the TFLite Micro tensor arena a model needs, with the real TFLite Micro interpreter.

Two facts shape this module:
- TFLite Micro reports arena usage only by printing (`print_allocations()`) to the C-level stderr,
  so the child captures file descriptor 2 and parses what it prints.
- A too-small arena can SEGFAULT or abort the process instead of raising, so every probe runs in
  its own child process (`python -m mgrade_edge.export.tflm.arena ...`, which imports only tflite_micro
  and numpy: ~0.25 s per probe).

The minimum is found by binary search over multiples of SEARCH_RESOLUTION bytes: TFLite Micro
aligns every allocation to 16 bytes, so finer steps buy nothing on a 16-byte aligned arena.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ExportError
from ..flatbuffer import n_inputs, root

SEARCH_RESOLUTION = 16
PROBE_WORKERS = 2  # probes run at once while bisecting (child processes; a 2-core machine halves the wait)
INIT_BYTES_PER_TENSOR = 64  # first guess of allocation's temporary memory per tensor (64-bit host: ~53)
# Added to the measured minimum for the arena constant a device build uses. Why 1 KiB:
# - the host build is 64-bit: its TfLiteTensor/TfLiteEvalTensor/node structs are larger than on a
#   32-bit MCU, which errs on the safe side, but optimised kernels (CMSIS-NN, ESP-NN, ...) request
#   scratch buffers (e.g. depthwise conv / fully connected kernel sums) that the reference kernels
#   measured here do not;
# - the measurement uses TFLite Micro's RecordingMicroAllocator (slightly larger than the plain
#   MicroAllocator) but other TFLite Micro versions allocate and align differently;
# - an arena that is not 16-byte aligned loses up to 15 bytes.
# 1 KiB is a stated engineering margin, not a measured bound; re-measure on the target with
# MicroInterpreter::arena_used_bytes() (the generated bundle prints it).
DEFAULT_MARGIN = 1024
PROBE_TIMEOUT_S = 120
RESULT_MARKER = "MGRADE_TFLM_RESULT "
_LINE = re.compile(r"\[RecordingMicroAllocator\]\s*(.*)")
_ARENA = re.compile(r"Arena allocation (\w+) (\d+) bytes")
_TYPE = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead \(requested (\d+) bytes for (\d+) ([^)]*)\)")


@dataclass
class ArenaMeasurement:
    minimum: int  # smallest arena (a multiple of `resolution`) that loaded the model and ran `steps` invokes
    margin: int  # added for device builds, see DEFAULT_MARGIN
    recommended: int  # minimum + margin: the arena constant to emit
    resolution: int  # minimum - resolution failed
    steps: int
    allocations: dict  # parsed print_allocations() at the minimum arena
    probes: list[dict] = field(default_factory=list)  # every (arena, ok) probe, in order

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProbeResult:
    arena: int
    ok: bool
    reports: dict  # step count -> parsed allocations (only when ok)
    error: str  # last meaningful stderr line or signal, when not ok


# ---- parsing ------------------------------------------------------------------------------------

def parse_allocations(text: str) -> dict:
    """Parse RecordingMicroAllocator's printout into numbers.

    head = non-persistent (activations, scratch; planned per invoke), tail = persistent (structs,
    quantisation params, resource variables, kernel op data).
    """
    out: dict = {"types": {}, "lines": []}
    for raw in text.splitlines():
        match = _LINE.search(raw)
        if not match:
            continue
        line = match.group(1).strip()
        out["lines"].append(line)
        if m := _ARENA.search(line):
            out[m.group(1)] = int(m.group(2))
        elif m := _TYPE.search(line):
            out["types"][m.group(1)] = {"used": int(m.group(2)), "requested": int(m.group(3)),
                                        "count": int(m.group(4)), "unit": m.group(5)}
    if "total" not in out:
        raise RuntimeError(f"no arena total in TFLite Micro's allocation printout: {text[-500:]!r}")
    out["non_persistent"] = out.get("head", 0)
    out["persistent"] = out.get("tail", 0)
    return out


def check_tflite_bytes(model_bytes: bytes) -> None:
    """A .tflite flatbuffer carries the file identifier TFL3 at bytes 4..8; anything else is refused."""
    if not isinstance(model_bytes, (bytes, bytearray)) or len(model_bytes) < 8 or bytes(model_bytes[4:8]) != b"TFL3":
        head = bytes(model_bytes[:8]) if isinstance(model_bytes, (bytes, bytearray)) else type(model_bytes).__name__
        raise ExportError(f"not a TFLite flatbuffer (no 'TFL3' identifier; starts with {head!r}); "
                          f"pass the bytes of a .tflite file")


# ---- the child side (imports only tflite_micro and numpy) ----------------------------------------

@contextlib.contextmanager
def capture_fd2():
    """Redirect the C-level stderr into a temp file; yields a callable returning what was written."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        captured = {"text": ""}
        try:
            yield lambda: captured["text"]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured["text"] = tmp.read().decode("utf-8", "replace")


def _zero_inputs(interpreter, model_bytes: bytes) -> list:
    """One zero array per input of subgraph 0 (memory use does not depend on the values)."""

    return [np.zeros(d["shape"], d["dtype"]) for d in map(interpreter.get_input_details, range(n_inputs(model_bytes)))]


def _child_run(model_path: str, arena: int, steps: int, report_at: list[int]) -> dict:
    from tflite_micro import runtime

    model_bytes = Path(model_path).read_bytes()
    interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena)
    reports = {}

    def report(count: int) -> None:
        with capture_fd2() as text:
            interpreter.print_allocations()
        reports[count] = parse_allocations(text())

    if 0 in report_at:
        report(0)
    inputs = _zero_inputs(interpreter, model_bytes)
    for count in range(1, steps + 1):
        for i, value in enumerate(inputs):
            interpreter.set_input(value, i)
        interpreter.invoke()
        if count in report_at:
            report(count)
    return reports


def _child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="one TFLite Micro arena probe (internal)")
    parser.add_argument("model")
    parser.add_argument("--arena", type=int, required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--report-at", default="")
    args = parser.parse_args(argv)
    report_at = sorted({int(s) for s in args.report_at.split(",") if s.strip()} or {args.steps})
    try:
        reports = _child_run(args.model, args.arena, args.steps, report_at)
    except Exception as exc:  # noqa: BLE001 - the parent turns this into a failed probe
        print(RESULT_MARKER + json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(RESULT_MARKER + json.dumps({"ok": True, "reports": reports}), flush=True)
    return 0


# ---- the parent side ----------------------------------------------------------------------------

def _run_child(model_path: Path, arena: int, steps: int, report_at: list[int]) -> ProbeResult:
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "mgrade_edge.export.tflm.arena", str(model_path), "--arena", str(arena),
           "--steps", str(steps), "--report-at", ",".join(map(str, report_at))]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return ProbeResult(arena, False, {}, f"timed out after {PROBE_TIMEOUT_S} s")
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER):])
    if proc.returncode == 0 and result and result["ok"]:
        return ProbeResult(arena, True, {int(k): v for k, v in result["reports"].items()}, "")
    if result and not result["ok"]:
        error = result["error"]
    elif proc.returncode < 0:
        error = f"killed by signal {-proc.returncode}"
    else:
        error = f"exit code {proc.returncode}"
    detail = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith((" ", "Traceback"))]
    if detail:
        error += f" ({detail[-1][:200]})"
    return ProbeResult(arena, False, {}, error)


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


@contextlib.contextmanager
def _model_file(model_bytes: bytes):
    check_tflite_bytes(model_bytes)
    with tempfile.TemporaryDirectory(prefix="mgrade-tflm-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(bytes(model_bytes))
        yield path


def probe_arena(model_bytes: bytes, arena_size: int, steps: int = 3) -> ProbeResult:
    """Load the model with `arena_size` bytes and run `steps` invokes in a child process."""
    with _model_file(model_bytes) as path:
        return _run_child(path, arena_size, steps, [steps])


def measure_min_arena(model_bytes: bytes, steps: int = 3, margin: int = DEFAULT_MARGIN,
                      resolution: int = SEARCH_RESOLUTION, on_probe=None) -> ArenaMeasurement:
    """Smallest arena (multiple of `resolution`) with which TFLite Micro loads the model and runs
    `steps` invokes, plus the recommended arena = minimum + margin and the allocation breakdown.
    on_probe(arena, ok), if given, is called after every probe (progress)."""
    if steps < 1:
        raise ExportError(f"steps={steps} must be >= 1 (the arena must survive at least one invoke)")
    probes: list[dict] = []
    with _model_file(model_bytes) as path:
        def probe(arena: int) -> ProbeResult:
            res = _run_child(path, arena, steps, [steps])
            probes.append({"arena": arena, "ok": res.ok})
            if on_probe is not None:
                on_probe(arena, res.ok)
            return res

        generous = _round_up(max(10 * len(model_bytes), 1 << 20), resolution)
        first = probe(generous)
        if not first.ok:
            raise ExportError(f"TFLite Micro cannot run this model even with a {generous}-byte arena: "
                              f"{first.error}; check the model's ops and types are supported by TFLite Micro")
        total = first.reports[steps]["total"]
        # Below the recorded total nothing fits (the memory plan does not depend on the arena size);
        # the start of the search is still probed, not assumed. Allocation needs temporary memory above
        # the total, about INIT_BYTES_PER_TENSOR per tensor (the planner's per-tensor and per-buffer
        # records): the first upper bound tried.
        lo = max(0, (total // resolution) * resolution - resolution)
        excess = INIT_BYTES_PER_TENSOR * max(1, _tensor_count(model_bytes))
        hi = min(generous, _round_up(total + excess, resolution))
        candidates = [a for a in (lo, hi) if 0 < a < generous]
        results = dict(zip(candidates, _probe_all(probe, candidates)))
        if lo in results and results[lo].ok:
            lo = 0  # smaller than the recorded total worked: search from the bottom
        best = results.get(hi, first)
        while not best.ok:  # the first guess was too small: widen the bracket
            lo, excess = hi, excess * 4
            hi = min(generous, _round_up(total + excess, resolution))
            best = probe(hi) if hi < generous else first
        while hi - lo > resolution:
            # PROBE_WORKERS probes at once split [lo, hi] into PROBE_WORKERS + 1 parts per round
            points = sorted({min(max(_round_up(lo + (hi - lo) * (k + 1) // (PROBE_WORKERS + 1), resolution),
                                     lo + resolution), hi - resolution) for k in range(PROBE_WORKERS)})
            for arena, res in zip(points, _probe_all(probe, points)):
                if res.ok:
                    hi, best = arena, res
                    break
                lo = arena
    return ArenaMeasurement(minimum=hi, margin=int(margin), recommended=hi + int(margin), resolution=resolution,
                            steps=steps, allocations=best.reports[steps], probes=probes)


def _probe_all(probe, arenas: list[int]) -> list[ProbeResult]:
    """Probe several arena sizes at once (each probe is its own child process)."""
    if len(arenas) == 1:
        return [probe(arenas[0])]
    with ThreadPoolExecutor(max_workers=len(arenas)) as pool:
        return list(pool.map(probe, arenas))


def _tensor_count(model_bytes: bytes) -> int:
    model = root(model_bytes)
    return sum(model.Subgraphs(i).TensorsLength() for i in range(model.SubgraphsLength()))


def arena_after_steps(model_bytes: bytes, step_counts: list[int], arena_size: int) -> dict[int, dict]:
    """One interpreter (in a child process) invoked max(step_counts) times; the parsed allocation
    breakdown after each requested count (0 = right after AllocateTensors)."""
    counts = sorted({int(c) for c in step_counts})
    if not counts or counts[0] < 0:
        raise ExportError(f"step counts {list(step_counts)} must be non-negative integers, e.g. [1, 10, 100]")
    with _model_file(model_bytes) as path:
        res = _run_child(path, arena_size, max(counts), counts)
    if not res.ok:
        raise ExportError(f"TFLite Micro failed with a {arena_size}-byte arena: {res.error}; "
                          f"use the arena measured by measure_min_arena")
    return {c: res.reports[c] for c in counts}


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
