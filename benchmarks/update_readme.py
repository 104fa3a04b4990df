"""Copy benchmarks/results.md into README.md between the results markers (run by `make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def update(readme: Path, results: Path) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        sys.exit(f"error: {readme} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{results.read_text().strip()}\n{END}{tail}")


if __name__ == "__main__":
    update(ROOT / "README.md", ROOT / "benchmarks" / "results.md")
    print("README.md results section updated from benchmarks/results.md")
