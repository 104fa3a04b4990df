"""Error types: a user error is reported as one line and exit code 2; anything else is a bug.

Following executorch's split between user errors and internal errors: only `UserError` (and its
subclasses) is caught by the CLI and turned into a one-line message. Everything else keeps its
traceback because it points at a defect in mgrade-edge itself.
"""


class UserError(Exception):
    """A problem the user can fix: the message names the bad value and the fix."""


class ConfigError(UserError, ValueError):
    """An invalid model configuration."""


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded safely or does not match its config."""


class DataError(UserError):
    """Bad user-supplied data (calibration file, step counts, ...)."""


class ExportError(UserError):
    """An export that cannot be done with the requested options."""
