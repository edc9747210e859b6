// SPDX-License-Identifier: GPL-2.0-only

//! The page-state machine of the fault-driven allocator, and the page-range arithmetic that the
//! C allocator (Linux 7.3) does in `binder_lru_freelist_del()`, `binder_install_buffer_pages()`,
//! `binder_free_buf_locked()` and `binder_delete_free_buffer()`.
//!
//! Each page index of the mapping is in one [`PageState`]. [`transition`] is a pure function
//! from a state and a [`PageEvent`] to the next state and the [`PageActions`] the kernel glue must
//! carry out, in order, under the locks named in the event's documentation. Invalid pairs are
//! errors: they can only come from a bug in the glue, and the glue reports them instead of acting.
//!
//! Lock order (written once, for the whole allocator): mmap/VMA lock -> allocator lock -> LRU
//! lock. Every event is applied under the allocator lock; the shrinker takes it by trylock.

#![forbid(unsafe_code)]

use crate::env::{
    code::{EBUSY, EINVAL},
    Result, PAGE_SIZE,
};
use core::ops::Range;

/// The state of one page index of the mapping.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageState {
    /// No page is installed in the slot (C: `alloc->pages[i] == NULL`).
    Absent,
    /// A page is installed and covered by at least one live buffer; it is off the LRU.
    InUse,
    /// A page is installed, no live buffer covers it, and it is on the LRU.
    Lru,
    /// The shrinker has isolated the page from the LRU and is zapping and freeing it.
    Reclaiming,
}

/// Something that happens to one page index.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageEvent {
    /// A new buffer covers the page (`binder_lru_freelist_del()` / the install loop).
    Allocate,
    /// The glue allocated a page for the index outside the allocator lock and now publishes it
    /// (`binder_set_installed_page()`).
    Installed,
    /// The last buffer on the page was freed (`binder_lru_freelist_add()`).
    Free,
    /// The receiver faulted on the page (`->fault()`, under the mmap or VMA lock and the
    /// allocator lock). `write` is true for a write fault.
    Fault {
        /// The fault is a write fault.
        write: bool,
    },
    /// The shrinker isolated the page from the LRU (allocator lock by trylock, then LRU lock).
    Isolate,
    /// The shrinker finished zapping the receiver's PTE; the page can be freed.
    ReclaimDone,
    /// The allocator is torn down (`binder_alloc_deferred_release()`); the VMA is gone.
    Teardown,
}

/// One thing the kernel glue must do for a page.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageAction {
    /// Allocate a zeroed page for the index, outside the allocator lock, then report
    /// [`PageEvent::Installed`].
    AllocPage,
    /// Store the newly allocated page in the slot.
    StorePage,
    /// Another task installed a page first: free the page just allocated.
    DiscardNewPage,
    /// Add the slot's page to the LRU (`list_lru_add()`).
    AddToLru,
    /// Remove the slot's page from the LRU (`list_lru_del()` or `list_lru_isolate()`).
    RemoveFromLru,
    /// Insert the slot's page into the faulting VMA (`vmf_insert_page_mkwrite(.., false)`).
    MapIntoVma,
    /// Fail the fault with `VM_FAULT_SIGBUS`.
    SigBus,
    /// Zap the receiver's PTE for the index (`zap_vma_range()`).
    ZapPte,
    /// Clear the slot and free its page (may be deferred until after the locks are dropped).
    FreePage,
}

/// The ordered actions produced by one transition (at most [`PageActions::MAX`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PageActions {
    actions: [Option<PageAction>; PageActions::MAX],
}

impl PageActions {
    /// The largest number of actions of one transition.
    pub const MAX: usize = 2;

    /// No action.
    pub const NONE: PageActions = PageActions {
        actions: [None, None],
    };

    /// Just [`PageAction::SigBus`].
    pub const SIGBUS: PageActions = PageActions::one(PageAction::SigBus);

    const fn one(a: PageAction) -> Self {
        PageActions {
            actions: [Some(a), None],
        }
    }

    const fn two(a: PageAction, b: PageAction) -> Self {
        PageActions {
            actions: [Some(a), Some(b)],
        }
    }

    /// The actions, in the order they must be carried out.
    #[inline(always)]
    pub fn iter(&self) -> impl Iterator<Item = PageAction> + '_ {
        self.actions.iter().flatten().copied()
    }

    /// Whether `action` is among the actions.
    #[inline(always)]
    pub fn contains(&self, action: PageAction) -> bool {
        self.iter().any(|a| a == action)
    }

    /// Whether there is no action.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.actions[0].is_none()
    }
}

