"""The signature keys of the converted step (the exporter writes them; runners and the passes read them)."""

EXTERNAL_KEY = "serving_default"  # external state: one function, state tensors as inputs and outputs
STEP_KEY, RESET_KEY = "step", "zero_state"  # internal state: the step, and the reset LiteRT runs
