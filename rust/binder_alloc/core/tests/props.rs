// SPDX-License-Identifier: GPL-2.0-only

//! Property tests of the core: the range allocator's structural invariants and the page-state
//! machine, under random operation sequences driven the way the kernel glue drives them.

use binder_alloc_core::code::{EINVAL, ENOSPC, EPERM, ESRCH};
use binder_alloc_core::flags::GFP_KERNEL;
use binder_alloc_core::page::{install_range, transition, PageAction, PageEvent, PageState};
use binder_alloc_core::range::{sanitized_size, Allocator, BufferRequest, NodeReserve};
use binder_alloc_core::PAGE_SIZE;
use proptest::prelude::*;
use std::collections::BTreeSet;

#[derive(Clone, Debug)]
enum Op {
    New {
        data: usize,
        offsets: usize,
        extra: usize,
        is_async: bool,
        pid: i32,
        install_fails: bool,
    },
    Free(usize),
    Fault(usize, bool),
    Shrink(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            prop_oneof![0usize..64, 0usize..3000, 0usize..20000],
            0usize..64,
            prop_oneof![Just(0usize), 0usize..200],
            any::<bool>(),
            1i32..4,
            prop::bool::weighted(0.05),
        )
            .prop_map(|(data, offsets, extra, is_async, pid, install_fails)| Op::New {
                data,
                offsets,
                extra,
                is_async,
                pid,
                install_fails,
            }),
        4 => any::<usize>().prop_map(Op::Free),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(p, w)| Op::Fault(p, w)),
        1 => any::<usize>().prop_map(Op::Shrink),
    ]
}

/// The userspace stand-in for the kernel glue: applies the page actions to a set of "real"
/// pages and checks each action against what the slot holds.
struct Glue {
    alloc: Allocator,
    live: Vec<usize>,
    /// Indices whose slot holds a page.
    pages: BTreeSet<usize>,
    /// Indices on the LRU list.
    lru: BTreeSet<usize>,
    ever_installed: BTreeSet<usize>,
}

impl Glue {
    fn new(buffer_size: usize) -> Self {
        Glue {
            alloc: Allocator::new(buffer_size, GFP_KERNEL).unwrap(),
            live: Vec::new(),
            pages: BTreeSet::new(),
            lru: BTreeSet::new(),
            ever_installed: BTreeSet::new(),
        }
    }

    fn new_buf(&mut self, req: &BufferRequest, pid: i32, install_fails: bool) {
        let mut reserve = NodeReserve::for_hint(self.alloc.reserve_hint(req), GFP_KERNEL).unwrap();
        let before = self.alloc.free_async_space();
        let Ok(nb) = self.alloc.new_buf(req, pid, &mut reserve) else {
            assert_eq!(
                before,
                self.alloc.free_async_space(),
                "failed new_buf changed async space"
            );
            return;
        };
        assert_eq!(nb.size % 8, 0);
        assert!(nb.size >= req.data_size + req.offsets_size + req.extra_buffers_size);
        for i in nb.lru_del.clone() {
            if self.pages.contains(&i) {
                assert!(
                    self.lru.remove(&i),
                    "page {i} in lru_del was not on the LRU"
                );
            }
        }
        let need: Vec<usize> = nb
            .install
            .clone()
            .filter(|&i| self.alloc.page_state(i) == Some(PageState::Absent))
            .collect();
        assert!(need.iter().all(|i| !self.pages.contains(i)));
        // What the kernel glue backs: from the first to the last absent index.
        let span = self.alloc.absent_span(nb.install.clone());
        match (need.first(), need.last()) {
            (Some(&first), Some(&last)) => assert_eq!(span, first..last + 1),
            _ => assert!(span.is_empty(), "absent span {span:?} with no absent page"),
        }
        if install_fails && !need.is_empty() {
            self.free(nb.offset);
            return;
        }
        for i in need {
            let actions = self.alloc.page_event(i, PageEvent::Installed).unwrap();
            assert!(actions.contains(PageAction::StorePage));
            self.pages.insert(i);
            self.ever_installed.insert(i);
        }
        self.live.push(nb.offset);
    }

    fn free(&mut self, offset: usize) {
        let freed = self.alloc.free_buf(offset).unwrap();
        for i in freed.iter() {
            if self.pages.contains(&i) {
                assert_eq!(self.alloc.page_state(i), Some(PageState::Lru));
                assert!(self.lru.insert(i), "page {i} added to the LRU twice");
            }
        }
    }

