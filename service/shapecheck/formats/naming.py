"""Keras' automatic layer names: ``Conv2D`` -> ``conv2d``, ``conv2d_1``, ..."""

from __future__ import annotations

import functools
import re
from collections import Counter


@functools.lru_cache(maxsize=1024)  # class names repeat; a bound keeps odd requests cheap
def snake_case(class_name: str) -> str:
    """Keras 3 ``to_snake_case``: ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class AutoNamer:
    """Hands out Keras-style names, skipping names the document already uses."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken = set(taken or ())
        self.counts: Counter[str] = Counter()

    def name(self, class_name: str) -> str:
        base = snake_case(class_name)
        while True:
            n = self.counts[base]
            self.counts[base] += 1
            candidate = base if n == 0 else f"{base}_{n}"
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
