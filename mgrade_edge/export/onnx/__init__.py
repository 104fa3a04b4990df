"""The onnx target: the streaming step as ONNX (float, QDQ int8)."""
