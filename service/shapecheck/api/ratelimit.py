"""Per-client rate limits, one budget across every worker: a token bucket per API key (or per
client address when no keys are set), refilled at ``SHAPECHECK_RATE_LIMIT`` requests per second
and holding up to ``SHAPECHECK_RATE_BURST``. A ``/v1/*`` request that finds its bucket empty is
answered 429 with ``Retry-After``.

The buckets live in one small table that every gunicorn worker maps: a file the master makes on
tmpfs (``SHAPECHECK_RATE_LIMIT_FILE``, set by ``deploy/gunicorn.conf.py``), locked with
``fcntl`` between processes and with a threading lock between a worker's threads. Without that
file (one process: the tests' apps, ``flask run``) the table lives in this process's memory.
With per-worker buckets instead, N workers would let N times the limit through.

A slot is (client, tokens, time of the last update), 24 bytes. A client is the first 8 bytes of
a BLAKE2b hash of its key or address (never the key itself) and may take one of ``PROBES``
slots from where its hash points. When all of them are held by others, the one updated longest
ago is given to the new client: the client it held comes back to a full bucket, which errs on
the side of letting requests through.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SLOT = struct.Struct("<Qdd")
"""client hash (0: a free slot), tokens, monotonic time of the last update."""
SLOTS = 4096
PROBES = 8
TABLE_FILE_VARIABLE = "SHAPECHECK_RATE_LIMIT_FILE"


class RateLimiter:
    """Token buckets of ``burst`` requests, refilled at ``rate`` per second, in ``buffer``
    (``SLOTS`` slots): an ``mmap`` of a file shared by processes (``fd`` open on it), or
    private memory."""

    def __init__(self, rate: float, burst: int, buffer: mmap.mmap | bytearray,
                 fd: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst = rate, burst
        self.buffer, self.fd, self.clock = buffer, fd, clock
        self.slots = len(buffer) // SLOT.size
        self.thread_lock = threading.Lock()

    @classmethod
    def from_env(cls, rate: float, burst: int) -> RateLimiter:
        """Over the table file the gunicorn master made, or over private memory without one."""
        path = os.environ.get(TABLE_FILE_VARIABLE, "").strip()
        if not path:
            return cls(rate, burst, bytearray(SLOTS * SLOT.size))
        fd = os.open(path, os.O_RDWR)
        size = SLOTS * SLOT.size
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)  # zeros: free slots; every worker asks for the same size
        return cls(rate, burst, mmap.mmap(fd, size), fd)

    def take(self, client: bytes) -> float:
        """Take one request from ``client``'s bucket: 0 when it had one, else the seconds until
        it will."""
        me = client_hash(client)
        with self.locked():
            now = self.clock()
            slot, tokens = self.find(me, now)
            if tokens >= 1:
                SLOT.pack_into(self.buffer, slot * SLOT.size, me, tokens - 1, now)
                return 0.0
            SLOT.pack_into(self.buffer, slot * SLOT.size, me, tokens, now)
            return (1 - tokens) / self.rate

    def find(self, me: int, now: float) -> tuple[int, float]:
        """``me``'s slot and its tokens now; a new client gets a free slot, or the slot among
        its probes updated longest ago, with a full bucket."""
        start = me % self.slots
        free = oldest = None
        oldest_stamp = math.inf
        for probe in range(min(PROBES, self.slots)):
            slot = (start + probe) % self.slots
            held_by, tokens, stamp = SLOT.unpack_from(self.buffer, slot * SLOT.size)
            if held_by == me:
                return slot, min(self.burst, tokens + (now - stamp) * self.rate)
            if held_by == 0 and free is None:
                free = slot
            elif held_by != 0 and stamp < oldest_stamp:
                oldest, oldest_stamp = slot, stamp
        return (oldest if free is None else free), float(self.burst)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self.thread_lock:
            if self.fd is None:
                yield
                return
            fcntl.lockf(self.fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(self.fd, fcntl.LOCK_UN)


def client_hash(client: bytes) -> int:
    """A client's 64-bit name in the table; never 0, which marks a free slot."""
    return int.from_bytes(hashlib.blake2b(client, digest_size=8).digest(), "little") or 1


def retry_after(seconds: float) -> int:
    """Whole seconds for ``Retry-After``: at least 1, never before a token is there."""
    return max(1, math.ceil(seconds))
