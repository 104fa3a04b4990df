"""The c target: the native C99 step (float, and integer semantics bit-exact with a numpy reference)."""
