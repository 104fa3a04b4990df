"""`train` options: every block option of the config and --preset reach the model config."""

from click.testing import CliRunner

from mgrade_edge.cli import cli
from mgrade_edge.cli_train import BLOCK_OPTIONS, KEYWORDS_OPTIONS, build_config, pop_config_options
from mgrade_edge.config import MGRADEConfig


def test_every_block_option_of_the_config_is_a_train_option():
    exposed = {field for _, field, _ in BLOCK_OPTIONS}
    sizes = {"d_in", "d_model", "n_layers", "n_classes", "kernel_size", "n_taps"}
    assert exposed == set(MGRADEConfig().to_dict()) - sizes


def test_explicit_options_override_the_preset_and_the_task_sets_inputs():
    cfg = build_config("speech-commands", {"d_model": 16, "rec_act": "relu", "conv_ln": False}, 13, 10)
    assert (cfg.d_model, cfg.rec_act, cfg.conv_ln, cfg.rec_ln, cfg.n_layers, cfg.d_in, cfg.n_classes) == \
        (16, "relu", False, True, 6, 13, 10)


def test_unset_flags_are_not_overrides():
    kwargs = {"preset": None, **{f: None for f in ("d_model", "n_layers", "kernel_size", "n_taps")},
              **{f: None for _, f, _ in BLOCK_OPTIONS},
              **{f: None for _, f, _ in KEYWORDS_OPTIONS}}
    kwargs["sample_rate"], kwargs["cm_ln"] = "16000", True
    assert pop_config_options(kwargs) == (None, {"cm_ln": True}, {"sample_rate": 16000})


def test_keywords_options_on_another_task_are_a_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--task", "digits", "--sample-rate", "8000", "--out",
                                      str(tmp_path / "m.pt")])
    assert result.exit_code == 2 and "--sample-rate applies to --task keywords / wakeword, not digits" in result.output
    assert not (tmp_path / "m.pt").exists()


def test_the_wakeword_option_is_the_wakeword_tasks_own(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--task", "keywords", "--wakeword", "yes", "--out",
                                      str(tmp_path / "m.pt")])
    assert result.exit_code == 2 and "--wakeword applies to --task wakeword, not keywords" in result.output
