// SPDX-License-Identifier: GPL-2.0-only

//! Loom models of the fault-driven allocator's concurrent page protocol.
//!
//! The model runs the protocol the kernel glue runs, over the real core
//! ([`binder_alloc_core`]) and kernel-shaped locks ([`sync`]):
//!
//! * the sender allocates a buffer under the allocator lock, allocates the missing pages with
//!   no lock held, and publishes them under the allocator lock;
//! * freeing a buffer moves its pages to the LRU (allocator lock, then LRU lock);
//! * the receiver's fault handler maps a page under the mmap lock (read) and the allocator
//!   lock;
//! * the shrinker reclaims with trylocks only (mmap lock, then allocator lock), isolates under
//!   the LRU lock, zaps the PTE and clears the slot under the allocator lock, and frees the
//!   page after unlocking;
//! * teardown (`munmap` + `binder_alloc_deferred_release()`) frees everything.
//!
//! Lock order: mmap lock -> allocator lock -> LRU lock.
//!
//! Pages, PTEs and the checker's books are plain `std` state: they stand for memory whose
//! accesses are ordered by the modelled locks, and they let the checks panic at the first
//! violation: an in-use page reclaimed, a freed or reclaimed page mapped, a page freed twice or
//! leaked, anything left after teardown.

#![forbid(unsafe_code)]

pub mod sync;

use binder_alloc_core::flags::GFP_KERNEL;
use binder_alloc_core::page::{install_range, PageAction, PageEvent, PageState};
use binder_alloc_core::range::{Allocator, BufferRequest, NodeReserve};
use binder_alloc_core::PAGE_SIZE;
use loom::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex as StdMutex;
use sync::{Mutex, RwSem, SpinLock};

/// Which protocol the model runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The designed protocol.
    Correct,
    /// Broken: the fault handler reads the slot and maps without the allocator lock.
    FaultWithoutAllocLock,
    /// Broken: the shrinker frees the page before zapping the receiver's PTE.
    FreeBeforeZap,
}

/// The checker's view of physical pages: which page ids are live.
#[derive(Debug, Default)]
struct Pages {
    live: Vec<bool>,
}

/// Shared state of one binder process and its receiver's mm.
pub struct Model {
    variant: Variant,
    /// The mmap lock; its data says whether the VMA still exists.
    mmap: RwSem<bool>,
    /// The allocator lock and the core state under it.
    alloc: Mutex<Allocator>,
    /// The driver's page slots (`alloc->pages[]`): page id + 1, or 0. Written under the
    /// allocator lock with release, read with acquire.
    slots: Vec<AtomicUsize>,
    /// The global `list_lru` of page indices.
    lru: SpinLock<Vec<usize>>,
    /// The receiver's PTEs (page id per index), protected by the page-table lock.
    ptes: StdMutex<Vec<Option<usize>>>,
    pages: StdMutex<Pages>,
}

impl Model {
    /// A mapped process with `npages` pages.
    pub fn new(npages: usize, variant: Variant) -> Self {
        let alloc = Allocator::new(npages * PAGE_SIZE, GFP_KERNEL).expect("Allocator::new");
        Model {
            variant,
            mmap: RwSem::new(true),
            alloc: Mutex::new(alloc),
            slots: (0..npages).map(|_| AtomicUsize::new(0)).collect(),
            lru: SpinLock::new(Vec::new()),
            ptes: StdMutex::new(vec![None; npages]),
            pages: StdMutex::new(Pages::default()),
        }
    }

    fn page_alloc(&self) -> usize {
        let mut p = self.pages.lock().unwrap();
        p.live.push(true);
        p.live.len() - 1
    }

    fn page_free(&self, id: usize) {
        let ptes = self.ptes.lock().unwrap();
        assert!(
            !ptes.contains(&Some(id)),
            "protocol violation: page {id} freed while still mapped in the receiver"
        );
        let mut p = self.pages.lock().unwrap();
        assert!(p.live[id], "page {id} freed twice");
        p.live[id] = false;
    }

    fn slot(&self, index: usize) -> Option<usize> {
        self.slots[index].load(Ordering::Acquire).checked_sub(1)
    }

    /// `binder_alloc_new_buf()`: allocate `data` bytes for `pid`, back them with pages.
    /// Returns the offset.
    pub fn new_buf(&self, data: usize, pid: i32) -> Option<usize> {
        let req = BufferRequest {
            data_size: data,
            ..BufferRequest::default()
        };
        // C's kzalloc of the next buffer, before the lock.
        let mut reserve = NodeReserve::new(16, GFP_KERNEL).ok()?;
        let (nb, need) = {
            let mut a = self.alloc.lock();
            let nb = a.new_buf(&req, pid, &mut reserve).ok()?;
            for i in nb.lru_del.clone() {
                if self.slot(i).is_some() {
                    let mut lru = self.lru.lock();
                    let pos = lru
                        .iter()
                        .position(|&x| x == i)
                        .expect("page not on the LRU");
                    lru.remove(pos);
                }
            }
            let need: Vec<usize> = nb
                .install
                .clone()
                .filter(|&i| a.page_state(i) == Some(PageState::Absent))
                .collect();
            (nb, need)
        };
        drop(reserve);
        for i in need {
            // Page allocation sleeps: no lock held.
            let page = self.page_alloc();
            let mut a = self.alloc.lock();
            let actions = a.page_event(i, PageEvent::Installed).expect("Installed");
            if actions.contains(PageAction::StorePage) {
                self.slots[i].store(page + 1, Ordering::Release);
            } else {
                drop(a);
                self.page_free(page);
            }
        }
        Some(nb.offset)
    }

