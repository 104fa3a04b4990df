"""The RAM-against-T plot."""

from mgrade_edge.profile.measure import profile_report
from mgrade_edge.profile.plot import write_plot
from tests.helpers import NAMED_CONFIGS


def test_plot_is_a_png(tmp_path):
    report = profile_report(NAMED_CONFIGS["tiny"], measure=False)
    path = write_plot(report, tmp_path / "ram.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
