# SPDX-License-Identifier: GPL-2.0-only
"""Stateful hypothesis test of the allocator core (``pytools._core``).

A RuleBasedStateMachine drives the Rust core through its Python bindings the way the kernel
glue does (allocate, install pages, free, fault, shrink, prepare_to_free) and compares it with
a small Python reference model of C 7.3's rules. Errors, async accounting, the exact buffer
layout (offsets, sizes, free flags), oneway spam flags and page states are checked exactly.
Best fit is checked as a property: the chosen free buffer has the smallest size that fits
(which of several equal-size buffers C picks depends on its rbtree's shape, which the reference
model does not replicate; the Rust core's placement among equals is checked against C traces
by the Rust replay test).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pytools import _core  # type: ignore[attr-defined]  # built by maturin from rust/binder_alloc/py

PAGE = _core.PAGE_SIZE
PTR = 8
SIZE_MAX = 2**64 - 1


def align(x: int) -> int:
    return (x + PTR - 1) & ~(PTR - 1) & SIZE_MAX


def sanitized_size(data: int, offsets: int, extra: int) -> int | None:
    """C's sanitized_size() with size_t wrap-around; None for an invalid request."""
    tmp = (align(data) + align(offsets)) & SIZE_MAX
    if tmp < data or tmp < offsets:
        return None
    total = (tmp + align(extra)) & SIZE_MAX
    if total < tmp or total < extra:
        return None
    return max(total, PTR)


