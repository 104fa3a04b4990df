"""The documented build commands (docs/board-commands.md) are the ones board-test runs (rendered from
the same functions)."""

from pathlib import Path

from mgrade_edge.board.commands import build_snippet

ROOT = Path(__file__).resolve().parents[2]


def test_docs_hold_the_rendered_board_commands():
    from benchmarks.update_docs import board_commands_page

    page = (ROOT / "docs" / "board-commands.md").read_text()
    assert page == board_commands_page(), "docs/board-commands.md is stale: run python benchmarks/update_docs.py"
    assert build_snippet("host", "reference") + "\n" + build_snippet("cortex-m4", "cmsis-nn") in page


def test_snippet_has_the_flags_the_machines_need():
    m4 = build_snippet("cortex-m4", "cmsis-nn")
    assert "-mcpu=cortex-m4+nofp -mthumb -mfloat-abi=soft" in m4 and "--specs=rdimon.specs" in m4
    assert "-M mps2-an386" in m4 and "-icount shift=0" in m4 and "target=native" in m4
    m55 = build_snippet("cortex-m55", "cmsis-nn")
    assert "-mcpu=cortex-m55" in m55 and "mps3-an547" in m55 and "MGRADE_BOARD_CLOCK_HZ=32000000" in m55


def test_docs_hold_the_rendered_c_board_commands():
    from mgrade_edge.board.commands import c_build_snippet

    page = (ROOT / "docs" / "board-commands.md").read_text()
    assert c_build_snippet("host") + "\n" + c_build_snippet("cortex-m4", dsp=True) in page
