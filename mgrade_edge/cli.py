"""The `mgrade-edge` command line: a thin click group.

Heavy modules (torch, tensorflow, onnxruntime) are imported inside the commands, so `--help` of the
group and of every subcommand stays instant. A `UserError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .board.audio_golden import board_test_audio, format_audio_report
from .board.boards import BOARDS, board_keys, fit_lines, get_board
from .board.c_golden import BLOCK_PAIRS_DEFINE, board_test_c, format_c_board_report, mve_defines, without_helium
from .board.cycles.estimate import NO_WAIT_STATES
from .board.tflm_golden import board_test as run_board_test
from .board.tflm_golden import format_board_report
from .board.toolchain import CPUS, get_cpu
from .cli_train import build_config, config_options, pop_config_options
from .data import load_task
from .errors import UserError
from .export import (
    cli_target_names,
    families,
    get_target,
    quant_choices,
    resolve_cli_target,
    targets_with,
)
from .export.options import cli_flags, spell_targets
from .export.tflm.any_model import board_test_tflite, format_tflite_report
from .importers import import_flax_checkpoint
from .jsonutil import dumps, json_safe, printable
from .manifest import changed_files, read_manifest
from .pipeline import export_checkpoint
from .presets import preset_config, write_untrained_checkpoint
from .profile.cli import run_profile
from .profile.plot import write_plot
from .runtime import ENGINES
from .safety.bounds import (
    MAX_CALIB_SEQUENCES,
    MAX_CALIB_STEPS,
    MAX_LR,
    MAX_PROFILE_STEPS,
    MAX_SEED,
    MAX_STACK_STEPS,
    MAX_STEPS,
    MAX_WINDOW,
    bounded_int,
    off_or_above_one,
    positive_finite_float,
)
from .safety.outdir import check_output_file
from .safety.signals import Terminated, cleanup_on_termination
from .targets import DEPRECATED_SPELLINGS, TARGETS, resolve_h_bits
from .tasks import AUDIO_DEFAULTS
from .tasks import check_options as check_task_options
from .tasks.npz import data_record, load_npz_task
from .train_log import MetricsLog, plot_curves
from .wakeword_stream.command import run_evaluate_stream
from .wakeword_stream.report import format_report

PROFILE_TARGETS = targets_with(format="tflite", by_quant=False)  # precisions the profiler accounts and measures
# measured from the compiled C step; `c` alone is the family's default precision, as for export
PROFILE_C_TARGETS = {"c": resolve_cli_target("c").name, **{t: t for t in targets_with(format="c")}}

EXIT_OUTSIDE_TOLERANCE = 1
EXIT_USER_ERROR = 2


def user_errors(fn):
    """Turn UserError into `error: <message>` and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mgrade-edge")
def cli():
    """Take trained mGRADE sequence models to microcontrollers.

    Exit codes: 0 success, 1 validation outside the target's tolerance, 2 user error (bad input).
    """


# ---- train ------------------------------------------------------------------------------------

TASK_DEFAULTS = {"digits": {"epochs": 40}, "flipflop": {"epochs": 20}, "lorenz": {"epochs": 20},
                 "keywords": {"epochs": 10}, "spoken-digits": {"epochs": 30}, "wakeword": {"epochs": 20}}
USER_DATA_EPOCHS = 20  # train --data


@cli.command()
@click.option("--task", type=click.Choice(list(TASK_DEFAULTS)), default="digits", show_default=True)
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Train on your own .npz instead of a bundled task: x [N, T, d_in] float, y [N] or [N, T] class "
                   "ids or [N, T, d_out] targets, optional split (docs/workloads.md).")
@click.option("--val-fraction", type=float, default=0.1, show_default=True,
              help="--data without a split: the share of sequences that validate (and are the test set).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Checkpoint to write.")
@click.option("--epochs", type=int, callback=bounded_int(1, 100_000),
              help="Default: 40 digits, 30 spoken-digits, 10 keywords, 20 otherwise (and for --data).")
@click.option("--seed", type=int, default=0, show_default=True, callback=bounded_int(0, MAX_SEED))
@click.option("--lr", type=float, default=3e-3, show_default=True, callback=positive_finite_float(MAX_LR))
@click.option("--batch-size", type=int, default=32, show_default=True, callback=bounded_int(1, 100_000))
@click.option("--init-chrono", "chrono_tau_max", type=float, default=0.0, callback=off_or_above_one(1e9),
              help="z-gate time constants log-uniform in [1, TAU_MAX] steps at the start (0: off).")