@dataclass
class Buf:
    """One struct binder_buffer of the reference model (fields C keeps stale are kept)."""

    offset: int
    free: bool
    is_async: bool = False
    pid: int = 0
    allow_user_free: bool = False


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core: _core.Allocator
        self.bufs: list[Buf] = []
        self.size = 0
        self.free_async = 0
        self.spam_detected = False
        self.installed: set[int] = set()

    @initialize(pages=st.integers(1, 12))
    def mmap(self, pages: int) -> None:
        self.size = pages * PAGE
        self.core = _core.Allocator(self.size)
        self.bufs = [Buf(0, True)]
        self.free_async = self.size // 2

    # Reference model helpers.

    def bsize(self, i: int) -> int:
        end = self.bufs[i + 1].offset if i + 1 < len(self.bufs) else self.size
        return end - self.bufs[i].offset

    def live(self) -> list[int]:
        return [b.offset for b in self.bufs if not b.free]

    def index_of(self, offset: int) -> int:
        return next(i for i, b in enumerate(self.bufs) if b.offset == offset)

    def low_async_spam(self, pid: int) -> bool:
        """C's debug_low_async_space_locked()."""
        if self.free_async >= self.size // 10:
            self.spam_detected = False
            return False
        total = num = 0
        for i, b in enumerate(self.bufs):
            if not b.free and b.pid == pid and b.is_async:
                total += self.bsize(i)
                num += 1
        if (num > 50 or total > self.size // 4) and not self.spam_detected:
            self.spam_detected = True
            return True
        return False

    # Rules.

    @rule(
        data=st.one_of(st.integers(0, 64), st.integers(0, 5000), st.integers(0, 60000),
                       st.sampled_from([SIZE_MAX, SIZE_MAX - 7, 2**63])),
        offsets=st.integers(0, 64),
        extra=st.one_of(st.just(0), st.integers(0, 300)),
        is_async=st.booleans(),
        pid=st.integers(1, 3),
    )
    def new_buf(self, data: int, offsets: int, extra: int, is_async: bool, pid: int) -> None:
        size = sanitized_size(data, offsets, extra)
        fits = [i for i, b in enumerate(self.bufs) if b.free and size is not None and self.bsize(i) >= size]
        if size is None:
            want: int | None = errno.EINVAL
        elif is_async and self.free_async < size:
            want = errno.ENOSPC
        elif not fits:
            want = errno.ENOSPC
        else:
            want = None
        try:
            got = self.core.new_buf(data, offsets, extra, is_async, pid)
        except OSError as e:
            assert want is not None, f"core failed with {e} where the model allocates"
            assert e.errno == want, (e, want)
            return
        assert want is None and size is not None, f"core allocated where the model fails with {want}"
        assert got["size"] == size
        i = self.index_of(got["offset"])
        assert self.bufs[i].free
        best = min(self.bsize(j) for j in fits)
        assert self.bsize(i) == best, "not the best fit"
        if self.bsize(i) > size:
            self.bufs.insert(i + 1, Buf(got["offset"] + size, True))
        b = self.bufs[i]
        b.free, b.allow_user_free, b.is_async = False, False, is_async
        spam = False
        if is_async:
            self.free_async -= size
            spam = self.low_async_spam(pid)
        assert got["spam"] == spam
        b.pid = pid
        # The glue installs every absent page the buffer touches.
        states = self.core.page_states()
        for p in got["install"]:
            if states[p] == "Absent":
                assert self.core.page_event(p, "Installed") == ["StorePage"]
                self.installed.add(p)

    @precondition(lambda self: any(not b.free for b in self.bufs))
    @rule(pick=st.integers(0, 1000))
    def free_buf(self, pick: int) -> None:
        live = self.live()
        off = live[pick % len(live)]
        i = self.index_of(off)
        if self.bufs[i].is_async:
            self.free_async += self.bsize(i)
        self.core.free_buf(off)
        self.bufs[i].free = True
        if i + 1 < len(self.bufs) and self.bufs[i + 1].free:
            del self.bufs[i + 1]
        if i > 0 and self.bufs[i - 1].free:
            del self.bufs[i]

    @rule(offset=st.integers(0, 2**16), allow=st.booleans())
    def prepare_to_free(self, offset: int, allow: bool) -> None:
        live = self.live()
        if live and allow:
            target = live[offset % len(live)]
            self.core.set_allow_user_free(target, True)
            self.bufs[self.index_of(target)].allow_user_free = True
            offset = target
        if offset not in live:
            assert self.core.prepare_to_free(offset) is None
            return
        b = self.bufs[self.index_of(offset)]
        if not b.allow_user_free:
            with pytest.raises(OSError) as e:
                self.core.prepare_to_free(offset)
            assert e.value.errno == errno.EPERM
        else:
            assert self.core.prepare_to_free(offset) == offset
            b.allow_user_free = False

    @rule(page=st.integers(0, 64), write=st.booleans())
    def fault(self, page: int, write: bool) -> None:
        states = self.core.page_states()
        acts = self.core.fault(page, write)
        mappable = not write and page < len(states) and states[page] in ("InUse", "Lru")
        assert acts == (["MapIntoVma"] if mappable else ["SigBus"])

    @rule(pick=st.integers(0, 1000))
    def shrink(self, pick: int) -> None:
        lru = [i for i, s in enumerate(self.core.page_states()) if s == "Lru"]
        if not lru:
            return
        p = lru[pick % len(lru)]
        assert self.core.page_event(p, "Isolate") == ["RemoveFromLru"]
        assert self.core.page_event(p, "ReclaimDone") == ["ZapPte", "FreePage"]
        self.installed.discard(p)

    # Invariants, checked after every step.

    @invariant()
    def layout_and_accounting_match(self) -> None:
        if not self.bufs:
            return
        self.core.check_invariants()
        want = [(b.offset, self.bsize(i), b.free) for i, b in enumerate(self.bufs)]
        got = [(o, s, f) for (o, s, f, _a, _p) in self.core.buffers()]
        assert got == want
        assert self.core.free_async_space() == self.free_async
        assert self.core.allocated_count() == len(self.live())
        # No overlap and full coverage follow from the layout; check them anyway.
        assert sum(s for (_o, s, _f) in got) == self.size

    @invariant()
    def page_states_follow_live_buffers(self) -> None:
        if not self.bufs:
            return
        covered: set[int] = set()
        for i, b in enumerate(self.bufs):
            if not b.free:
                covered.update(range(b.offset // PAGE, -(-(b.offset + self.bsize(i)) // PAGE)))
        for p, s in enumerate(self.core.page_states()):
            assert s != "Reclaiming"
            if p in covered:
                assert s == "InUse", (p, s)
            else:
                assert s == ("Lru" if p in self.installed else "Absent"), (p, s)
        active, lru, free = self.core.page_counts()
        assert active + lru == len(self.installed)
        assert active + lru + free == self.size // PAGE

    def teardown(self) -> None:
        if not self.bufs:
            return
        self.core.vma_close()
        with pytest.raises(OSError) as e:
            self.core.new_buf(8)
        assert e.value.errno == errno.ESRCH
        assert self.core.release_buffers() == len(self.live())
        assert [(o, s, f) for (o, s, f, _a, _p) in self.core.buffers()] == [(0, self.size, True)]
        for p in range(self.size // PAGE):
            acts = self.core.page_event(p, "Teardown")
            assert ("FreePage" in acts) == (p in self.installed)
        assert set(self.core.page_states()) == {"Absent"}


TestCoreMachine = CoreMachine.TestCase
TestCoreMachine.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)


def test_core_reports_errno_and_constants() -> None:
    a = _core.Allocator(4 * PAGE)
    with pytest.raises(OSError) as e:
        a.new_buf(SIZE_MAX)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        _core.Allocator(PAGE + 1)
    assert e.value.errno == errno.EINVAL
    assert _core.MAX_BUFFER_SIZE == 4 << 20
    assert a.new_buf(0)["size"] == 8
