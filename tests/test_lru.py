"""The LRU map behind the engine's per-process caches."""

from __future__ import annotations

import threading
import weakref

from shapecheck.lru import LRU


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: LRU[str] = LRU(max_entries=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now "b" is the oldest
    cache.put("c", "C")
    assert list(cache) == ["a", "c"] and cache.get("b") is None


def test_a_size_bound_drops_old_entries_and_refuses_a_value_over_it_alone() -> None:
    cache: LRU[str] = LRU(max_size=10, size=len)
    cache.put("a", "aaaa")
    cache.put("b", "bbbb")
    cache.put("c", "cccc")  # 12 > 10: "a" goes
    assert list(cache) == ["b", "c"]
    cache.put("big", "x" * 11)
    assert "big" not in cache and list(cache) == ["b", "c"]
    cache.put("b", "bb")  # replacing counts the new size only
    cache.put("d", "dddd")
    assert list(cache) == ["c", "b", "d"]


def test_an_eviction_that_frees_a_weakly_referenced_source_may_pop_another_entry() -> None:
    class Source:
        pass

    cache: LRU[object] = LRU(max_entries=1)
    source = Source()
    cache.put("derived", source)
    cache.put("other", weakref.ref(source, lambda _: cache.pop("other")))
    del source  # evicting "derived" frees it, and its callback pops "other" in the same thread
    assert len(cache) == 0


def test_threads_can_share_it() -> None:
    cache: LRU[int] = LRU(max_entries=8)
    failures: list[BaseException] = []

    def hammer(offset: int) -> None:
        try:
            for i in range(5_000):
                key = (offset + i) % 20
                if cache.get(key) is None:
                    cache.put(key, key)
                if i % 7 == 0:
                    cache.pop(key)
        except BaseException as exc:  # any failure fails the test
            failures.append(exc)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(cache) <= 8
