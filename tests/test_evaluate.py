"""The bundled example: the streaming step reproduces the checkpoint's recorded test accuracy."""

from mgrade_edge.checkpoint import load_checkpoint
from mgrade_edge.evaluate import evaluate_checkpoint


def test_bundled_example_streams_to_its_recorded_accuracy():
    report = evaluate_checkpoint("examples/digits.pt")
    recorded = load_checkpoint("examples/digits.pt").metadata["test_accuracy"]
    assert report["sequences"] == 450 and report["steps_per_sequence"] == 64
    assert report["parallel"]["accuracy"] == recorded
    assert report["streaming"]["accuracy"] == recorded
    assert recorded >= 0.97
