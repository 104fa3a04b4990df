"""The imported model against the authors' own outputs, per step, on A_small, C_gsc and D_extras.

float64: our model (parallel form and streaming step) vs the authors' exact float64 forward
(`out_*_x64_fft64`, their FFT conv without its float32 cast); the authors' softplus cut at 7 is part
of the imported model (softplus_cutoff), so this is the model itself, not an approximation of it.
float32: our float32 model vs the authors' float32 outputs, which carry their float32 FFT and scan error.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mgrade_edge.errors import CheckpointError, UnsupportedModelError, UserError
from mgrade_edge.importers.flax import read_param_tree
from mgrade_edge.importers.flax_map import map_authors_model, read_authors_config
from tests.importers.fixtures import CONFIGS, fixture_dir, orbax_file

F64_ATOL, F32_ATOL = 1e-5, 1e-3
_CACHE: dict = {}


def imported(name: str):
    """(mapped model, tree, args), read once per session."""
    if name not in _CACHE:
        tree = read_param_tree(orbax_file(name))
        args = read_authors_config(fixture_dir(name) / "config.json")
        _CACHE[name] = (map_authors_model(args, tree), tree, args)
    return _CACHE[name]


def build(name: str, dtype):

    from mgrade_edge.model import MGRADE

    mapped = imported(name)[0]
    model = MGRADE(mapped.config).to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in mapped.state_dict.items()})
    return model.eval()


def inputs(name: str, dtype):
    import torch

    return torch.from_numpy(np.load(fixture_dir(name) / "input.npy")).to(dtype)


def reference(name: str, what: str) -> np.ndarray:
    return np.load(fixture_dir(name) / f"out_{what}.npy")


def first_bad_step(got: np.ndarray, ref: np.ndarray, atol: float) -> str:
    err = np.abs(got - ref).max(axis=(0, 2))
    bad = np.flatnonzero(err > atol)
    return "none" if not bad.size else f"step {bad[0]} (error {err[bad[0]]:.3g})"


@pytest.mark.parametrize("name", CONFIGS)
def test_float64_per_step_logits_match_the_authors_exact_forward(name):
    import torch

    from mgrade_edge.streaming import stream_sequences, to_streaming

    model, u = build(name, torch.float64), inputs(name, torch.float64)
    ref = reference(name, "step_logits_x64_fft64")
    with torch.no_grad():
        parallel = model(u).numpy()
    streamed = stream_sequences(to_streaming(model), u).numpy()
    for form, got in (("parallel", parallel), ("streaming", streamed)):
        err = float(np.abs(got - ref).max())
        assert err <= F64_ATOL, f"{name} {form}: max error {err:.3g}, first bad {first_bad_step(got, ref, F64_ATOL)}"


@pytest.mark.parametrize("name", CONFIGS)
def test_float32_per_step_logits_match_the_authors_float32_outputs(name):
    import torch

    from mgrade_edge.streaming import stream_sequences, to_streaming

    model, u = build(name, torch.float32), inputs(name, torch.float32)
    ref = reference(name, "step_logits_f32")
    with torch.no_grad():
        forms = {"parallel": model(u).numpy()}
    if name != "C_gsc":  # C's float64 streaming test already covers its step; this keeps the suite fast
        forms["streaming"] = stream_sequences(to_streaming(model), u).numpy()
    for form, got in forms.items():
        err = float(np.abs(got - ref).max())
        assert err <= F32_ATOL, f"{name} {form}: max error {err:.3g}, first bad {first_bad_step(got, ref, F32_ATOL)}"


@pytest.mark.parametrize("name", CONFIGS)
def test_sequence_logits_match_including_the_masked_mean(name):
    """D is a padded dataset: the authors' readout is the mean over each valid length, which for a
    causal model is our mean readout over the first `length` steps."""
    import torch

    model, u = build(name, torch.float64), inputs(name, torch.float64)
    with torch.no_grad():
        per_step = model(u).numpy()
    lengths_file = fixture_dir(name) / "lengths.npy"
    if lengths_file.is_file():
        got = np.stack([per_step[i, :int(n)].mean(0) for i, n in enumerate(np.load(lengths_file))])
    else:
        got = per_step.mean(1)
    err = float(np.abs(got - reference(name, "seq_logits_x64_fft64")).max())
    assert err <= F64_ATOL, f"{name}: sequence logits differ by {err:.3g}"


def test_every_option_the_fixtures_need_is_set():
    """A and C are the spec's model plus the cut; D needs every variant (and is refused without them)."""
    cfg_a, cfg_d = imported("A_small")[0].config, imported("D_extras")[0].config
    assert (cfg_a.sigma_per_tap, cfg_a.positions_to_gamma, cfg_a.softplus_cutoff) == (False, False, 7.0)
    assert abs(cfg_a.sigma - 0.8) < 1e-7
    assert cfg_d.sigma_per_tap and cfg_d.positions_to_gamma and cfg_d.rec_dense_out_relu and cfg_d.layer_skip
    assert (cfg_d.rec_act, cfg_d.compress_act, cfg_d.decoder_bias) == ("relu2", "gelu", False)
    mapped = imported("C_gsc")[0]
    assert mapped.source_values == 412_547  # the README's count of the authors' tree


