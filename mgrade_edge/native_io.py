"""Silence what native libraries print straight to file descriptors 1 and 2.

The TFLite converter's C++ code writes progress lines ("fully_quantize: 0, ...") to fd 1 and log
lines to fd 2, bypassing Python's sys.stdout. Left alone they would corrupt `--json` output and bury
our one-line messages. The captured text is kept, so a failing conversion can still show it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings


@contextlib.contextmanager
def quiet_native_output():
    """Redirect fds 1 and 2 to a temporary file for the duration; yields a callable returning the text."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as sink:
        captured = {"text": ""}
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. tf.lite.Interpreter's deprecation notice
                yield lambda: captured["text"]
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            captured["text"] = sink.read().decode("utf-8", "replace")


def import_tensorflow():
    """`import tensorflow` without its start-up log lines (oneDNN, absl) on the terminal."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with quiet_native_output():
            import tensorflow  # noqa: F401
    return sys.modules["tensorflow"]
