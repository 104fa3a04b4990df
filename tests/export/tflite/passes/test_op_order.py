"""The step's operator order: state reads move to their first use, assignments to right after their
inputs; every operator still follows its producers and a variable is read before it is written."""

from mgrade_edge.export.tflite.passes.op_order import schedule

# Two "layers" as the converter orders them: every read first, the delay updates last.
# x is tensor 0; VAR_HANDLE outputs 10 and 11 are the two delay lines.
NAMES = ["VAR_HANDLE", "VAR_HANDLE", "READ_VARIABLE", "READ_VARIABLE",
         "CONCATENATION", "ADD",  # layer 1: window 22, output 23
         "CONCATENATION", "ADD",  # layer 2: window 24, output 25 (the graph output)
         "STRIDED_SLICE", "ASSIGN_VARIABLE",  # layer 2's new delay line
         "STRIDED_SLICE", "ASSIGN_VARIABLE"]  # layer 1's new delay line
INPUTS = [[], [], [10], [11], [20, 0], [22, 0], [21, 23], [24, 23], [24], [11, 28], [22], [10, 30]]
OUTPUTS = [[10], [11], [20], [21], [22], [23], [24], [25], [28], [], [30], []]


def _valid(order):
    position = {op: k for k, op in enumerate(order)}
    producer = {t: i for i, outs in enumerate(OUTPUTS) for t in outs}
    assert sorted(order) == list(range(len(NAMES)))
    for i, ins in enumerate(INPUTS):
        assert all(position[producer[t]] < position[i] for t in ins if t in producer), i
    for handle in (10, 11):
        ops = [i for i, ins in enumerate(INPUTS) if NAMES[i] in ("READ_VARIABLE", "ASSIGN_VARIABLE")
               and ins[0] == handle]
        assert [position[i] for i in ops] == sorted(position[i] for i in ops)


def test_reads_move_to_their_use_and_assignments_follow_their_inputs():
    order = schedule(NAMES, INPUTS, OUTPUTS, graph_outputs=[25])
    _valid(order)
    # layer 1 reads, builds its window and writes its new delay line before layer 2 reads anything
    assert order == [0, 1, 2, 4, 10, 11, 5, 3, 6, 8, 9, 7]


def test_an_order_without_state_is_kept():
    names, inputs, outputs = ["FULLY_CONNECTED", "ADD"], [[0], [1, 0]], [[1], [2]]
    assert schedule(names, inputs, outputs, graph_outputs=[2]) == [0, 1]
