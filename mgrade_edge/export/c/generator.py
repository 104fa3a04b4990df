"""The `c` target: a self-contained C99 step (no heap, no interpreter, no C++) generated per model.

    export_c(step, opts, out_dir)   (in c_bundle.py: this module generates the float step and the
                                     layout the integer generator c_int.py shares)

writes mgrade_<name>.h/.c (weights as const data, a state struct, reset and step), main.c (golden
test: recorded inputs and outputs, a rerun that must be bit-identical) and README.md. The step body
is a fixed template (c/templates/*_step.c); only the data, the sizes and the option macros are
generated, so the code a reviewer reads is the code every model runs. Delay lines are true ring
buffers with a head index, trimmed to the last lag whose kernel is non-zero in any channel.
Nothing depends on time or dict order: the same model and options give byte-identical files.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ExportError
from .. import cgen

TEMPLATES = Path(__file__).parent / "templates"
GOLDEN_STEPS = 64
FLOAT_GOLDEN_ATOL = 1e-4  # the float target's tolerance against the torch step
REC_ACTS = ("identity", "relu", "gelu", "sigmoid")
# registry targets whose integer layout differs from their precision's (c_quant.PRECISIONS)
C_VARIANTS = {"c-int8-h8": "int8-h8", "c-int8-h32": "int8-h32", "c-int16x8-h32": "int16x8-h32"}
QUANT_NOTE = ("`step_q` takes and returns quantised values (scales in the header); `step(&state, const float *x, "
              "float *y)` quantises x and returns float logits (y = int32 accumulator * per-class scale). The "
              "integer semantics are defined in mgrade-edge's export/c/fixed.py and reproduced bit for bit.\n")
DSP_NOTE = ("\nOn Cortex-M4/M7/M33/M55 (little-endian, DSP extension) compile with `-DMGRADE_USE_DSP`: the dot "
            "products run on SMLAD, with the same outputs bit for bit. The dense weights are stored as {weights} "
            "({other}).\n")
WEIGHTS_NOTES = {"int8": "`export --weights int16` stores them in 16 bits: about 40% fewer dot-product "
                         "instructions with `-DMGRADE_USE_DSP`, for twice their flash",
                 "int16": "`export --weights int16`: int8 values in 16 bits, for SMLAD without sign-extends; "
                          "the default int8 storage takes half their flash"}
LAYER_FIELDS = ("k0", "kring", "conv_g", "conv_b", "gate_w", "gate_b", "ro_w", "ro_b", "rec_g", "rec_b",
                "mlp_g", "mlp_b", "w1", "b1", "w2", "b2", "cm_g", "cm_b", "post_g", "post_b")


def _np(t) -> np.ndarray:
    return t.detach().to("cpu").double().numpy()


def trimmed_rows(kernel: np.ndarray, zero=0.0) -> int:
    """Delay-line rows a layer needs: the largest lag j >= 1 whose kernel is non-zero in any channel.

    kernel is window-ordered [Γ, d] (row Γ-1 is lag 0). Exact: dropped rows multiply only zeros.
    >>> trimmed_rows(np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 0.0], [1.0, 1.0]]))
    2
    >>> trimmed_rows(np.array([[0.0], [0.0], [3.0]]))
    0
    """
    lag_major = np.asarray(kernel)[::-1]  # row j = lag j
    nonzero = np.nonzero(np.any(lag_major[1:] != zero, axis=1))[0]
    return int(nonzero[-1]) + 1 if len(nonzero) else 0


@dataclass
class FloatLayer:
    rows: int
    arrays: dict[str, np.ndarray]  # LAYER_FIELDS name -> values (absent: option off)


def float_weights(step) -> tuple[dict[str, np.ndarray], list[FloatLayer]]:
    """Every constant of the step in the C layout (Linear weights [out][in], kernels lag-ordered rings)."""
    top = {"enc_w": _np(step.encoder.weight), "dec_w": _np(step.decoder.weight), "dec_b": _np(step.decoder.bias)}
    if step.encoder.bias is not None:
        top["enc_b"] = _np(step.encoder.bias)
    layers = []
    for sl in step.layers:
        b, kernel = sl.block, _np(sl.kernel)
        rows = trimmed_rows(kernel)
        gamma = kernel.shape[0]
        a = {"k0": kernel[gamma - 1], "kring": kernel[gamma - 1 - rows:gamma - 1],  # oldest lag first
             "gate_w": _np(b.gru.to_gates.weight), "gate_b": _np(b.gru.to_gates.bias),
             "w1": _np(b.mlp_in.weight), "b1": _np(b.mlp_in.bias), "w2": _np(b.mlp_out.weight),
             "b2": _np(b.mlp_out.bias)}
        for key, ln in (("conv", b.conv_ln), ("rec", b.rec_ln), ("mlp", b.mlp_ln), ("cm", b.cm_ln),
                        ("post", b.post_ln)):
            if ln is not None:
                a[f"{key}_g"], a[f"{key}_b"] = _np(ln.weight), _np(ln.bias)
        if b.rec_out is not None:
            a["ro_w"], a["ro_b"] = _np(b.rec_out.weight), _np(b.rec_out.bias)
        layers.append(FloatLayer(rows, a))
    return top, layers


def option_macros(cfg) -> str:
    lines = [f"#define REC_ACT_{n.upper()} {i}" for i, n in enumerate(REC_ACTS)]
    lines += [f"#define REC_ACT REC_ACT_{cfg.rec_act.upper()}",
              f"#define CONV_LN {int(cfg.conv_ln)}", f"#define REC_LN {int(cfg.rec_ln)}",
              f"#define CM_LN {int(cfg.cm_ln)}", f"#define REC_DENSE_OUT {int(cfg.rec_dense_out)}",
              f"#define MLP_ACT_GELU {int(cfg.mlp_act == 'gelu')}"]
    return "\n".join(lines) + "\n"


def size_macros(cfg, ring_values: int, scratch_values: int) -> str:
    return (f"#define D_IN {cfg.d_in}\n#define D {cfg.d_model}\n#define R {cfg.mlp_hidden}\n"
            f"#define N_CLASSES {cfg.n_classes}\n#define N_LAYERS {cfg.n_layers}\n"
            f"#define RING_VALUES {max(ring_values, 1)}\n#define SCRATCH_VALUES {scratch_values}\n"
            f"#define LN_EPS {cgen.c_float(cfg.ln_eps)}\n")


def scratch_values(cfg) -> int:
    """X[d] + V[d] + M[r]; x and y alias V..M, which grows only if they do not fit there."""
    d, r = cfg.d_model, cfg.mlp_hidden
    return 2 * d + r + max(0, cfg.d_in - (d + r), cfg.n_classes - (d + r))


def layer_struct(fields: list[tuple[str, str]], kind: str) -> str:
    """typedef of the per-layer constant record (pointers into flash, 0 for options that are off)."""
    body = "\n".join(f"  {ctype} {name};" for name, ctype in fields)
    return f"typedef struct {{\n{body}\n}} layer_params;  /* {kind} */\n"


def render(template: str, **values) -> str:
    return string.Template((TEMPLATES / template).read_text()).substitute(**values)


def scratch_text(scratch_bytes: int, scratch_helium: int | None = None) -> str:
    """"N bytes", and the Helium build's figure where its int8 slots make it smaller."""
    return f"{scratch_bytes} bytes" + (f" ({scratch_helium} in a Helium build: int8 slots)"
                                       if scratch_helium not in (None, scratch_bytes) else "")


