"""A least-recently-used map for the engine's per-process caches (default weights, random
inputs, folded kernels, forward plans and setups).

It is safe for the threads of a gthread worker: each operation holds a re-entrant lock (an
eviction may free arrays whose weak references pop other entries of the same map, in the same
thread). Values are made outside it, so two threads may both make a missing value; the second
one stored wins, which is harmless for values that depend on their key only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    """At most ``max_entries`` values, and at most ``max_size`` in all by ``size``; the least
    recently used go first. None: no bound."""

    def __init__(self, max_entries: int | None = None, max_size: int | None = None,
                 size: Callable[[V], int] = lambda value: 0) -> None:
        self.max_entries, self.max_size, self.size = max_entries, max_size, size
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.RLock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` unless it alone is over ``max_size``; then drop the oldest entries
        until the bounds hold."""
        size = self.size(value)
        if self.max_size is not None and size > self.max_size:
            return
        with self._lock:
            self.pop(key)
            self._entries[key] = (value, size)
            self._total += size
            while self._entries and self._over():
                _, (_, dropped) = self._entries.popitem(last=False)
                self._total -= dropped

    def pop(self, key: Hashable) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._total -= entry[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0

    def _over(self) -> bool:
        return ((self.max_entries is not None and len(self._entries) > self.max_entries)
                or (self.max_size is not None and self._total > self.max_size))

    @property
    def total(self) -> int:
        """The size of all the values kept."""
        return self._total

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __iter__(self) -> Iterator[Hashable]:
        """The keys, oldest first, as they are now."""
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
