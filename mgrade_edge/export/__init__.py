"""Exporters, one per target kind; the target registry itself is mgrade_edge.targets (re-exported here)."""

from ..targets import (FLOAT32, INT8, INT16X8, PRECISIONS, SIGMOID_KERNELS, TARGETS, Precision,  # noqa: F401
                       Target, Tolerance, bundle_target_name, cli_target_names, families, get_precision,
                       get_target, public_target_names, quant_choices, register, register_family,
                       resolve_cli_target, resolve_exporter, resolve_state, targets_with)