def header_text(p: str, desc: str, precision: str, cfg, ring_type: str, ring_len: int, h_type: str,
                state_bytes: int, scratch_bytes: int, io_type: str, extra_decls: str = "",
                scratch_helium: int | None = None) -> str:
    scratch = scratch_text(scratch_bytes, scratch_helium)
    return render("header.h", banner=cgen.banner(desc), GUARD=cgen.header_guard(p, "h"), p=p, P=p.upper(),
                  precision=precision, model_desc=desc, d_in=cfg.d_in, n_classes=cfg.n_classes,
                  ring_type=ring_type, ring_len=max(ring_len, 1), h_type=h_type, h_len=cfg.n_layers * cfg.d_model,
                  n_layers=cfg.n_layers, state_bytes=state_bytes, scratch_bytes=scratch,
                  io_type=io_type, extra_decls=extra_decls)


def float_sources(step, p: str, desc: str) -> tuple[dict[str, str], dict]:
    cfg = step.cfg
    top, layers = float_weights(step)
    offsets, total = [], 0
    for layer in layers:
        offsets.append(total)
        total += layer.rows * cfg.d_model
    data = []
    for name in ("enc_w", "enc_b", "dec_w", "dec_b"):
        if name in top:
            data.append(cgen.c_array(name, "float", top[name].reshape(-1), modifiers="static const"))
    inits = []
    for i, layer in enumerate(layers):
        ptrs = []
        for f in LAYER_FIELDS:
            values = layer.arrays.get(f)
            if values is None or values.size == 0:
                ptrs.append("0")
                continue
            data.append(cgen.c_array(f"L{i}_{f}", "float", values.reshape(-1), modifiers="static const"))
            ptrs.append(f"L{i}_{f}")
        inits.append(f"  {{{layer.rows}u, {offsets[i]}u, " + ", ".join(ptrs) + "}")
    fields = [("rows", "unsigned"), ("ring_offset", "unsigned")] + [(f, "const float *") for f in LAYER_FIELDS]
    scratch = scratch_values(cfg)
    state_bytes = 4 * max(total, 1) + 4 * cfg.n_layers * cfg.d_model + 2 * cfg.n_layers
    state_bytes += (-state_bytes) % 4
    source = "".join([
        cgen.banner(desc), f'#include "{p}.h"\n\n#include <math.h>\n\n',
        f"#define API(name) {p}_##name\n", size_macros(cfg, total, scratch), option_macros(cfg), "\n",
        layer_struct(fields, "float32"), "\n", "\n".join(data), "\n",
        f"#define ENC_W enc_w\n#define ENC_B {'enc_b' if 'enc_b' in top else '0'}\n#define DEC_W dec_w\n"
        f"#define DEC_B dec_b\n",
        "static const layer_params LAYERS[N_LAYERS] = {\n" + ",\n".join(inits) + "\n};\n\n",
        (TEMPLATES / "float_step.c").read_text()])
    header = header_text(p, desc, "float32", cfg, "float", total, "float", state_bytes, 4 * scratch, "float")
    facts = {"rows": [layer.rows for layer in layers], "ring_values": total, "scratch_bytes": 4 * scratch,
             "state_bytes": state_bytes, "io_bytes": 4 * (cfg.d_in + cfg.n_classes)}
    return {f"{p}.h": header, f"{p}.c": source}, facts