    fn shrink(&mut self, pick: usize) {
        if self.lru.is_empty() {
            return;
        }
        let i = *self.lru.iter().nth(pick % self.lru.len()).unwrap();
        let a = self.alloc.page_event(i, PageEvent::Isolate).unwrap();
        assert!(a.contains(PageAction::RemoveFromLru));
        self.lru.remove(&i);
        let a = self.alloc.page_event(i, PageEvent::ReclaimDone).unwrap();
        assert!(a.contains(PageAction::ZapPte) && a.contains(PageAction::FreePage));
        assert!(self.pages.remove(&i));
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::New {
                data,
                offsets,
                extra,
                is_async,
                pid,
                install_fails,
            } => {
                let req = BufferRequest {
                    data_size: data,
                    offsets_size: offsets,
                    extra_buffers_size: extra,
                    is_async,
                };
                self.new_buf(&req, pid, install_fails);
            }
            Op::Free(pick) => {
                if !self.live.is_empty() {
                    let off = self.live.swap_remove(pick % self.live.len());
                    self.free(off);
                }
            }
            Op::Fault(pick, write) => {
                let i = pick % (self.alloc.page_count() + 1);
                let a = self.alloc.fault(i, write);
                let maps = a.contains(PageAction::MapIntoVma);
                assert_eq!(maps, !write && self.pages.contains(&i), "fault on page {i}");
                assert_eq!(a.contains(PageAction::SigBus), !maps);
            }
            Op::Shrink(pick) => self.shrink(pick),
        }
        self.check();
    }

    fn check(&self) {
        self.alloc.check_invariants().unwrap();
        let covered: BTreeSet<usize> = self
            .alloc
            .allocated_buffers()
            .flat_map(|b| install_range(b.offset, b.size))
            .collect();
        for (i, s) in self.alloc.page_states().iter().enumerate() {
            match s {
                PageState::Absent => assert!(!self.pages.contains(&i)),
                PageState::InUse => {
                    assert!(self.pages.contains(&i) && !self.lru.contains(&i));
                    assert!(
                        covered.contains(&i),
                        "page {i} in use but no live buffer covers it"
                    );
                }
                PageState::Lru => {
                    assert!(self.pages.contains(&i) && self.lru.contains(&i));
                    assert!(
                        !covered.contains(&i),
                        "page {i} on the LRU under a live buffer"
                    );
                }
                PageState::Reclaiming => panic!("page {i} left reclaiming"),
            }
        }
        let c = self.alloc.page_counts();
        assert_eq!(c.active + c.lru, self.pages.len());
        assert_eq!(c.lru, self.lru.len());
        assert_eq!(self.alloc.allocated_count(), self.live.len());
        for off in &self.live {
            assert!(self.alloc.allocated_buffer(*off).is_some());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random new/free/fault/shrink sequences keep the buffers tiling the mapping without
    /// overlap or adjacent free buffers, the async space exact, and page states consistent with
    /// the live buffers; freeing everything leaves one free buffer and every page that was
    /// installed and not reclaimed on the LRU.
    #[test]
    fn allocator_invariants_hold_and_free_all_restores_one_buffer(
        pages in 1usize..24,
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut g = Glue::new(pages * PAGE_SIZE);
        for op in &ops {
            g.apply(op);
        }
        let reclaimed_none = g.pages.clone();
        while let Some(off) = g.live.pop() {
            g.free(off);
            g.check();
        }
        let all: Vec<_> = g.alloc.buffers().collect();
        prop_assert_eq!(all.len(), 1);
        prop_assert!(all[0].free && all[0].offset == 0 && all[0].size == pages * PAGE_SIZE);
        prop_assert_eq!(g.alloc.free_async_space(), pages * PAGE_SIZE / 2);
        for i in &reclaimed_none {
            prop_assert_eq!(g.alloc.page_state(*i), Some(PageState::Lru));
        }
        for (i, s) in g.alloc.page_states().iter().enumerate() {
            prop_assert!(*s == PageState::Lru || *s == PageState::Absent);
            prop_assert_eq!(*s == PageState::Lru, g.pages.contains(&i));
        }
        prop_assert!(g.alloc.pages_high() <= pages);
        // Teardown frees every page and leaves nothing.
        g.alloc.vma_close();
        prop_assert_eq!(g.alloc.release_buffers().unwrap(), 0);
        for i in 0..pages {
            let a = g.alloc.page_event(i, PageEvent::Teardown).unwrap();
            prop_assert_eq!(a.contains(PageAction::FreePage), g.pages.contains(&i));
        }
        prop_assert!(g.alloc.page_states().iter().all(|s| *s == PageState::Absent));
    }

    /// Any event sequence on one page keeps the state machine's actions consistent with a
    /// model of the slot and the LRU list.
    #[test]
    fn page_state_machine_actions_match_slot_model(
        events in prop::collection::vec(0u8..8, 1..64),
    ) {
        let mut state = PageState::Absent;
        let (mut has_page, mut on_lru, mut pending_alloc) = (false, false, false);
        for e in events {
            let event = match e {
                0 => PageEvent::Allocate,
                1 => PageEvent::Installed,
                2 => PageEvent::Free,
                3 => PageEvent::Fault { write: false },
                4 => PageEvent::Fault { write: true },
                5 => PageEvent::Isolate,
                6 => PageEvent::ReclaimDone,
                _ => PageEvent::Teardown,
            };
            let Ok((next, actions)) = transition(state, event) else { continue };
            for a in actions.iter() {
                match a {
                    PageAction::AllocPage => { prop_assert!(!has_page); pending_alloc = true; }
                    PageAction::StorePage => { prop_assert!(!has_page); has_page = true; }
                    PageAction::DiscardNewPage => prop_assert!(has_page),
                    PageAction::AddToLru => { prop_assert!(has_page && !on_lru); on_lru = true; }
                    PageAction::RemoveFromLru => { prop_assert!(on_lru); on_lru = false; }
                    PageAction::MapIntoVma => prop_assert!(has_page && next != PageState::Reclaiming),
                    PageAction::SigBus => {}
                    PageAction::ZapPte => prop_assert!(has_page && !on_lru),
                    PageAction::FreePage => { prop_assert!(has_page && !on_lru); has_page = false; }
                }
            }
            let _ = pending_alloc;
            state = next;
            prop_assert_eq!(has_page, state != PageState::Absent);
            prop_assert_eq!(on_lru, state == PageState::Lru);
        }
    }
}

#[test]
fn sanitized_size_aligns_pads_and_rejects_overflow() {
    assert_eq!(sanitized_size(0, 0, 0), Some(8));
    assert_eq!(sanitized_size(1, 0, 0), Some(8));
    assert_eq!(sanitized_size(9, 1, 1), Some(32));
    assert_eq!(sanitized_size(usize::MAX, 0, 0), None);
    assert_eq!(sanitized_size(usize::MAX - 7, 8, 0), None);
    assert_eq!(sanitized_size(8, 8, usize::MAX - 7), None);
    assert_eq!(sanitized_size(usize::MAX - 15, 0, 0), Some(usize::MAX - 15));
}

#[test]
fn errors_follow_c_order() {
    let mut a = Allocator::new(4 * PAGE_SIZE, GFP_KERNEL).unwrap();
    let mut r = NodeReserve::empty();
    let req = |d: usize, is_async| BufferRequest {
        data_size: d,
        offsets_size: 0,
        extra_buffers_size: 0,
        is_async,
    };
    assert_eq!(a.new_buf(&req(usize::MAX, false), 1, &mut r), Err(EINVAL));
    assert_eq!(
        a.new_buf(&req(2 * PAGE_SIZE + 8, true), 1, &mut r),
        Err(ENOSPC)
    );
    assert_eq!(
        a.new_buf(&req(4 * PAGE_SIZE + 8, false), 1, &mut r),
        Err(ENOSPC)
    );
    let whole = a.new_buf(&req(4 * PAGE_SIZE, false), 1, &mut r).unwrap();
    assert_eq!(whole.offset, 0);
    assert_eq!(a.new_buf(&req(0, false), 1, &mut r), Err(ENOSPC));
    a.vma_close();
    assert_eq!(a.new_buf(&req(usize::MAX, false), 1, &mut r), Err(ESRCH));
}

#[test]
fn prepare_to_free_finds_checks_and_clears_allow_user_free() {
    let mut a = Allocator::new(PAGE_SIZE, GFP_KERNEL).unwrap();
    let mut r = NodeReserve::empty();
    let req = BufferRequest {
        data_size: 16,
        ..BufferRequest::default()
    };
    let b = a.new_buf(&req, 1, &mut r).unwrap();
    assert_eq!(a.prepare_to_free(b.offset + 8), Ok(None));
    assert_eq!(a.prepare_to_free(b.offset), Err(EPERM));
    a.set_allow_user_free(b.offset, true).unwrap();
    assert_eq!(
        a.prepare_to_free(b.offset).unwrap().map(|i| i.offset),
        Some(b.offset)
    );
    assert_eq!(a.prepare_to_free(b.offset), Err(EPERM));
}

#[test]
fn best_fit_picks_smallest_hole_and_splits() {
    let mut a = Allocator::new(PAGE_SIZE, GFP_KERNEL).unwrap();
    let mut r = NodeReserve::empty();
    let mut new = |a: &mut Allocator, d| {
        a.new_buf(
            &BufferRequest {
                data_size: d,
                ..BufferRequest::default()
            },
            1,
            &mut r,
        )
        .unwrap()
        .offset
    };
    let x = new(&mut a, 64);
    let _y = new(&mut a, 8);
    let z = new(&mut a, 32);
    let _w = new(&mut a, 8);
    a.free_buf(x).unwrap();
    a.free_buf(z).unwrap();
    // Holes: 64 at x, 32 at z, the tail. 24 bytes go to the 32-byte hole.
    assert_eq!(new(&mut a, 24), z);
    assert_eq!(new(&mut a, 8), z + 24);
    assert_eq!(new(&mut a, 64), x);
    a.check_invariants().unwrap();
}

#[test]
fn oneway_spam_is_flagged_once_when_async_space_runs_low() {
    // 64 KiB: async space 32 KiB; detection starts below 6553 bytes free.
    let mut a = Allocator::new(16 * PAGE_SIZE, GFP_KERNEL).unwrap();
    let mut r = NodeReserve::empty();
    let req = BufferRequest {
        data_size: 1024,
        is_async: true,
        ..BufferRequest::default()
    };
    let mut flags = Vec::new();
    let mut reports = Vec::new();
    while let Ok(b) = a.new_buf(&req, 7, &mut r) {
        flags.push(b.oneway_spam_suspect);
        reports.push(b.spam_report);
    }
    assert_eq!(flags.len(), 32);
    // After 26 buffers 6 KiB are left (< 6553): pid 7 holds 26 KiB > 16 KiB, flagged once.
    assert_eq!(flags.iter().position(|f| *f), Some(25));
    assert_eq!(flags.iter().filter(|f| **f).count(), 1);
    // C logs "spamming oneway?" every time the pid is over the threshold, with the buffers
    // counted before the new one (its pid is set after the check).
    assert!(reports[..25].iter().all(Option::is_none));
    assert_eq!(reports[25], Some((25, 25 * 1024)));
    assert_eq!(reports[31], Some((31, 31 * 1024)));
    assert!(reports[25..].iter().all(Option::is_some));
}

#[test]
fn cookies_follow_their_buffers_and_guard_the_free() {
    let mut a = Allocator::new(PAGE_SIZE, GFP_KERNEL).unwrap();
    let mut r = NodeReserve::empty();
    let req = BufferRequest {
        data_size: 16,
        ..BufferRequest::default()
    };
    let x = a.new_buf_with_cookie(&req, 1, &mut r, 0x1000).unwrap();
    let y = a.new_buf_with_cookie(&req, 1, &mut r, 0x2000).unwrap();
    assert_eq!(a.allocated_cookie(x.offset), Some(0x1000));
    assert_eq!(a.allocated_cookie(y.offset), Some(0x2000));
    assert_eq!(a.allocated_cookie(y.offset + 8), None);
    let cookies: Vec<usize> = a.allocated_buffers().map(|b| b.cookie).collect();
    assert_eq!(cookies, [0x1000, 0x2000]);

    // A wrong cookie or offset frees nothing.
    assert_eq!(a.free_buf_with_cookie(x.offset, 0x2000), Err(EINVAL));
    assert_eq!(a.free_buf_with_cookie(x.offset + 8, 0x1000), Err(EINVAL));
    assert_eq!(a.allocated_buffers().count(), 2);
    a.check_invariants().unwrap();

    a.free_buf_with_cookie(x.offset, 0x1000).unwrap();
    assert_eq!(a.allocated_cookie(x.offset), None);
    assert_eq!(a.allocated_cookie(y.offset), Some(0x2000));
    // The node is reused with its cookie cleared: a plain allocation has cookie 0.
    let z = a.new_buf(&req, 1, &mut r).unwrap();
    assert_eq!(a.allocated_cookie(z.offset), Some(0));
    a.check_invariants().unwrap();
}

#[test]
fn spam_reports_match_a_walk_of_every_buffer() {
    // Three senders fill and drain the async space of a 64 KiB mapping; every report must be
    // what C's walk of all allocated buffers finds, including the new buffer when its stale
    // `pid` (from the node's previous use) is the sender's.
    let mut a = Allocator::new(16 * PAGE_SIZE, GFP_KERNEL).unwrap();
    let mut r = NodeReserve::empty();
    let mut live: Vec<usize> = Vec::new();
    let mut reports = 0;
    let mut stale_hits = 0;
    for step in 0..600usize {
        // Mostly pid 3, so that it goes over the threshold.
        let pid = [3, 3, 5, 3, 9][step * 7 % 5];
        if step % 5 == 4 && !live.is_empty() {
            let offset = live.remove(step * 13 % live.len());
            a.free_buf(offset).unwrap();
            continue;
        }
        let req = BufferRequest {
            data_size: 256 + step * 97 % 1500,
            is_async: true,
            ..BufferRequest::default()
        };
        let before: Vec<_> = a.buffers().collect();
        let Ok(b) = a.new_buf(&req, pid, &mut r) else {
            // Out of async space: drain some.
            for offset in live.drain(..live.len() / 2) {
                a.free_buf(offset).unwrap();
            }
            continue;
        };
        live.push(b.offset);
        let mut count = 0;
        let mut total = 0;
        for old in &before {
            let counted = if old.offset == b.offset {
                // The node the new buffer reuses, with its stale pid.
                old.pid == pid
            } else {
                !old.free && old.async_transaction && old.pid == pid
            };
            if counted {
                count += 1;
                total += if old.offset == b.offset {
                    b.size
                } else {
                    old.size
                };
            }
        }
        if before.iter().any(|o| o.offset == b.offset && o.pid == pid) {
            stale_hits += 1;
        }
        let low = a.free_async_space() < a.buffer_size() / 10;
        let over = count > 50 || total > a.buffer_size() / 4;
        assert_eq!(
            b.spam_report,
            (low && over).then_some((count, total)),
            "step {step}"
        );
        reports += usize::from(b.spam_report.is_some());
        a.check_invariants().unwrap();
    }
    // The sequence reaches both cases it is meant to check.
    assert!(
        reports > 0 && stale_hits > 0,
        "{reports} reports, {stale_hits} stale hits"
    );
}

#[test]
fn reserve_hint_covers_new_async_senders() {
    let mut a = Allocator::new(16 * PAGE_SIZE, GFP_KERNEL).unwrap();
    let req = |is_async| BufferRequest {
        data_size: 64,
        is_async,
        ..BufferRequest::default()
    };
    // A fresh allocator has no holder table yet: only a oneway buffer needs one.
    assert!(a.reserve_hint(&req(false)).is_empty());
    assert!(!a.reserve_hint(&req(true)).is_empty());
    let mut r = NodeReserve::for_hint(a.reserve_hint(&req(true)), GFP_KERNEL).unwrap();
    for pid in 1..=4 {
        a.new_buf(&req(true), pid, &mut r).unwrap();
        // The arena may need room too; a oneway buffer asks for nothing more.
        if pid < 4 {
            assert_eq!(
                a.reserve_hint(&req(true)),
                a.reserve_hint(&req(false)),
                "pid {pid}"
            );
        }
    }
    // Four senders fill the reserved table; a fifth may need more room.
    assert_ne!(a.reserve_hint(&req(true)), a.reserve_hint(&req(false)));
    let mut r = NodeReserve::for_hint(a.reserve_hint(&req(true)), GFP_KERNEL).unwrap();
    a.new_buf(&req(true), 5, &mut r).unwrap();
    a.check_invariants().unwrap();
}
