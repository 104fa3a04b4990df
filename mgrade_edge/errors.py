"""Error types by kind. A user error is reported as one line and exit code 2; anything else is a bug.

Only `UserError` (and its subclasses) is caught by the CLI and turned into a one-line message; every
other exception keeps its traceback because it points at a defect in mgrade-edge itself. A user
error is one of two kinds, so the message's fix points the right way:

- `InputError`: the input is wrong (a checkpoint, a file, an option value, an output path, an
  artifact directory, a missing tool); the fix is to change the input.
- `UnsupportedError`: the input is valid but mgrade-edge cannot do this with it (a block the
  importer has no mapping for, a target/option combination, an op an engine lacks); the fix is to
  choose another target or option, or to change the model.
"""


class UserError(Exception):
    """A problem the user can fix: the message names the bad value and the fix."""


class InputError(UserError):
    """The user's input is wrong."""


class UnsupportedError(UserError):
    """Valid input that mgrade-edge cannot handle."""


# ---- bad input ---------------------------------------------------------------------------------

class ConfigError(InputError, ValueError):
    """An invalid model configuration."""


class CheckpointError(InputError):
    """A checkpoint that cannot be loaded safely or does not match its config."""


class DataError(InputError):
    """Bad user-supplied data (calibration file, step counts, ...)."""


class NoTaskError(DataError):
    """The checkpoint names no task whose data a command needs (an imported or untrained model)."""


class ArtifactError(InputError):
    """An artifact directory that is not one, or is damaged or edited: re-export it."""


class OutputPathError(InputError):
    """An --out that must not be written or replaced."""


# ---- unsupported -------------------------------------------------------------------------------

class ExportError(UnsupportedError):
    """An export that cannot be done with the requested options."""


class UnsupportedModelError(UnsupportedError):
    """A model (an imported checkpoint's block or option) that mgrade-edge has no equivalent for."""


class BoardError(UserError):
    """Something the board build or run needs is missing or wrong (toolchain, emulator, tree, bundle)."""