def golden_arrays(ctype: str, inputs: np.ndarray, outputs: np.ndarray, tolerance: float) -> str:
    return (f"#define GOLDEN_STEPS {len(inputs)}\n#define GOLDEN_TOLERANCE {tolerance!r}\n"
            + cgen.c_array("kGoldenInput", "float", inputs.reshape(-1), modifiers="static const")
            + cgen.c_array("kGoldenOutput", ctype, outputs.reshape(-1), modifiers="static const"))


def golden_inputs(step, opts) -> np.ndarray:
    """Real inputs when the export has calibration streams, else seeded noise (documented in the README)."""
    cal = opts.calibration
    if cal is not None:
        return np.concatenate(cal.streams)[:GOLDEN_STEPS].astype(np.float32)
    rng = np.random.default_rng(0)
    return rng.normal(size=(GOLDEN_STEPS, step.cfg.d_in)).astype(np.float32)


def torch_outputs(step, inputs: np.ndarray) -> np.ndarray:
    """The float32 step's per-step outputs [T, C] on one stream (the reference the golden records)."""
    import torch

    from ...streaming import stream_sequences

    with torch.no_grad():
        u = torch.as_tensor(np.asarray(inputs, np.float32))[None]
        return stream_sequences(step.to(torch.float32).eval(), u)[0].numpy()


# Model variants of the authors' code (config.py) the C step does not implement, with their spec values.
UNSUPPORTED_VARIANTS = {"rec_dense_out_relu": False, "compress_act": "none", "layer_skip": False,
                        "element_skip": True, "postnorm": True, "decoder_bias": True, "softplus_cutoff": None}


def check_supported(cfg) -> None:
    """One-line refusal of configurations the C templates do not compute."""
    bad = [f"{k}={getattr(cfg, k, v)!r}" for k, v in UNSUPPORTED_VARIANTS.items() if getattr(cfg, k, v) != v]
    if cfg.rec_act not in REC_ACTS:
        bad.append(f"rec_act={cfg.rec_act!r}")
    if bad:
        raise ExportError(f"target c does not implement {', '.join(bad)}; export this model with --target tflite-int8 "
                          f"or tflm instead")


def bundle_prefix(model_name: str) -> str:
    return cgen.check_identifier("mgrade_" + cgen.c_identifier(model_name))
