"""SIGTERM and SIGHUP clean up like Ctrl-C, and third-party temp files live where we can remove them.

Python turns SIGINT into KeyboardInterrupt, so every `except BaseException` / `finally` cleanup runs;
SIGTERM (kill, a CI timeout) and SIGHUP (a closed terminal) kill the process outright by default.
`Terminated` is raised from the handler instead, so the same cleanups run. TensorFlow's converter
writes saved models to the temp directory; a private one, removed on the way out, takes them along.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading

HANDLED = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM or SIGHUP arrives (BaseException: never swallowed as an error)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def __str__(self) -> str:
        return f"{HANDLED.get(self.signum, self.signum)} received"


def _raise(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def cleanup_on_termination():
    """Install the handlers (and restore the previous ones afterwards) and a private temp directory."""
    # Handlers can only be installed from the main thread (an embedding application may call us from another).
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, _raise) for s in HANDLED} if in_main else {}
    private = tempfile.mkdtemp(prefix="mgrade-edge-")
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = private, private
    try:
        yield private
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(private, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