@click.option("--init-encoder-gain", "encoder_gain", type=float, default=1.0, show_default=True,
              callback=positive_finite_float(1e6), help="Multiply the encoder's initial weights.")
@click.option("--force", is_flag=True, help="Overwrite an existing checkpoint.")
@click.option("--checkpoint-every", type=int, default=0, callback=bounded_int(0, 100_000),
              help="Write a resumable training state (OUT.state.pt) every N epochs; Ctrl-C, SIGTERM and SIGHUP "
                   "always write one at the next step.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where training runs: auto picks CUDA when present, else Apple's MPS, else the CPU (the CPU is "
                   "deterministic with --seed; resume is bit-exact there).")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16: the forward pass under torch.autocast in bfloat16 (the minGRU scan stays float32); the "
                   "checkpoint is float32 either way.")
@click.option("--patience", type=int, default=0, callback=bounded_int(0, 100_000),
              help="Stop after P epochs without a better validation score and keep the best epoch's weights (0: off).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the learning curves (loss, validation metrics per epoch) to this PNG.")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Continue the run that wrote this training state (same options): the same final weights as "
                   "an uninterrupted run on the CPU.")
@config_options
@user_errors
def train(task, data, val_fraction, out, epochs, seed, lr, batch_size, chrono_tau_max, encoder_gain, force,
          checkpoint_every, device, precision, patience, plot, resume, **options):
    """Train an mGRADE model on a bundled or generated task and write a checkpoint.

    Example: mgrade-edge train --task digits --out model.pt;
    mgrade-edge train --task keywords --sample-rate 8000 --out kw.pt
    """

    preset, overrides, task_options = pop_config_options(options)
    if data is not None and task_options:
        raise UserError(f"--{next(iter(task_options)).replace('_', '-')} is an option of the generated tasks; "
                        "--data brings its own data")
    check_task_options(task, task_options)
    check_output_file(out, force)  # before training, not after
    build_config(preset, overrides, 1, 2)  # option ranges, before the data is loaded or generated
    from .checkpoint import save_checkpoint
    from .train import Interrupted, TrainOptions, load_train_state, resolve_device, save_train_state, train_model

    user_data = data
    if user_data is not None:
        if click.get_current_context().get_parameter_source("task") != click.core.ParameterSource.DEFAULT:
            raise UserError("--data replaces --task; pass one of them")
        data = load_npz_task(user_data, val_fraction, seed)
    else:
        data = load_task(task, seed, task_options)
    cfg = build_config(preset, overrides, data.d_in, data.n_outputs)
    default_epochs = TASK_DEFAULTS[task]["epochs"] if user_data is None else USER_DATA_EPOCHS
    opts = TrainOptions(epochs=epochs or default_epochs, lr=lr, batch_size=batch_size, seed=seed,
                        chrono_tau_max=chrono_tau_max, encoder_gain=encoder_gain, checkpoint_every=checkpoint_every,
                        patience=patience, device=resolve_device(device), precision=precision)
    from . import distributed  # imports torch

    state_path = out.with_name(out.name + ".state.pt")
    group = distributed.from_environment(opts.device)  # one process unless started by torchrun
    log = MetricsLog(out, resume is not None) if group.writer else None
    try:
        model, metadata = train_model(data, cfg, opts, load_train_state(resume) if resume else None,
                                      lambda state: save_train_state(state_path, state), log, group)
    except Interrupted as stop:
        if group.writer:
            click.echo(f"interrupted: training state saved to {state_path}; continue with the same command and "
                       f"--resume {state_path}", err=True)
        sys.exit(128 + stop.signum)
    finally:
        distributed.shutdown(group)
    if not group.writer:
        return  # rank 0 writes the checkpoint
    if group.world > 1:
        metadata["processes"] = group.world
    if user_data is not None:
        metadata["data"] = data_record(user_data, data, val_fraction)
    import torch

    if not all(torch.isfinite(p).all() for p in model.parameters()):
        log.remove()
        raise UserError(f"training diverged (NaN/Inf weights) with --lr {lr}; nothing written, retry with a lower --lr")
    if user_data is None and (task_options or task in AUDIO_DEFAULTS):
        metadata["task_options"] = task_options
    if preset is not None:
        metadata["preset"] = preset
    metadata["split"] = {"train": len(data.train_y), "val": len(data.val_y), "test": len(data.test_y),
                         **({"held_out": task_options.get("split", "voice")}
                            if task in AUDIO_DEFAULTS and user_data is None else {})}
    save_checkpoint(out, model, metadata)
    state_path.unlink(missing_ok=True)  # the run finished: its own intermediate state is done with
    if plot is not None:
        plot_curves(log.rows(), plot)
    result = {k: v for k, v in metadata.items() if k.startswith("test_")}
    click.echo(f"wrote {out}: {metadata['params']} parameters, {metadata['train_seconds']:.1f} s, "
               + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))


