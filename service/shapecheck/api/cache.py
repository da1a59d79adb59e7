"""A per-worker cache of ``POST /v1/check`` answers, keyed by the request body's SHA-256.

A check is a pure function of its body (and of the server's limits, fixed for the life of a
worker), so the same body always gets the same answer. CI pipelines send the same models again
on every commit, and clients retry; those repeats are answered from here without parsing or
analysing anything. Answers with a forward pass are never cached (their ``elapsed_ms`` is a
measurement). The cache is bounded in bytes (SHAPECHECK_RESPONSE_CACHE_BYTES, 0 turns it off)
and evicts the least recently used answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..lru import LRU


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes
    """The serialised JSON answer."""
    result: dict[str, Any]
    """What metrics need of it: ``ok`` and the diagnostics' codes and severities."""


class ResponseCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: LRU[CachedAnswer] = LRU(max_size=max_bytes,
                                              size=lambda answer: len(answer.body))

    @property
    def size(self) -> int:
        """Bytes of the answers kept."""
        return self.entries.total

    @staticmethod
    def key(raw_body: bytes) -> bytes:
        return hashlib.sha256(raw_body).digest()

    def get(self, key: bytes) -> CachedAnswer | None:
        return self.entries.get(key)

    def put(self, key: bytes, body: bytes, result: dict[str, Any]) -> None:
        if len(body) > self.max_bytes // 8:  # one huge answer must not flush everything else
            return
        summary = {"ok": result.get("ok"),
                   "diagnostics": [{"code": d.get("code"), "severity": d.get("severity")}
                                   for d in result.get("diagnostics", ())]}
        self.entries.put(key, CachedAnswer(body, summary))