    /// `binder_alloc_free_buf()`.
    pub fn free_buf(&self, offset: usize) {
        let mut a = self.alloc.lock();
        let freed = a.free_buf(offset).expect("free_buf");
        let mut lru = self.lru.lock();
        for i in freed.iter() {
            if self.slot(i).is_some() {
                assert!(!lru.contains(&i), "page {i} added to the LRU twice");
                lru.push(i);
            }
        }
    }

    /// The receiver's `->fault()` on page `index` (read fault). Returns whether it mapped.
    pub fn fault(&self, index: usize) -> bool {
        let mm = self.mmap.read();
        if !*mm {
            return false;
        }
        if self.variant == Variant::FaultWithoutAllocLock {
            let Some(page) = self.slot(index) else {
                return false;
            };
            return self.map(index, page);
        }
        let mut a = self.alloc.lock();
        if !a.fault(index, false).contains(PageAction::MapIntoVma) {
            return false;
        }
        let page = self.slot(index).expect("mappable page without a slot");
        let mapped = self.map(index, page);
        drop(a);
        mapped
    }

    fn map(&self, index: usize, page: usize) -> bool {
        let mut ptes = self.ptes.lock().unwrap();
        assert!(
            self.pages.lock().unwrap().live[page],
            "protocol violation: fault maps freed page {page}"
        );
        ptes[index] = Some(page);
        true
    }

    /// One step of the shrinker (`binder_alloc_free_page()`); returns whether it freed a page.
    pub fn shrink_one(&self) -> bool {
        let Some(mm) = self.mmap.try_read() else {
            return false;
        };
        let Some(mut a) = self.alloc.try_lock() else {
            return false;
        };
        let index = {
            let mut lru = self.lru.lock();
            let Some(index) = lru.pop() else {
                return false;
            };
            a.page_event(index, PageEvent::Isolate)
                .expect("isolating a page that is not on the LRU");
            index
        };
        for b in a.allocated_buffers() {
            assert!(
                !install_range(b.offset, b.size).contains(&index),
                "reclaiming page {index} under a live buffer"
            );
        }
        let actions = a
            .page_event(index, PageEvent::ReclaimDone)
            .expect("ReclaimDone");
        assert!(actions.contains(PageAction::ZapPte) && actions.contains(PageAction::FreePage));
        let page = self.slot(index).expect("reclaiming an empty slot");
        if self.variant == Variant::FreeBeforeZap {
            self.slots[index].store(0, Ordering::Release);
            drop(a);
            self.page_free(page);
            if *mm {
                self.ptes.lock().unwrap()[index] = None;
            }
            return true;
        }
        if *mm {
            self.ptes.lock().unwrap()[index] = None;
        }
        self.slots[index].store(0, Ordering::Release);
        drop(a);
        drop(mm);
        self.page_free(page);
        true
    }

    /// `munmap()` + `binder_alloc_vma_close()` + `binder_alloc_deferred_release()`, then the
    /// final checks: no page left, no slot set, nothing on the LRU, no PTE.
    pub fn teardown(&self) {
        {
            let mut mm = self.mmap.write();
            self.ptes.lock().unwrap().iter_mut().for_each(|p| *p = None);
            *mm = false;
        }
        let mut a = self.alloc.lock();
        a.vma_close();
        a.release_buffers().expect("release_buffers");
        // Pages freed by release_buffers() go to the LRU first, as in C.
        for i in 0..self.slots.len() {
            if self.slot(i).is_some() && a.page_state(i) == Some(PageState::Lru) {
                let mut lru = self.lru.lock();
                if !lru.contains(&i) {
                    lru.push(i);
                }
            }
        }
        for i in 0..self.slots.len() {
            let actions = a.page_event(i, PageEvent::Teardown).expect("teardown");
            if actions.contains(PageAction::RemoveFromLru) {
                let mut lru = self.lru.lock();
                let pos = lru
                    .iter()
                    .position(|&x| x == i)
                    .expect("page not on the LRU");
                lru.remove(pos);
            }
            if actions.contains(PageAction::FreePage) {
                let page = self.slot(i).expect("freeing an empty slot");
                self.slots[i].store(0, Ordering::Release);
                self.page_free(page);
            }
        }
        assert!(self.lru.lock().is_empty(), "LRU not empty after teardown");
        assert!(
            self.slots.iter().all(|s| s.load(Ordering::Acquire) == 0),
            "slot left after teardown"
        );
        assert!(
            self.pages.lock().unwrap().live.iter().all(|l| !l),
            "page leaked after teardown"
        );
    }
}
