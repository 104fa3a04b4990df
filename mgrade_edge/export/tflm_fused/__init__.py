"""The tflm-fused target: the C step as one TensorFlow Lite Micro custom op."""
