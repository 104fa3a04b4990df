"""Strict JSON output: non-finite floats (an infinite drift ratio, say) become strings, not `Infinity`."""

from __future__ import annotations

import json
import math


def json_safe(value):
    """Any loaded value as plain JSON: bytes become hex, complex numbers and unknown objects strings,
    sets sorted lists, tensors/arrays lists (or a summary when large), keys strings."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value[:256]).hex() + ("..." if len(value) > 256 else "")
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=repr)
    if hasattr(value, "tolist") and hasattr(value, "shape"):  # numpy arrays and torch tensors
        size = math.prod(value.shape)
        if len(value.shape) == 0:
            return json_safe(value.tolist())
        return json_safe(value.tolist()) if size <= 64 else f"<array of shape {list(value.shape)}>"
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def printable(value) -> str:
    """A value for a terminal: control characters (escape sequences, bells, carriage returns) escaped."""
    text = str(value)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def dumps(value, indent: int = 2) -> str:
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)


def thousands(value) -> str:
    """A count for a report line: thousands separators, or n/a for a value that was not measured."""
    return "n/a" if value is None else f"{value:,}"