# ---- info -------------------------------------------------------------------------------------

@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def info(path, as_json):
    """Print a checkpoint's config, parameter count, metadata and paper-accounting footprint.

    Example: mgrade-edge info examples/digits.pt --json
    """
    from .checkpoint import load_checkpoint, paper_footprint
    from .model import count_parameters

    ckpt = load_checkpoint(path)
    params = count_parameters(ckpt.model)

    metadata = json_safe({k: v for k, v in ckpt.metadata.items() if k != "val_history"})
    report = {"path": str(path), "config": ckpt.config.to_dict(), "params": params, "metadata": metadata,
              "paper_footprint": paper_footprint(ckpt.config, params)}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"checkpoint  {path}")
    click.echo("config      " + ", ".join(f"{k}={v}" for k, v in report["config"].items()))
    click.echo(f"parameters  {params:,}")
    for key, value in metadata.items():
        click.echo(f"  {printable(key):<14} {printable(value)}")
    fp = report["paper_footprint"]
    click.echo(f"paper footprint: {fp['total_values']:,} values = {params:,} params + {fp['delay_line_values']:,} "
               f"delay-line + {fp['hidden_state_values']:,} hidden (current sample not stored)")


# ---- evaluate ---------------------------------------------------------------------------------

@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def evaluate(path, as_json):
    """Score a checkpoint on its task's test set, parallel and streamed step by step (torch).

    Example: mgrade-edge evaluate examples/digits.pt
    """
    from .evaluate import evaluate_checkpoint

    report = evaluate_checkpoint(path)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    name = report["metric"]
    click.echo(f"{report['task']} test set, {report['sequences']} sequences x {report['steps_per_sequence']} steps")
    click.echo(f"  parallel   {name} {report['parallel'][name]:.4f}")
    click.echo(f"  streaming  {name} {report['streaming'][name]:.4f}   "
               f"(max |streaming - parallel| per step {report['max_abs_err']:.2e})")


@cli.command("evaluate-stream")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--minutes", type=float, default=20.0, show_default=True, help="Length of the generated stream.")
@click.option("--wakewords", type=int, default=50, show_default=True, help="Wakewords in the stream.")
@click.option("--seed", type=int, default=0, show_default=True, callback=bounded_int(0, MAX_SEED),
              help="Which stream (each seed is another, cached after its first use).")
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Detection threshold on the score.")
@click.option("--smooth-ms", type=float, default=0.0, show_default=True,
              help="Average the wakeword probability over this window (causal) before the threshold.")
@click.option("--wakeword", type=str, default=None, help="Without a checkpoint among PATHS: the word (default marvin).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the detection-threshold curves (PNG).")
@click.option("--plot-seconds", type=float, default=0.0,
              help="Also plot the first seconds of the stream: waveform, features, score, ground truth.")
@click.option("--force", is_flag=True, help="Overwrite an existing --plot file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def evaluate_stream(paths, minutes, wakewords, seed, threshold, smooth_ms, wakeword, plot, plot_seconds, force,
                    as_json):
    """Score wakeword detectors on a long generated stream, MLPerf Tiny's streaming wakeword way.

    PATHS: wakeword checkpoints (.pt), exported bundles (a c bundle runs its C step on the host, the
    same integers as the board) and MLPerf's str_ww_ref_model.tflite, all on the same stream, each run
    statefully over the whole of it.

    Example: mgrade-edge evaluate-stream examples/wakeword.pt ../shared/mlperf-tiny/str_ww_ref_model.tflite
    """
    if plot is not None:
        check_output_file(plot, force, "--plot")
    report, _, _ = run_evaluate_stream(list(paths), minutes, wakewords, seed, threshold, wakeword, plot, plot_seconds,
                                       smooth_ms)
    if as_json:
        click.echo(dumps(report))
        return
    click.echo(format_report(report))
    if plot is not None:
        click.echo(f"wrote {plot}")


# ---- export -----------------------------------------------------------------------------------

def target_option_flags(fn):
    """One click option per flag the registered targets' options classes declare (export/options.py); the
    chosen target's class then takes or refuses each given flag."""
    for name, (flag, takers) in reversed(cli_flags().items()):
        kind = click.Choice(flag.choices) if flag.choices else click.Path(path_type=Path)
        fn = click.option(flag.flag, name, type=kind, default=None, envvar=flag.envvar,
                          help=f"{spell_targets(takers)} only: {flag.help}")(fn)
    return fn


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--target", required=True,
              help=" | ".join(n for n in cli_target_names() if n not in DEPRECATED_SPELLINGS))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Artifact directory to create.")