def test_legacy_msgpack_file_decodes_to_the_same_arrays():
    legacy = read_param_tree(fixture_dir("A_small") / "msgpack" / "checkpoint_0")
    orbax = imported("A_small")[1]
    assert legacy.keys() == orbax.keys()
    assert all(np.array_equal(legacy[k], orbax[k]) for k in orbax)


# (config change, message, kind): a block or value mgrade-edge has no equivalent for is unsupported;
# a config that contradicts its own checkpoint is a bad checkpoint
REFUSED_CONFIGS = [
    ({"channel_mixing": "glu"}, "channel-mixing block 'glu'", UnsupportedModelError),
    ({"delay_type": "synaptic"}, "'synaptic' delay block", UnsupportedModelError),
    ({"conv": "conv"}, "plain dilated depthwise conv", UnsupportedModelError),
    ({"encoder": False}, "without the input encoder", UnsupportedModelError),
    ({"enable_rec": False}, "without its recurrent block", UnsupportedModelError),
    ({"dcls_fft": False}, "non-FFT DCLS path", UnsupportedModelError),
    ({"latent_dim": 4}, "latent_dim=4 != hidden_dim=8", UnsupportedModelError),
    ({"comp_act": "tanh"}, "compression block comp_act='tanh'", UnsupportedModelError),
    ({"rec_act": "tanh"}, "recurrent activation rec_act='tanh'", UnsupportedModelError),
    ({"some_new_switch": True}, "some_new_switch are unknown", UnsupportedModelError),
    # the tree holds a block the config switches off: a block the mapped model would not represent
    ({"cm_ln": False}, "LayerNormCM_0", UnsupportedModelError),
    ({"rec_dense_out": False, "rec_dense_out_act": False}, "DenseRec_0", UnsupportedModelError),
    ({"n_classes": 5}, "n_classes=5 but the checkpoint's weights give 4", CheckpointError),
    ({"kernel_size": 4}, "outside the authors' clamp [0, 4]", CheckpointError),
]


@pytest.mark.parametrize("change,message,kind", REFUSED_CONFIGS, ids=[next(iter(c)) for c, _, _ in REFUSED_CONFIGS])
def test_what_cannot_be_represented_is_refused_naming_the_block(change, message, kind):
    _, tree, args = imported("D_extras")
    with pytest.raises(UserError) as info:
        map_authors_model({**args, **change}, tree)
    text = str(info.value)
    assert message in text and "\n" not in text, text
    assert type(info.value) is kind, type(info.value).__name__


def test_a_config_switching_on_a_block_the_tree_lacks_is_refused():
    _, tree, args = imported("A_small")
    with pytest.raises(CheckpointError, match="lacks parameter LayerNormConv_0/scale"):
        map_authors_model({**args, "conv_ln": True}, tree)


def test_wrong_shapes_are_refused_with_the_parameter_name():
    _, tree, args = imported("A_small")
    bad = dict(tree, **{"MLP_1/Dense_0/kernel": np.zeros((16, 48), np.float32)})
    with pytest.raises(CheckpointError, match=r"MLP_1/Dense_0/kernel has shape \[48, 16\]"):
        map_authors_model(args, bad)


def test_a_uniform_sigma_of_the_wrong_shape_is_refused():
    _, tree, args = imported("A_small")
    bad = dict(tree, **{"DCLSLayer_1/std": np.full((3, 16), 0.8, np.float32)})
    with pytest.raises(CheckpointError, match=r"DCLSLayer_1/std has shape \[3, 16\]"):
        map_authors_model(args, bad)


def test_config_file_errors_are_one_line(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    (tmp_path / "broken.json").write_text("{")
    for name, message in (("list.json", "not an object"), ("broken.json", "not readable JSON"),
                          ("missing.json", "not found")):
        with pytest.raises(CheckpointError, match=message):
            read_authors_config(tmp_path / name)
