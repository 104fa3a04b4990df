"""The tflm target: a TensorFlow Lite Micro C++ bundle, its measured arena and its golden test."""
