"""Strict JSON output: non-finite floats (an infinite drift ratio, say) become strings, not `Infinity`."""

from __future__ import annotations

import json
import math


def json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def dumps(value, indent: int = 2) -> str:
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)