@click.option("--state", type=str, default=None,
              help="external (state tensors are model I/O; default) or internal (resource variables; "
                   "default for tflm).")
@click.option("--quant", type=str, default=None,
              help="; ".join(f"{f} only: {' or '.join(quant_choices(f))} (default {quant_choices(f)[0]})"
                             for f in families()) + ".")
@click.option("--calib", type=click.Path(path_type=Path), default=None,
              help="Calibration inputs, a .npy of shape [N, T, d_in]; default: the checkpoint's task data.")
@click.option("--calib-sequences", type=int, default=8, show_default=True,
              callback=bounded_int(1, MAX_CALIB_SEQUENCES),
              help="Long calibration streams to record, each of concatenated real sequences.")
@click.option("--calib-steps", type=int, default=None, callback=bounded_int(1, MAX_CALIB_STEPS),
              help="Steps in each calibration stream. Default: 1024, or two whole sequences when those are "
                   "longer (every step of a stream is recorded).")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--no-validate", is_flag=True, help="Skip the short validation written into the manifest.")
@target_option_flags
@click.option("--h-bits", type=click.Choice(["8", "16", "32"]), default=None,
              help="quantised c only: bits of the hidden state (default 16; 8 saves d*L bytes, 32 keeps slow "
                   "models' small per-step changes of h; int16x8: 16 or 32).")
@user_errors
def export(path, target, out, state, quant, calib, calib_sequences, calib_steps, force, no_validate, h_bits,
           **target_flags):
    """Export a checkpoint's streaming step to ONNX, TFLite or a TFLite Micro bundle.

    Example: mgrade-edge export examples/digits.pt --target tflite-int8 --out digits_int8
    """

    if target in DEPRECATED_SPELLINGS:
        click.echo(f"note: --target {target} is deprecated and goes in the next release; use "
                   f"{DEPRECATED_SPELLINGS[target]}", err=True)
    target = resolve_h_bits(resolve_cli_target(target, quant), None if h_bits is None else int(h_bits)).name
    if calib is not None and not get_target(target).quantized:
        raise UserError(f"--calib is used by quantised targets only; {target} is float, drop --calib or pick an "
                        f"int8 target")
    context = click.get_current_context()
    from_env = frozenset(name for name in target_flags
                         if context.get_parameter_source(name) == click.core.ParameterSource.ENVIRONMENT)
    manifest = export_checkpoint(path, target, out, state=state, calib_file=calib,
                                 calib_sequences=calib_sequences, calib_steps=calib_steps, force=force,
                                 validate=not no_validate,
                                 options={k: str(v) if isinstance(v, Path) else v for k, v in target_flags.items()},
                                 from_env=from_env)
    click.echo(f"wrote {out}/ ({manifest['target']}, {manifest['state']} state, "
               f"{manifest['model_file']} {manifest['model_bytes']:,} bytes)")
    bundle = manifest["details"].get("tflm")
    if bundle:
        golden = bundle["golden"]
        where = bundle["arena"]["cpu"]
        click.echo(f"  TFLite Micro bundle: arena {bundle['arena']['emitted']:,} bytes (minimum measured on {where} "
                   f"{bundle['arena']['minimum']:,} + margin {bundle['arena']['margin']:,}), flash (model) "
                   f"{bundle['flash']['model_bytes']:,} bytes, state {bundle['state_bytes']:,} bytes, "
                   f"{len(bundle['ops'])} op types")
        if bundle["arena"].get("not_measured_for_cpu"):
            click.echo(f"  note: {bundle['arena']['not_measured_for_cpu']}")
        by = golden["recorded_by"]
        recorder = (f"the {by['tree']} tree (host, reference kernels; the Python wheel differs by at most "
                    f"{by['wheel_vs_tree_max_steps']} steps)" if by["tree"] else f"the {by['engine']}")
        click.echo(f"  golden_io.h: {golden['steps']} steps recorded by {recorder}; rerun after reset reproduces them: "
                   f"{'yes' if golden['reset_reproduces'] else 'NO'}; vs float step: cosine "
                   f"{golden['vs_float_step']['cosine']:.5f}")
    val = manifest.get("validation") or {}
    if "max_abs_err" in val:
        click.echo(f"  quick check vs torch over {val['steps']:,} steps: max abs err {val['max_abs_err']:.3g}"
                   + ("" if val["agreement"] is None else f", agreement {val['agreement']:.2%}")
                   + ("" if val["within_tolerance"] else " -- OUTSIDE the target's tolerance")
                   + "; run `mgrade-edge validate` for the long-stream report")


