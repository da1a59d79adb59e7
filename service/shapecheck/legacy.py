"""Keras 1/2 spellings, translated to Keras 3 with a ``legacy_argument`` warning each.

Class renames are declared by the layer classes (``legacy_aliases``). Argument renames common to
many classes are here; a class declares its own peculiar ones in ``legacy_args``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .layers.base import Layer

# Keras 1/2 argument -> Keras 3 argument, wherever it appears.
COMMON_RENAMES: Mapping[str, str] = {
    "nb_filter": "filters",
    "output_dim": "units",
    "subsample": "strides",
    "subsample_length": "strides",
    "stride": "strides",
    "border_mode": "padding",
    "filter_length": "kernel_size",
    "pool_length": "pool_size",
    "atrous_rate": "dilation_rate",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "W_regularizer": "kernel_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "U_constraint": "recurrent_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "p": "rate",
    "alpha": "negative_slope",
}

DIM_ORDERING = {"th": "channels_first", "tf": "channels_last", "default": "channels_last"}
KERNEL_DIMS = (("nb_row", "nb_col"), ("kernel_dim1", "kernel_dim2", "kernel_dim3"))
LEGACY_ONLY = frozenset({"dim_ordering", *(name for names in KERNEL_DIMS for name in names)})


def has_legacy_args(cls: type[Layer], config: Mapping[str, Any]) -> bool:
    """Whether ``config`` holds a Keras 1/2 argument name of ``cls`` (one test in C)."""
    return not config.keys().isdisjoint(legacy_names(cls))


def translate(cls: type[Layer], config: dict[str, Any], layer: str) -> list[Diagnostic]:
    """Rewrite Keras 1/2 argument names in ``config`` in place; one warning per rename."""
    notes: list[Diagnostic] = []
    if not has_legacy_args(cls, config):
        return notes  # the common case
    renames = legacy_renames(cls)
    for old, new in renames.items():
        if old in config:
            config.setdefault(new, config.pop(old))
            notes.append(renamed(layer, old, new))
    for names in KERNEL_DIMS:
        present = [n for n in names if n in config]
        if present:
            config.setdefault("kernel_size", [config.pop(n) for n in present])
            notes.append(renamed(layer, "/".join(present), "kernel_size"))
    if "dim_ordering" in config:
        value = config.pop("dim_ordering")
        config.setdefault("data_format",
                          DIM_ORDERING.get(value, value) if isinstance(value, str) else value)
        notes.append(diag.warning(
            diag.LEGACY_ARGUMENT, layer,
            f"dim_ordering='{value}' is the Keras 1 spelling of "
            f"data_format='{config['data_format']}'.",
            f"Write data_format='{config['data_format']}'."))
    return notes


@functools.cache  # one entry per layer class
def legacy_names(cls: type[Layer]) -> frozenset[str]:
    """Every Keras 1/2 argument name ``translate`` rewrites for ``cls``."""
    return LEGACY_ONLY | legacy_renames(cls).keys()


@functools.cache  # one entry per layer class
def legacy_renames(cls: type[Layer]) -> dict[str, str]:
    """The Keras 1/2 argument names of a class -> their Keras 3 names. A name the class still
    declares (Embedding's output_dim, ELU's alpha) is not legacy."""
    fields = cls.schema().fields
    return {old: new for old, new in {**COMMON_RENAMES, **cls.legacy_args}.items()
            if old not in fields}


def renamed(layer: str, old: str, new: str) -> Diagnostic:
    return diag.warning(diag.LEGACY_ARGUMENT, layer,
                        f"'{old}' is the Keras 1/2 name of '{new}'; it was read as '{new}'.",
                        f"Write '{new}' instead of '{old}'.")


def renamed_class(layer: str, old: str, new: str) -> Diagnostic:
    return diag.warning(diag.LEGACY_ARGUMENT, layer,
                        f"{old} is the Keras 1/2 name of {new}; it was read as {new}.",
                        f"Use keras.layers.{new}.")
