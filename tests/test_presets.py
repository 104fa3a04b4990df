"""Planning presets: the paper's Speech Commands configuration, the bundled example, untrained checkpoints."""

from pathlib import Path

import pytest
import torch

from mgrade_edge.checkpoint import load_checkpoint
from mgrade_edge.data import TASKS
from mgrade_edge.errors import UserError
from mgrade_edge.presets import PRESET_TASKS, PRESETS, preset_config, write_untrained_checkpoint

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits.pt"


def test_speech_commands_is_the_papers_configuration():
    cfg = preset_config("speech-commands")
    assert (cfg.d_in, cfg.d_model, cfg.n_layers, cfg.kernel_size, cfg.n_taps, cfg.n_classes) == (1, 96, 6, 32, 8, 35)
    assert cfg.conv_ln and cfg.rec_ln and cfg.rec_dense_out


def test_digits_preset_is_the_bundled_examples_config():
    assert preset_config("digits") == load_checkpoint(EXAMPLE).config


def test_every_preset_names_a_known_task_or_none():
    assert set(PRESET_TASKS) == set(PRESETS)
    assert all(task is None or task in TASKS for task in PRESET_TASKS.values())


def test_unknown_preset_lists_the_names():
    with pytest.raises(UserError) as err:
        preset_config("speech")
    message = str(err.value)
    assert "'speech'" in message and all(name in message for name in PRESETS)


@pytest.mark.parametrize("name", ["speech-commands", "digits"])
def test_untrained_checkpoint_loads_with_its_metadata(tmp_path, name):
    path = write_untrained_checkpoint(name, tmp_path / f"{name}.pt", seed=3)
    ckpt = load_checkpoint(path)
    assert ckpt.config == PRESETS[name]
    assert ckpt.metadata["preset"] == name
    assert ckpt.metadata["trained"] is False
    assert ckpt.metadata["seed"] == 3
    assert ckpt.metadata["task"] == ("digits" if name == "digits" else None)


def test_untrained_checkpoint_is_seeded_and_leaves_the_callers_rng_alone(tmp_path):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    path_a = write_untrained_checkpoint("digits", tmp_path / "a.pt", seed=0)
    assert torch.equal(torch.rand(1), expected_next)
    a = load_checkpoint(path_a).model.state_dict()
    b = load_checkpoint(write_untrained_checkpoint("digits", tmp_path / "b.pt", seed=0)).model.state_dict()
    c = load_checkpoint(write_untrained_checkpoint("digits", tmp_path / "c.pt", seed=1)).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
