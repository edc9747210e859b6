// SPDX-License-Identifier: GPL-2.0-only

//! Loom checks of the page protocol. Each model is bounded to two preemptions (override with
//! `LOOM_MAX_PREEMPTIONS`) so that the whole file runs in well under a minute with `-j1`.

use binder_alloc_core::PAGE_SIZE;
use binder_alloc_model::{Model, Variant};
use loom::sync::Arc;
use loom::thread;

fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.check(f);
}

/// Sender allocates, publishes and frees a buffer while the receiver faults on its page and
/// the shrinker reclaims: no in-use page is reclaimed, no freed page is mapped, no page leaks.
fn send_fault_shrink(variant: Variant) {
    check(move || {
        let m = Arc::new(Model::new(1, variant));
        let sender = {
            let m = m.clone();
            thread::spawn(move || {
                let off = m.new_buf(64, 1).expect("new_buf");
                m.free_buf(off);
            })
        };
        let receiver = {
            let m = m.clone();
            thread::spawn(move || {
                m.fault(0);
            })
        };
        let shrinker = {
            let m = m.clone();
            thread::spawn(move || {
                m.shrink_one();
            })
        };
        sender.join().unwrap();
        receiver.join().unwrap();
        shrinker.join().unwrap();
        m.teardown();
    });
}

#[test]
fn fault_and_shrinker_race_with_alloc_and_free() {
    send_fault_shrink(Variant::Correct);
}

/// A page already on the LRU (mapped or not) is raced by a fault, the shrinker and a new
/// buffer that takes it back: the shrinker never reclaims it once the new buffer holds it.
#[test]
fn shrinker_never_reclaims_a_page_taken_back_from_the_lru() {
    check(|| {
        let m = Arc::new(Model::new(1, Variant::Correct));
        let off = m.new_buf(64, 1).expect("new_buf");
        m.free_buf(off);
        let sender = {
            let m = m.clone();
            thread::spawn(move || {
                let off = m.new_buf(128, 2).expect("new_buf");
                assert!(m.fault(0), "a live buffer's page must be mappable");
                m.free_buf(off);
            })
        };
        let shrinker = {
            let m = m.clone();
            thread::spawn(move || {
                m.shrink_one();
            })
        };
        let receiver = {
            let m = m.clone();
            thread::spawn(move || {
                m.fault(0);
            })
        };
        sender.join().unwrap();
        shrinker.join().unwrap();
        receiver.join().unwrap();
        m.teardown();
    });
}

/// Two senders allocate buffers sharing one page and install it concurrently: exactly one page
/// is published, the loser's page is discarded, nothing leaks or is freed twice.
#[test]
fn concurrent_installs_of_a_shared_page_publish_one() {
    check(|| {
        let m = Arc::new(Model::new(2, Variant::Correct));
        let t: Vec<_> = (0..2)
            .map(|pid| {
                let m = m.clone();
                thread::spawn(move || m.new_buf(PAGE_SIZE / 4, pid).expect("new_buf"))
            })
            .collect();
        let offs: Vec<usize> = t.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(m.fault(0));
        for off in offs {
            m.free_buf(off);
        }
        m.teardown();
    });
}

#[test]
#[should_panic(expected = "protocol violation")]
fn broken_fault_without_alloc_lock_maps_a_freed_page() {
    send_fault_shrink(Variant::FaultWithoutAllocLock);
}

#[test]
#[should_panic(expected = "protocol violation: page 0 freed while still mapped")]
fn broken_free_before_zap_leaves_a_mapped_freed_page() {
    send_fault_shrink(Variant::FreeBeforeZap);
}
