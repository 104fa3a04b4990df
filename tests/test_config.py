"""Config validation: every invalid value is a one-line ConfigError naming the field."""

import dataclasses

import pytest

from mgrade_edge.config import MGRADEConfig
from mgrade_edge.errors import ConfigError

INVALID = {
    "d_model": (0, "d_model=0 must be an integer"),
    "kernel_size": (1, "kernel_size=1 must be an integer in [2,"),
    "n_taps": (2.5, "n_taps=2.5"),
    "n_layers": (True, "n_layers=True"),
    "sigma": (0.0, "sigma=0.0 must be a number in (0, 1e4]"),
    "ln_eps": (-1e-6, "ln_eps=-1e-06"),
    "rec_act": ("tanh", "rec_act='tanh' is not one of identity, relu, gelu, sigmoid"),
    "mlp_act": ("swish", "mlp_act='swish' is not one of gelu, relu"),
    "readout": ("max", "readout='max' is not one of mean, last"),
    "conv_ln": ("yes", "conv_ln='yes' must be true or false"),
}


@pytest.mark.parametrize("field", sorted(INVALID))
def test_invalid_values_are_rejected_with_the_field_named(field):
    value, fragment = INVALID[field]
    with pytest.raises(ConfigError) as info:
        MGRADEConfig(**{field: value})
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_round_trip_and_unknown_fields():
    cfg = MGRADEConfig(d_model=13, kernel_size=37, n_taps=5, n_layers=3, conv_ln=True)
    assert MGRADEConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown config field"):
        MGRADEConfig.from_dict({**cfg.to_dict(), "dropout": 0.1})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MGRADEConfig().d_model = 3
