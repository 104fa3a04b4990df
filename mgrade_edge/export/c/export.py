"""The `c` target's exporter: one bundle directory from the float generator (c.py) or the integer
generator (c_int.py). Kept apart from both so that neither generator imports the other's caller."""

from __future__ import annotations

from pathlib import Path

from ...errors import ExportError
from .. import cgen, get_target
from ..artifact import ExportResult, TensorInfo
from .audio import audio_cmake, audio_sources, host_fe_memory_bytes
from .generator import (
    C_VARIANTS,
    DSP_NOTE,
    FLOAT_GOLDEN_ATOL,
    QUANT_NOTE,
    WEIGHTS_NOTES,
    bundle_prefix,
    check_supported,
    float_sources,
    golden_arrays,
    golden_inputs,
    render,
    scratch_text,
    torch_outputs,
)
from .int_step import int_sources


def export_c(step, opts, out_dir: Path) -> ExportResult:

    check_supported(step.cfg)
    target = get_target(opts.target)
    precision = C_VARIANTS.get(target.name, target.precision.name)
    if opts.state != "internal":
        raise ExportError(f"target c keeps its state in the state struct (--state internal), not {opts.state!r}")
    p = bundle_prefix(opts.model_name)
    desc = f"{opts.model_name} (c, {precision})"
    inputs = golden_inputs(step, opts)
    if precision == "float32":
        files, facts = float_sources(step, p, desc)
        golden = golden_arrays("float", inputs, torch_outputs(step, inputs), FLOAT_GOLDEN_ATOL)
        variant, out_type, rule = "", "float", f"max abs error <= {FLOAT_GOLDEN_ATOL} vs the float32 torch step"
        tensors = [TensorInfo("x", "input", [1, step.cfg.d_in], "float32"),
                   TensorInfo("y", "output", [1, step.cfg.n_classes], "float32")]
    else:
        files, facts, golden, tensors, _ = int_sources(step, opts.calibration, precision, p, desc, inputs,
                                                    weights=getattr(opts.options, "weights", "int8"))
        variant, out_type, rule = "_q", facts["io_ctype"], "bit-exact vs the integer reference"
    files["main.c"] = render("main.c", banner=cgen.banner(desc), p=p, P=p.upper(), golden_steps=len(inputs),
                             golden_variant=variant, golden_rule=rule, golden_data=golden, out_type=out_type)
    files["README.md"] = render("README.md", banner=cgen.banner(desc, "markdown"), p=p, precision=precision,
                                state_bytes=facts["state_bytes"],
                                scratch_bytes=scratch_text(facts["scratch_bytes"], facts.get("scratch_bytes_helium")),
                                io_bytes=facts["io_bytes"], rows=", ".join(map(str, facts["rows"])),
                                kernel_size=step.cfg.kernel_size, io_type=out_type, variant=variant,
                                quant_note=QUANT_NOTE + DSP_NOTE.format(weights=facts["weights"],
                                                                        other=WEIGHTS_NOTES[facts["weights"]])
                                if variant else "")
    audio = None
    if opts.frontend is not None and opts.frontend.kind == "filterbank":
        audio_files, audio = audio_sources(opts.frontend, p, desc, variant, out_type,
                                           facts.get("x_scale") if variant else None,
                                           host_fe_memory_bytes(opts.frontend))
        files.update(audio_files)
    files.update(cgen.cmake_files(Path(__file__).parent / "templates" / "CMakeLists.txt",
                                  {"DESC": desc, "PREFIX": p, "WEIGHTS": facts.get("weights", "int8"),
                                   "AUDIO": audio_cmake(p) if audio else ""}))
    for name, text in files.items():
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_text(text)
    details = {"c": {"prefix": p, "precision": precision, "sources": [f"{p}.c"], "header": f"{p}.h",
                     "golden_program": "main.c", "step_variant": variant, **facts,
                     **({"audio": audio} if audio else {})}}
    return ExportResult(model_file=f"{p}.c", tensors=tensors, state_handling="internal (state struct in C)",
                        extra_files=sorted(files), details=details,
                        notes=["delay lines are ring buffers trimmed to rows " + ", ".join(map(str, facts["rows"]))])
