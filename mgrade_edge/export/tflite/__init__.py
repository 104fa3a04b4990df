"""The tflite targets: the step rebuilt as a tf.function, converted, and its graph rewrites."""
