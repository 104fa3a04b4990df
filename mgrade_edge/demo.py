"""`make demo`: the main job on the bundled example, end to end, with a short summary at the end."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path("examples/digits.pt")
OUT = Path("demo_out")


def run(*args: str) -> None:
    cmd = [sys.executable, "-m", "mgrade_edge", *args]
    print(f"\n$ mgrade-edge {' '.join(args)}", flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    start = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    run("info", str(EXAMPLE))
    run("evaluate", str(EXAMPLE))
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s; outputs in {OUT}/")


if __name__ == "__main__":
    main()
