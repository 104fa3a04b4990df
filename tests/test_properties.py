"""Property tests: any small valid config streams exactly; any invalid value is a ConfigError."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgrade_edge.config import MGRADEConfig
from mgrade_edge.errors import ConfigError
from mgrade_edge.model import MGRADE
from mgrade_edge.streaming import freeze_delays, stream_sequences, to_streaming

valid_configs = st.builds(
    MGRADEConfig,
    d_in=st.integers(1, 4), d_model=st.integers(1, 12), n_layers=st.integers(1, 3),
    n_classes=st.integers(1, 6), kernel_size=st.integers(2, 20), n_taps=st.integers(1, 6),
    sigma=st.floats(0.2, 3.0), conv_ln=st.booleans(), rec_ln=st.booleans(), rec_dense_out=st.booleans(),
    cm_ln=st.booleans(), rec_act=st.sampled_from(["identity", "relu", "gelu", "sigmoid"]),
    mlp_act=st.sampled_from(["gelu", "relu"]), mlp_ratio=st.integers(1, 3), readout=st.sampled_from(["mean", "last"]),
    encoder_bias=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=valid_configs, seed=st.integers(0, 2**16), mode=st.sampled_from(["dense", "round"]))
def test_streaming_equals_parallel_for_any_valid_config(cfg, seed, mode):
    torch.manual_seed(seed)
    model = freeze_delays(MGRADE(cfg).double(), mode)
    u = torch.randn(1, 3 * cfg.kernel_size + 5, cfg.d_in, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        reference = model(u)
    assert float((stream_sequences(to_streaming(model), u) - reference).abs().max()) < 1e-9


bad_values = st.one_of(
    st.tuples(st.just("d_model"), st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3))),
    st.tuples(st.just("kernel_size"), st.integers(max_value=1)),
    st.tuples(st.just("n_taps"), st.integers(max_value=0)),
    st.tuples(st.just("sigma"), st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")))),
    st.tuples(st.just("ln_eps"), st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0))),
    st.tuples(st.just("rec_act"),
              st.text(max_size=6).filter(lambda s: s not in ("identity", "relu", "gelu", "sigmoid"))),
    st.tuples(st.just("readout"), st.text(max_size=6).filter(lambda s: s not in ("mean", "last"))),
    st.tuples(st.just("conv_ln"), st.one_of(st.integers(), st.text(max_size=3))),
)


@settings(max_examples=150, deadline=None)
@given(bad=bad_values)
def test_invalid_configs_raise_the_config_error(bad):
    field, value = bad
    with pytest.raises(ConfigError) as info:
        MGRADEConfig(**{field: value})
    assert field in str(info.value)