# ---- validate ---------------------------------------------------------------------------------

@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--steps", type=int, default=10_000, show_default=True,
              help=f"Length of the long stream (at most {MAX_STEPS:,}).")
@click.option("--engine", type=str, default=None, help=" | ".join(ENGINES) + " (default: the target's).")
@click.option("--inputs", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sequences .npy [N, T, d_in] to validate on instead of the checkpoint's task (e.g. imported "
                   "models).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def validate(path, directory, steps, engine, inputs, as_json):
    """Stream an exported artifact and the torch step side by side and report the differences.

    Exit code 1 when the artifact is outside the target's tolerance, 2 for bad input.
    Example: mgrade-edge validate examples/digits.pt digits_int8 --steps 20000
    """
    from .validate import validate_artifact

    report = validate_artifact(path, directory, steps=steps, engine=engine, inputs=inputs)
    if as_json:
        click.echo(dumps(report))
    else:
        from .validate import format_report

        click.echo(format_report(report))
    if not report["within_tolerance"]:
        sys.exit(EXIT_OUTSIDE_TOLERANCE)


# ---- profile / init ---------------------------------------------------------------------------

def int_list(hi: int):
    """A click callback: '1,10,100' -> [1, 10, 100] with every count in [1, hi]; 'none' -> None (skip)."""

    def parse(ctx, param, value):
        if value is None or value.strip().lower() == "none":
            return None
        try:
            items = [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list of integers, e.g. 1,10,100") from None
        if not items or any(not 0 < v <= hi for v in items):
            raise click.BadParameter(f"{value!r}: every count must be an integer in [1, {hi:,}]")
        return items

    return parse


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--preset", type=str, default=None, help="Profile an untrained model of a named configuration "
              "instead of a checkpoint (speech-commands, digits, flipflop, lorenz).")
@click.option("--target", type=str, default="tflite-int8", show_default=True,
              help=" | ".join((*PROFILE_TARGETS, *PROFILE_C_TARGETS)) + ": the precision to account and measure "
                   "(c: the generated C step, c = c-int8).")
@click.option("--state", type=str, default="internal", show_default=True, help="internal | external.")
@click.option("--steps", type=str, default="1,10,100,1000,10000", show_default=True,
              callback=int_list(MAX_PROFILE_STEPS), help="Step counts after which the arena is recorded.")
@click.option("--windows", type=str, default="16,64,256", show_default=True,
              callback=int_list(MAX_WINDOW),
              help="Window lengths for the non-streaming re-inference comparison ('none' to skip).")
@click.option("--no-measure", is_flag=True, help="Analytic numbers only (no export, no TFLite Micro run).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of RAM against sequence length (log axes).")
@click.option("--cpu", type=str, default="host", show_default=True,
              help="c targets: measure the compiled step on this CPU (" + ", ".join(CPUS) + "; "
                   "Cortex-M under QEMU).")
@user_errors
def profile(path, preset, target, state, steps, windows, no_measure, as_json, plot, cpu):
    """RAM per timestep, measured and explained, against the paper's constant-memory claim.

    Examples: mgrade-edge profile examples/digits.pt --plot ram.png;
    mgrade-edge profile --preset speech-commands --no-measure
    """
    if (path is None) == (preset is None):
        raise UserError("pass either a checkpoint PATH or --preset NAME (neither was given)" if path is None else
                        "pass either a checkpoint PATH or --preset NAME, not both")
    target = PROFILE_C_TARGETS.get(target, target)
    if target not in (*PROFILE_TARGETS, *PROFILE_C_TARGETS):
        raise UserError(f"--target {target!r} is not one of {', '.join((*PROFILE_TARGETS, *PROFILE_C_TARGETS))}")
    if plot is not None:
        check_output_file(plot, force=True, what="--plot")

    get_cpu(cpu)  # an unknown CPU is refused before any work
    report = run_profile(path, preset, target, state, steps, windows, not no_measure, cpu)
    if plot is not None:
        write_plot(report, plot)
    if as_json:
        click.echo(dumps(report))
    else:
        from .profile.report import format_report

        click.echo(format_report(report))
    if plot is not None and not as_json:
        click.echo(f"plot written to {plot}")


@cli.command()
@click.option("--preset", type=str, required=True, help="speech-commands | digits | flipflop | lorenz")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True, callback=bounded_int(0, MAX_SEED))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@user_errors
def init(preset, out, seed, force):
    """Write an untrained checkpoint of a named configuration (plan before you train).

    Example: mgrade-edge init --preset speech-commands --out sc.pt
    """

    preset_config(preset)  # a bad name fails before anything else

    check_output_file(out, force)
    from .model import count_parameters

    write_untrained_checkpoint(preset, out, seed)
    from .checkpoint import load_checkpoint

    click.echo(f"wrote {out}: untrained {preset} model, {count_parameters(load_checkpoint(out).model):,} parameters")