/// The page-state machine: the state after `event` in `state`, and what the glue must do.
///
/// Returns `EINVAL` for an event that cannot happen in `state` when the glue follows the
/// protocol, and `EBUSY` for an event that meets a page being reclaimed (the shrinker must
/// isolate, zap and clear the slot in one allocator-lock section, as C does).
#[inline(always)]
pub fn transition(state: PageState, event: PageEvent) -> Result<(PageState, PageActions)> {
    use PageAction::*;
    use PageEvent as E;
    use PageState::*;

    Ok(match (state, event) {
        // A write fault would copy the page into an anonymous one: always SIGBUS.
        (s, E::Fault { write: true }) => (s, PageActions::one(SigBus)),
        // Decision 3: map only indices that hold a page.
        (InUse | Lru, E::Fault { write: false }) => (state, PageActions::one(MapIntoVma)),
        (Absent | Reclaiming, E::Fault { write: false }) => (state, PageActions::one(SigBus)),

        (Absent, E::Allocate) => (Absent, PageActions::one(AllocPage)),
        (InUse, E::Allocate) => (InUse, PageActions::NONE),
        (Lru, E::Allocate) => (InUse, PageActions::one(RemoveFromLru)),
        (Reclaiming, E::Allocate) => return Err(EBUSY),

        (Absent, E::Installed) => (InUse, PageActions::one(StorePage)),
        (InUse, E::Installed) => (InUse, PageActions::one(DiscardNewPage)),
        (Lru, E::Installed) => return Err(EINVAL),
        (Reclaiming, E::Installed) => return Err(EBUSY),

        // C skips indices whose page was never installed (failed or pending install).
        (Absent, E::Free) => (Absent, PageActions::NONE),
        (InUse, E::Free) => (Lru, PageActions::one(AddToLru)),
        (Lru, E::Free) => return Err(EINVAL),
        (Reclaiming, E::Free) => return Err(EBUSY),

        (Lru, E::Isolate) => (Reclaiming, PageActions::one(RemoveFromLru)),
        (Absent | InUse | Reclaiming, E::Isolate) => return Err(EINVAL),

        (Reclaiming, E::ReclaimDone) => (Absent, PageActions::two(ZapPte, FreePage)),
        (Absent | InUse | Lru, E::ReclaimDone) => return Err(EINVAL),

        (Absent, E::Teardown) => (Absent, PageActions::NONE),
        (InUse, E::Teardown) => (Absent, PageActions::one(FreePage)),
        (Lru, E::Teardown) => (Absent, PageActions::two(RemoveFromLru, FreePage)),
        (Reclaiming, E::Teardown) => return Err(EBUSY),
    })
}

/// A half-open range of page indices.
pub type PageRange = Range<usize>;

/// `PAGE_ALIGN(off) / PAGE_SIZE`: the first page starting at or after `off`.
pub const fn page_up(off: usize) -> usize {
    off.div_ceil(PAGE_SIZE)
}

/// `(off & PAGE_MASK) / PAGE_SIZE`: the page containing byte `off`.
pub const fn page_down(off: usize) -> usize {
    off / PAGE_SIZE
}

/// Pages a buffer at `offset` of `size` bytes touches (`binder_install_buffer_pages()`:
/// `user_data & PAGE_MASK` up to `PAGE_ALIGN(user_data + size)`).
#[inline(always)]
pub const fn install_range(offset: usize, size: usize) -> PageRange {
    page_down(offset)..page_up(offset + size)
}

/// Pages a new buffer takes off the LRU (`binder_alloc_new_buf_locked()`): from
/// `PAGE_ALIGN(user_data)` to `min(next_used_page, curr_last_page)`, where `free_size` is the
/// size of the free buffer it was carved from. The first partial page and a last page shared
/// with the next (in-use) buffer are excluded: they are already off the LRU.
#[inline(always)]
pub fn lru_del_range(offset: usize, size: usize, free_size: usize) -> PageRange {
    let next_used_page = page_down(offset + free_size);
    let curr_last_page = page_up(offset + size);
    page_up(offset)..next_used_page.min(curr_last_page)
}

/// Pages fully inside a freed buffer (`binder_free_buf_locked()`: `PAGE_ALIGN(user_data)` to
/// `(user_data + buffer_size) & PAGE_MASK`); partial first and last pages are excluded here and
/// handled by [`merged_page`] when a neighbour merges.
#[inline(always)]
pub fn free_range(offset: usize, size: usize) -> PageRange {
    page_up(offset)..page_down(offset + size)
}

/// The page that `binder_delete_free_buffer()` puts on the LRU when the free buffer at
/// `offset` is merged into its free predecessor at `prev_offset`, or `None` when the page is
/// still shared. `next_offset` is the start of the buffer after it, if any.
///
/// C's rules: nothing if the buffer is page aligned; nothing if the page holding the byte just
/// before the predecessor (`prev_buffer_end_page(prev)`) is the buffer's first page; nothing if
/// the next buffer starts on the same page; else the buffer's first page.
#[inline(always)]
pub fn merged_page(prev_offset: usize, offset: usize, next_offset: Option<usize>) -> Option<usize> {
    // PAGE_SIZE is a power of two: this is C's PAGE_ALIGNED().
    if offset & (PAGE_SIZE - 1) == 0 {
        return None;
    }
    let start_page = page_down(offset);
    // For a predecessor at offset 0 the byte before it is below the mapping, on no page of it.
    if prev_offset.checked_sub(1).map(page_down) == Some(start_page) {
        return None;
    }
    if next_offset.map(page_down) == Some(start_page) {
        return None;
    }
    Some(start_page)
}
