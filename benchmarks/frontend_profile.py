"""Where the audio front end's Cortex-M4 instructions go: one hop of `mgrade_fe_compute` traced under QEMU
and every executed instruction attributed to its function (the ELF's symbols), per hop.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/frontend_profile.py BUNDLE [--top 15]

BUNDLE: a c bundle with an audio path (export a filter-bank model with --target c). The program is
board-test's audio program (board/data/audio_main.c) with the DSP path; the first 16 hops are traced.
QEMU gives instruction counts, not cycles.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import tempfile
from pathlib import Path


def main() -> None:
    from mgrade_edge.board import audio_golden
    from mgrade_edge.board.build import SourceSet
    from mgrade_edge.board.cycles.estimate import pairs_in_pipeline
    from mgrade_edge.board.cycles.trace import trace_calls
    from mgrade_edge.board.program import ProgramSpec, build_program
    from mgrade_edge.board.toolchain import get_cpu
    from mgrade_edge.frontend.host import tflm_root
    from mgrade_edge.frontend.sources import include_dirs, signal_sources
    from mgrade_edge.frontend.spec import FrontendSpec
    from mgrade_edge.manifest import read_manifest
    from mgrade_edge.runtime.c_audio import AudioRunner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    bundle = args.bundle.absolute()
    manifest = read_manifest(bundle)
    facts = manifest["details"]["c"]
    audio, _ = audio_golden.recorded_segment(FrontendSpec.from_dict(manifest["frontend"]))
    expected = AudioRunner(bundle, manifest).push_raw(audio)
    root = tflm_root(None)
    with tempfile.TemporaryDirectory() as tmp:
        main_c = audio_golden.write_audio_main(Path(tmp), facts, audio, expected, facts.get("io_ctype", "float"))
        includes = (bundle, *include_dirs(root)[1:])
        c_sources = (main_c, bundle / facts["sources"][0], bundle / facts["audio"]["frontend_sources"][0])
        cc = tuple(bundle / s for s in facts["audio"]["frontend_sources"][1:]) + tuple(signal_sources(root))
        spec = ProgramSpec((SourceSet(c_sources, includes, ("MGRADE_SYSTICK", "MGRADE_USE_DSP")),
                            SourceSet(cc, includes, ())), name="frontend_profile")
        program = build_program(get_cpu("cortex-m4"), spec, Path(tmp))
        profile = trace_calls(program.toolchain, program.elf, "mgrade_fe_compute", (), pairs=pairs_in_pipeline)
        listing = subprocess.run([program.toolchain.nm, "-C", "-S", str(program.elf)], capture_output=True,
                                 text=True, check=True).stdout
    functions = []
    for line in listing.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[2] in "tT":
            functions.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    per_function = collections.Counter()
    for address, count in profile.executed.items():
        name = next((f for a, size, f in functions if a <= address < a + size), "?")
        per_function[name] += count
    print("| function | instructions per hop |\n|---|---|")
    for name, count in per_function.most_common(args.top):
        print(f"| `{name.split('(')[0]}` | {count / profile.calls:,.0f} |")
    print(f"| all ({profile.calls} hops traced) | {profile.instructions_per_call:,.0f} |")


if __name__ == "__main__":
    main()