# ---- import (the authors' JAX/Flax checkpoints) ------------------------------------------------

@cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The run's merged yaml config as JSON (default: config.json next to PATH or above it).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Checkpoint to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing checkpoint.")
@user_errors
def import_flax(path, config_path, out, force):
    """Import an Orbax or legacy Flax msgpack checkpoint of the authors' JAX code, exactly or not at all.

    Example: mgrade-edge import run/checkpoint_0 --config run/config.json --out model.pt
    """

    meta = import_flax_checkpoint(path, config_path, out, force)
    click.echo(f"wrote {out}: {meta['params']:,} parameters from {meta['source']['path']} "
               f"({meta['source']['format']}, {meta['source_parameter_count']:,} values)")
    for note in meta["import_notes"]:
        click.echo(f"  note: {note}")


# ---- plan -------------------------------------------------------------------------------------

@cli.command("plan")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--d-in", type=int, default=None, callback=bounded_int(1, 100_000), help="Input channels (default 1).")
@click.option("--d-out", type=int, default=None, callback=bounded_int(1, 100_000),
              help="Outputs (classes); default: the preset's, else 10.")
@click.option("--board", "board_name", type=click.Choice(list(BOARDS)), default=None,
              help="The part: its core's cost model, clock, SRAM and flash.")
@click.option("--rate", type=float, default=None, callback=positive_finite_float(1e9),
              help="Steps per second the application needs (with --board): the real-time verdict.")
@click.option("--portable", is_flag=True, help="Plan the portable C step (default: the DSP variant where the core "
                                                "has the DSP extension).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_options
@user_errors
def plan_command(path, d_in, d_out, board_name, rate, portable, as_json, **options):
    """Parameters, MACs, RAM and flash per target, and with --board the estimated cycles and real-time verdict
    of a configuration (or a checkpoint), before training it.

    Example: mgrade-edge plan --d-model 48 --layers 2 --kernel-size 16 --taps 4 --board nrf52840 --rate 100
    """
    from .plan import format_plan, plan

    preset, overrides, task_options = pop_config_options(options)
    if task_options:
        raise UserError(f"--{next(iter(task_options)).replace('_', '-')} is a training option; plan takes the "
                        f"model's options")
    if path is not None:
        if overrides or preset or d_in or d_out:
            raise UserError("plan CHECKPOINT takes the checkpoint's config; drop the config options")
        from .checkpoint import load_checkpoint

        cfg = load_checkpoint(path).config
    else:
        base = preset_config(preset) if preset else None
        cfg = build_config(preset, overrides, d_in or (base.d_in if base else 1),
                           d_out or (base.n_classes if base else 10))
    if rate is not None and board_name is None:
        raise UserError("--rate needs --board (its clock and core)")
    report = plan(cfg, get_board(board_name) if board_name else None, rate, dsp=not portable)
    click.echo(dumps(report) if as_json else format_plan(report))


# ---- board-test -------------------------------------------------------------------------------

@cli.command("board-test")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--cpu", type=click.Choice(list(CPUS)), default=None,
              help="host (default): native build; otherwise bare metal under QEMU ("
                   + ", ".join(f"{c.name} on {c.machine}" for c in CPUS.values() if c.machine) + ").")
@click.option("--tflm-dir", type=click.Path(path_type=Path), default=None,
              help="TensorFlow Lite Micro tree (or a folder holding tflite-micro/ and tflite-micro-cmsis-nn/); "
                   "default: $TFLM_DIR.")
@click.option("--kernels", type=click.Choice(["cmsis-nn", "reference"]), default=None,
              help="Default: cmsis-nn on Cortex-M, reference on the host.")
@click.option("--dsp", is_flag=True, help="c and tflm-fused bundles on a Cortex-M with the DSP extension ("
              + ", ".join(c.name for c in CPUS.values() if c.dsp) + "): build the step with -DMGRADE_USE_DSP "
              "(SMLAD dot products).")
@click.option("--mve/--no-mve", default=None,
              help="c bundles on a core with Helium (" + ", ".join(c.name for c in CPUS.values() if c.mve)
              + "): the dot products, delay convolution, minGRU update, LayerNorm and requantisation in MVE "
              "vector instructions (-DMGRADE_USE_MVE); on by default there.")
