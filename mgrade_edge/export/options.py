"""Per-target export options: each target declares the options only it takes, as a frozen dataclass.

A target's record names its options class (`Target.options`, "module:Class" inside mgrade_edge.export,
e.g. "tflm.options:TflmInt8Options"). A field declared with `option(...)` is also a CLI flag: the export
command adds one click option per flag name across every registered target, and `build_target_options`
turns the flags a user gave into the chosen target's options, refusing a flag the target does not take
with one line that names the targets that do. The class checks its own values (`check`), so an exporter
receives options that are already valid for it. Targets sharing an option share its class by inheritance
(tflm int8 takes the tflite int8 graph's --sigmoid) or use the same class (tflm-fused takes c's).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, fields
from typing import ClassVar

from ..errors import ExportError
from ..targets import DEPRECATED_SPELLINGS, TARGETS, Target


@dataclass(frozen=True)
class Flag:
    """How an option appears on the command line."""

    flag: str  # "--sigmoid"
    help: str
    choices: tuple[str, ...] | None = None  # None: a free value (a path)
    envvar: str | None = None  # read from this environment variable when the flag is absent
    hint: str = ""  # appended to the "applies to" refusal, e.g. what to use instead


def option(default, flag: Flag):
    """A dataclass field that is also a CLI flag."""
    return field(default=default, metadata={"flag": flag})


@dataclass(frozen=True)
class TargetOptions:
    """The options of a target that takes none; the base of every target's options class."""

    # The .tflite is a TensorFlow Lite Micro bundle's device model (tflite passes.device_model): tflm's class says so.
    device_model: ClassVar[bool] = False

    def check(self, target: Target) -> None:
        """Raise ExportError naming the problem when a value does not suit `target` (overridden)."""

    @classmethod
    def flags(cls) -> dict[str, Flag]:
        """field name -> Flag, for the fields that are CLI flags."""
        return {f.name: f.metadata["flag"] for f in fields(cls) if "flag" in f.metadata}


def options_class(target: Target) -> type[TargetOptions]:
    module, name = target.options.split(":")
    return getattr(importlib.import_module(f"mgrade_edge.export.{module}"), name)


def cli_flags() -> dict[str, tuple[Flag, list[str]]]:
    """Every option field name a registered target declares as a flag -> (its Flag, the targets taking it).

    Two classes declaring one field name must declare the same Flag (the CLI has one option per name)."""
    found: dict[str, tuple[Flag, list[str]]] = {}
    for target in TARGETS.values():
        for name, flag in options_class(target).flags().items():
            known, takers = found.setdefault(name, (flag, []))
            if known != flag:
                raise ValueError(f"option {name} is declared differently by {takers[0]} and {target.name}")
            takers.append(target.name)
    return found


def spell_targets(names: list[str]) -> str:
    """Registry names as a user types them: "tflite-int8 / tflm --quant int8" (a whole family is its name)."""
    spelled = []
    for cli_name in dict.fromkeys(TARGETS[n].cli_name for n in names):
        if cli_name in DEPRECATED_SPELLINGS:
            continue  # a c variant: spelled as c's options
        members = [t for t in TARGETS.values() if t.cli_name == cli_name]
        taking = [t.precision.name for t in members if t.name in names]
        spelled.append(cli_name if len(taking) == len(members) else f"{cli_name} --quant {'|'.join(taking)}")
    return " / ".join(spelled)


def build_target_options(target: Target, given: dict, from_env: frozenset = frozenset()) -> TargetOptions:
    """The target's options from the flags a user gave (`given`: field name -> value, None = not given).

    A flag the target does not take is refused, except one that came from its environment variable
    (`from_env`: field names), which is ignored."""
    cls = options_class(target)
    takes = cls.flags()
    values = {}
    for name, value in given.items():
        if value is None:
            continue
        if name in takes:
            values[name] = value
        elif name not in from_env:
            flag, takers = cli_flags()[name]
            raise ExportError(f"{flag.flag} applies to {spell_targets(takers)} only, not {target.name}{flag.hint}; "
                              f"drop {flag.flag}")
    options = cls(**values)
    options.check(target)
    return options
