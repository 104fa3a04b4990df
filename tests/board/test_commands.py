"""The README's build commands are the ones board-test runs (rendered from the same functions)."""

from pathlib import Path

from mgrade_edge.board.commands import build_snippet

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_holds_the_rendered_board_commands():
    text = README.read_text()
    block = text.split("<!-- board-commands:start -->\n```sh\n")[1].split("```\n<!-- board-commands:end -->")[0]
    assert block == build_snippet("host", "reference") + "\n" + build_snippet("cortex-m4", "cmsis-nn")


def test_snippet_has_the_flags_the_machines_need():
    m4 = build_snippet("cortex-m4", "cmsis-nn")
    assert "-mcpu=cortex-m4+nofp -mthumb -mfloat-abi=soft" in m4 and "--specs=rdimon.specs" in m4
    assert "-M mps2-an386" in m4 and "-icount shift=0" in m4 and "target=native" in m4
    m55 = build_snippet("cortex-m55", "cmsis-nn")
    assert "-mcpu=cortex-m55" in m55 and "mps3-an547" in m55 and "MGRADE_BOARD_CLOCK_HZ=32000000" in m55


def test_readme_holds_the_rendered_c_board_commands():
    from mgrade_edge.board.commands import c_build_snippet

    text = README.read_text()
    block = text.split("<!-- c-board-commands:start -->\n```sh\n")[1].split("```\n<!-- c-board-commands:end -->")[0]
    assert block == c_build_snippet("host") + "\n" + c_build_snippet("cortex-m4", dsp=True)