@click.option("--block-pairs", is_flag=True,
              help="c bundles: build with -DMGRADE_BLOCK_PAIRS (step_block_q takes two steps through each layer "
                   "together: fewer instructions per step on the DSP path, a second copy of the scratch).")
@click.option("--stack-steps", type=int, default=None, callback=bounded_int(1, MAX_STACK_STEPS),
              help="c bundles: steps streamed while the stack is painted (default: the golden steps).")
@click.option("--allow-modified", is_flag=True,
              help="Build a bundle whose files were edited after export (their sha256 no longer match the "
                   "manifest); the report says so.")
@click.option("--cycles", is_flag=True,
              help="c bundles: estimate cycles per step from the executed instruction stream (one more run, "
                   "under QEMU's execution trace) and the core's timing table; an estimate, not a measurement.")
@click.option("--board", "board_name", type=click.Choice(list(BOARDS)), default=None,
              help="A real part: its core (the --cpu default), clock and flash wait states; implies --cycles.")
@click.option("--clock-mhz", type=float, default=None, callback=positive_finite_float(10_000),
              help="The clock for the real-time verdict (default: the --board's).")
@click.option("--rate", type=float, default=None, callback=positive_finite_float(1e9),
              help="Steps per second the application needs (e.g. 16000 for one step per 16 kHz sample, 31.25 "
                   "for a 32 ms hop): says whether the step keeps up, and its duty cycle. Implies --cycles.")
@click.option("--require-real-time", is_flag=True,
              help="Exit 1 when the verdict is NO (for CI); the verdict alone never changes the exit code.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def board_test(directory, cpu, tflm_dir, kernels, dsp, mve, block_pairs, stack_steps, allow_modified, cycles,
               board_name, clock_mhz, rate, require_real_time, as_json):
    """Build a bundle's golden program (tflm: against real TensorFlow Lite Micro; c: the generated
    step) and run it.

    Example: mgrade-edge board-test digits_tflm --cpu cortex-m4
    """

    directory = directory.absolute()  # the build runs in a temporary directory: relative paths would break
    board = get_board(board_name) if board_name else None
    if board and cpu and cpu != board.cpu:
        raise UserError(f"--board {board.name} runs on --cpu {board.cpu}, not {cpu}; drop --cpu")
    cpu = cpu or (board.cpu if board else "host")
    clock_hz = (clock_mhz or (board.clock_mhz if board else 0)) * 1e6
    if rate is not None and not clock_hz:
        raise UserError("--rate needs a clock: pass --board NAME or --clock-mhz MHZ")
    cycles = cycles or board is not None or rate is not None
    if cycles and not get_cpu(cpu).bare_metal:
        raise UserError("estimated cycles need an emulated core: pass --cpu (a Cortex-M or riscv32) or --board")
    memory = board.memory if board else NO_WAIT_STATES
    if directory.suffix == ".tflite" and directory.is_file():
        if dsp or mve is not None or block_pairs or stack_steps is not None or allow_modified:
            raise UserError("--dsp, --mve, --block-pairs, --stack-steps and --allow-modified are for bundles; drop "
                            "them for a .tflite")
        report = board_test_tflite(directory, cpu, kernels, tflm_dir, cycles=cycles, memory=memory)
        report["instructions_per_step"] = report["instructions_per_invoke"]  # one invoke is one step
        add_verdict(report, report["instructions_per_invoke"], clock_hz, rate, board, report["arena_bytes_min"],
                    report["flash_bytes"])
        click.echo(dumps(report) if as_json else format_tflite_report(report) + fit_lines(report))
        sys.exit(1 if require_real_time and report["real_time"] is False else 0)
    manifest = read_manifest(directory)
    if rate is None and clock_hz and manifest.get("steps_per_second"):
        rate = float(manifest["steps_per_second"])  # an audio model's own hop rate
        cycles = True
    target = TARGETS[manifest["target"]]
    if target.board is None:
        raise UserError(f"{directory} holds a {target.name} artifact; board-test builds c, tflm and tflm-fused "
                        f"bundles (export with --target c, tflm or tflm-fused)")
    modified = changed_files(directory, manifest)
    if modified and not allow_modified:
        what = "differs from the sha256 its manifest recorded" if (directory / modified[0]).is_file() else "is missing"
        raise UserError(f"{directory}: {modified[0]} {what} (edited after export; {len(modified)} file(s) changed); "
                        f"re-export, or pass --allow-modified to build the edited bundle")
    if target.board == "c":
        if kernels is not None or tflm_dir is not None:
            raise UserError(f"{directory} is a c bundle: --kernels and --tflm-dir are for tflm bundles (use --dsp "
                            f"for the Arm DSP variant)")

        helium = mve_defines(get_cpu(cpu), mve)
        pairs = (BLOCK_PAIRS_DEFINE,) if block_pairs else ()
        report = board_test_c(directory, cpu=cpu, dsp=dsp, stack_steps=stack_steps, cycles=cycles, memory=memory,
                              defines=helium + pairs)
        if helium and mve is None:  # the default Helium build: the DSP build's count beside it
            report["without_helium"] = without_helium(board_test_c(directory, cpu=cpu, dsp=True, defines=pairs))
        if "audio" in manifest["details"]["c"]:
            with_audio_path(report, board_test_audio(directory, cpu, dsp, cycles, memory, defines=helium))
        audio = report.get("audio")  # the whole audio path's RAM and flash, else the step's
        add_verdict(report, report["instructions_per_step"], clock_hz, rate, board,
                    (audio or report)["ram_bytes"], audio["flash_bytes"] if audio else report["step_flash_bytes"])
        text = format_c_board_report
    else:
        c_only = stack_steps is not None or mve is not None or block_pairs
        if (dsp and target.format != "tflm-fused") or c_only:
            raise UserError(f"--dsp, --mve, --block-pairs and --stack-steps are for c bundles (export --target c; "
                            f"--dsp also tflm-fused); {directory} is a {target.name} bundle")
        report = run_board_test(directory, cpu=cpu, kernels=kernels, tflm_dir=tflm_dir, dsp=dsp, cycles=cycles,
                                memory=memory)
        add_verdict(report, report["instructions_per_step"], clock_hz, rate, board, report["model_ram_bytes"],
                    report["model_flash_bytes"])
        text = format_board_report
    report["modified_files"] = modified
    recorded_by = ((manifest["details"].get("tflm") or {}).get("golden") or {}).get("recorded_by") or {}
    wheel_golden = target.board == "tflm" and target.format != "tflm-fused" and not recorded_by.get("tree")
    if not report["passed"] and wheel_golden:
        report["hint"] = ("the golden was recorded by the tflite-micro Python wheel, whose kernels can differ from "
                          "this TensorFlow Lite Micro tree's by a step; re-export with --tflm-dir (or TFLM_DIR) set "
                          "to the tree you build with to record it with those sources")
    if as_json:
        click.echo(dumps(report))
    else:
        click.echo(text(report) + ("\n" + format_audio_report(report["audio"]) if report.get("audio") else "")
                   + fit_lines(report))
        if modified:
            click.echo(f"  modified after export  {', '.join(modified)} (--allow-modified: built as edited)")
        if report.get("hint"):
            click.echo(f"  hint: {report['hint']}")
    sys.exit(0 if report["passed"] and not (require_real_time and report.get("real_time") is False) else 1)


def with_audio_path(report: dict, audio: dict) -> None:
    """A c bundle with an audio path: its figures are the whole path's, per hop (front end + network);
    the step's own golden figures stay under network_*."""
    report["audio"] = audio
    report["passed"] = report["passed"] and audio["passed"]
    report["network_instructions_per_step"] = report["instructions_per_step"]
    report["network_estimated_cycles"] = report["estimated_cycles"]
    report["steps_per_second"] = audio["steps_per_second"]
    report["instructions_per_step"] = (audio["instructions_per_hop"] or {}).get("total")
    report["estimated_cycles"] = audio["estimated_cycles_per_hop"]


def add_verdict(report: dict, instructions, clock_hz: float, rate: float | None, board, ram_bytes, flash_bytes) -> None:
    """board-test's board keys and verdict (boards.board_keys), from the report's estimate."""
    model = report["estimated_cycles_model"] or {}
    report.update(board_keys(board, clock_hz, rate, report["estimated_cycles"], instructions, ram_bytes,
                             flash_bytes, model.get("min_cycles_per_instruction")))


def main() -> None:
    """Entry point: click's own usage errors are also reduced to one line (exit code 2)."""
    # TensorFlow's C++ logging would bury our output; users can still raise it by setting the variable.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    if len(sys.argv) == 1:  # no command: the help a user is looking for, not an error
        click.echo(cli.get_help(click.Context(cli, info_name="mgrade-edge", **cli.context_settings)))
        sys.exit(0)
    try:
        with cleanup_on_termination():
            code = cli.main(prog_name="mgrade-edge", standalone_mode=False)
    except Terminated as exc:
        click.echo(f"error: {exc}; stopped, nothing was written", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USER_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
