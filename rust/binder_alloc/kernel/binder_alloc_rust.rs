// SPDX-License-Identifier: GPL-2.0-only

//! The fault-driven binder buffer allocator: kernel glue.
//!
//! `binder_alloc_shim.c` implements `binder_alloc.h` by calling the `rust_binder_alloc_*`
//! functions of this file. The bookkeeping (range allocator, async space, oneway spam detection,
//! page states) is the pure core in `../core/src/`; this file executes what the core decides under
//! the real locks: it owns one page slot per page index of the mapping (a pointer to the
//! [`PageMeta`] of the installed page: the driver's own page reference and its LRU entry; the
//! slots come in chunks allocated on first use, see [`Slots`]), backs new buffers, maps backed
//! pages from `->fault()` (with the live pages around the faulting one), puts freed pages on the
//! LRU and lets the shrinker reclaim them.
//!
//! # Lock order
//!
//! 1. the receiver's mmap lock or VMA lock (held by the mm core around `->fault()`; taken by
//!    trylock in the shrinker),
//! 2. the allocator lock [`BinderAllocRust::inner`],
//! 3. the LRU lock (`list_lru` internal spinlock).
//!
//! The shrinker runs with the LRU lock held and therefore takes 1 and 2 only by trylock. Nothing
//! takes an mm lock while holding the allocator lock; the sender never takes any lock of the
//! receiver's mm. Pages are allocated with no lock held (see [`BinderAllocRust::new_buf`]).
//! The copies into and out of a live buffer take none of these locks (see
//! [`Slot::live_page`]).

#[path = "../core/src/env_kernel.rs"]
#[allow(
    unused_imports,
    reason = "the seam names `Error` for the Cargo build; the kernel build of the core does not"
)]
mod env;
#[path = "../core/src/page.rs"]
pub mod page;
#[path = "../core/src/range.rs"]
pub mod range;
#[path = "../core/src/rbtree.rs"]
pub mod rbtree;

use core::{
    cell::UnsafeCell,
    ptr::{self, NonNull},
};

use kernel::{
    bindings,
    impl_has_list_lru_entry,
    list_lru::{
        ListLru,
        ListLruEntry,
        LruWalkItem,
        LruWalkResult, //
    },
    mm::{
        fault::{
            VmFault,
            VmFaultReason, //
        },
        gup::GupFlags,
        virt::VmaRef,
        Mm,
        MmWithUser, //
    },
    new_mutex,
    page::PAGE_SIZE,
    page_ref::SharedPage,
    prelude::*,
    shrinker::{
        CountObjects,
        ScanObjects,
        ShrinkControl,
        Shrinker,
        ShrinkerBuilder,
        ShrinkerFlags,
        ShrinkerRegistration, //
    },
    sizes::{
        SZ_1M,
        SZ_64K, //
    },
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Full, //
        },
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

use page::{
    PageAction,
    PageEvent,
    PageState, //
};
use range::{
    sanitized_size,
    Allocator,
    BufferRequest,
    NodeReserve,
    ReserveHint,
    MAX_BUFFER_SIZE, //
};

/// Prefix of the messages of this object, as `pr_fmt()` of `binder_alloc.c`.
const __LOG_PREFIX: &[u8] = b"binder_alloc\0";

/// `struct binder_alloc` of `binder_alloc_rust.h`; opaque here, only passed back to C.
#[repr(C)]
pub struct CBinderAlloc {
    _opaque: [u8; 0],
}

/// `struct binder_buffer` of `binder_alloc.h`; opaque here, fields are reached through the shim.
#[repr(C)]
pub struct CBinderBuffer {
    _opaque: [u8; 0],
}

/// `struct binder_alloc_rust_buffer_init` of `binder_alloc_rust.h`.
#[repr(C)]
struct CBufferInit {
    user_data: c_ulong,
    data_size: usize,
    offsets_size: usize,
    extra_buffers_size: usize,
    pid: c_int,
    async_transaction: bool,
    oneway_spam_suspect: bool,
}

/// `struct binder_alloc_rust_buffer_view` of `binder_alloc_rust.h`.
#[repr(C)]
#[derive(Default)]
struct CBufferView {
    user_data: c_ulong,
    data_size: usize,
    offsets_size: usize,
    extra_buffers_size: usize,
    free: bool,
    clear_on_free: bool,
    allow_user_free: bool,
    has_transaction: bool,
}

// Functions of `binder_alloc_shim.c`: plain accessors for C structures, tracepoints and seq_file.
extern "C" {
    fn binder_alloc_rust_set_mapped(
        alloc: *mut CBinderAlloc,
        vm_start: c_ulong,
        buffer_size: usize,
        mapped: bool,
    );
    fn binder_alloc_rust_buffer_alloc() -> *mut CBinderBuffer;
    fn binder_alloc_rust_buffer_init(buffer: *mut CBinderBuffer, init: *const CBufferInit);
    fn binder_alloc_rust_buffer_delete(buffer: *mut CBinderBuffer);
    fn binder_alloc_rust_buffer_view(buffer: *const CBinderBuffer, view: *mut CBufferView);
    fn binder_alloc_rust_buffer_take_user_free(buffer: *mut CBinderBuffer) -> bool;
    fn binder_alloc_rust_buffer_clear_clear_on_free(buffer: *mut CBinderBuffer);
    // `struct seq_file` is passed as `void *`: its bindgen type is not FFI-safe.
    fn binder_alloc_rust_print_buffer(
        m: *mut c_void,
        buffer: *const CBinderBuffer,
        offset: c_ulong,
    );
    fn binder_alloc_rust_print_pages(
        m: *mut c_void,
        active: c_int,
        lru: c_int,
        free: c_int,
        pages_high: usize,
    );
    fn binder_alloc_rust_debug_print(mask: u32) -> bool;
    fn binder_alloc_rust_op_flags() -> u32;
    fn binder_alloc_rust_gup_check_done(result: c_int);
    fn binder_alloc_rust_trace_update_page_range(
        alloc: *mut CBinderAlloc,
        allocate: bool,
        start: c_ulong,
        end: c_ulong,
    );
    fn binder_alloc_rust_trace_alloc_lru_start(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_alloc_lru_end(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_free_lru_start(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_free_lru_end(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_alloc_page_start(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_alloc_page_end(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_unmap_user_start(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_unmap_user_end(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_unmap_kernel_start(alloc: *mut CBinderAlloc, index: usize);
    fn binder_alloc_rust_trace_unmap_kernel_end(alloc: *mut CBinderAlloc, index: usize);
}

/// Pages a fault maps around the faulting one ([`BinderAllocRust::fault_around`]): the mm's
/// default `fault_around_bytes`, 64 KiB (16 pages of 4 KiB).
const FAULT_AROUND_PAGES: usize = if PAGE_SIZE < SZ_64K {
    SZ_64K / PAGE_SIZE
} else {
    1
};

/// How far, in pages, [`BinderAllocRust::fault_around`] follows a run of live pages beyond its
/// window, in each direction: 1 MiB.
const FAULT_AROUND_RUN_PAGES: usize = SZ_1M / PAGE_SIZE;

/// `BINDER_DEBUG_USER_ERROR` of `binder_alloc.c`.
const DEBUG_USER_ERROR: u32 = 1 << 0;
/// `BINDER_DEBUG_OPEN_CLOSE` of `binder_alloc.c`.
const DEBUG_OPEN_CLOSE: u32 = 1 << 1;
/// `BINDER_DEBUG_BUFFER_ALLOC` of `binder_alloc.c`.
const DEBUG_BUFFER_ALLOC: u32 = 1 << 2;

/// `binder_alloc_debug()`: prints when `mask` is set in the `alloc_debug_mask` parameter,
/// rate-limited as C's `pr_info_ratelimited()` (one limit per class, see the shim).
macro_rules! alloc_debug {
    ($mask:expr, $($arg:tt)*) => {
        // SAFETY: Reads a module parameter and updates a ratelimit state; no precondition.
        if unsafe { binder_alloc_rust_debug_print($mask) } {
            cold_path(|| pr_info!($($arg)*));
        }
    };
}

/// Runs `f` out of line, as a cold call: for the rare branches of the allocation and free
/// paths (debug messages, errors).
///
/// Keeps those paths' code (formatting a message takes many instructions) off the pages of the
/// hot paths. Under QEMU TCG, where this project's benchmarks run, every distinct code page an
/// operation touches after a context switch costs a software TLB refill, measured at about
/// 1,250 host cycles per page: an allocator operation's cost there follows the number of
/// pages its code spans more than its instruction count.
#[cold]
#[inline(never)]
fn cold_path<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// One installed page: the driver's page reference and its LRU entry (C's
/// `struct binder_shrinker_mdata`, which C reaches through `page->private`).
///
/// Allocated with its page in [`BinderAllocRust::install_pages`] and freed with it (reclaim or
/// teardown); never moved in between (it is pinned in its box), so the LRU may hold its entry.
/// `lru` is on the LRU `owner.freelist` exactly when the core's state of `index` is
/// [`PageState::Lru`]; it is linked and unlinked with `owner.inner` locked.
#[pin_data]
struct PageMeta {
    #[pin]
    lru: ListLruEntry,
    page: ARef<SharedPage>,
    owner: *const BinderAllocRust,
    index: usize,
    /// The NUMA node of `page` (the LRU list it goes on), looked up once at allocation.
    nid: c_int,
}

impl_has_list_lru_entry! {
    impl HasListLruEntry for PageMeta { self.lru }
}

// SAFETY: `owner` points to a `Sync` object that outlives the metadata (the allocator frees its
// pages before it is freed); the other fields are immutable or (`lru`) protected by the LRU
// lock.
unsafe impl Sync for PageMeta {}
// SAFETY: As above; an `ARef<SharedPage>` may be dropped on any thread.
unsafe impl Send for PageMeta {}

/// The installed page of one page index of the mapping, if any: 8 bytes per index, as an entry
/// of C's `alloc->pages[]`.
///
/// # Invariants
///
/// `meta` is written only with the owner's allocator lock held (through [`Inner::set_page`]),
/// and read either with it held (through [`Inner::meta`]) or, while a buffer covering the
/// index is allocated, without it (through [`Slot::live_page`]): no write happens then.
struct Slot {
    meta: UnsafeCell<Option<Pin<KBox<PageMeta>>>>,
}

impl Slot {
    /// A slot with no page.
    fn empty() -> Slot {
        Slot {
            meta: UnsafeCell::new(None),
        }
    }

    /// The page of this slot, read without the allocator lock.
    ///
    /// # Safety
    ///
    /// The slot's index is covered by a buffer of its owner that stays allocated (not freed,
    /// not released) while the returned reference is used.
    unsafe fn live_page(&self) -> Option<&SharedPage> {
        // SAFETY: The page is under an allocated buffer (precondition), so it is `InUse`:
        // `new_buf` installed it before returning the buffer, and until the buffer is freed
        // nothing writes this slot: `install_pages` only writes `Absent` slots, the shrinker
        // only `Lru` ones, and `release` runs when binder is done with every buffer. Writers
        // of other slots write other `UnsafeCell`s. So this read races with no write, and the
        // metadata it points to is not freed while the reference is used.
        unsafe { (*self.meta.get()).as_deref().map(|m| &*m.page) }
    }
}

// SAFETY: `meta` is written only under the owner's lock and never while a lock-free reader may
// read it (type invariants); what it points to is `Sync`.
unsafe impl Sync for Slot {}
// SAFETY: As above; the metadata may be dropped on any thread.
unsafe impl Send for Slot {}

/// Page indices per chunk of [`Slots`]: 32 slots of 8 bytes, one kmalloc-256 object.
const SLOTS_PER_CHUNK: usize = 32;

/// The slots of [`SLOTS_PER_CHUNK`] consecutive page indices.
struct SlotChunk([Slot; SLOTS_PER_CHUNK]);

/// One entry of the slot directory: the chunk of its page indices, if one was allocated.
///
/// # Invariants
///
/// `chunk` is written at most once, from `None` to `Some`, with the owner's allocator lock held
/// (through [`Inner::add_chunk`]), and only while none of its indices has a page; it is not
/// changed again until the directory is dropped. A chunk is therefore present, and stays put,
/// for every index that has a page.
struct ChunkEntry {
    chunk: UnsafeCell<Option<KBox<SlotChunk>>>,
}

impl ChunkEntry {
    /// An entry with no chunk.
    fn empty() -> ChunkEntry {
        ChunkEntry {
            chunk: UnsafeCell::new(None),
        }
    }
}

// SAFETY: `chunk` changes once, under the owner's lock, while no reader can be reading it (type
// invariants; see [`SlotsView::get`]); the slots it points to are `Sync`.
unsafe impl Sync for ChunkEntry {}
// SAFETY: As above; the chunk may be dropped on any thread.
unsafe impl Send for ChunkEntry {}

/// The page slots of the mapping: a directory of one [`ChunkEntry`] per [`SLOTS_PER_CHUNK`]
/// page indices, whose chunks are allocated when the first page among their indices is
/// installed.
///
/// C allocates its page array whole at `mmap` (2 KiB for a 1 MiB mapping) and most processes
/// use a few of its entries; here a process that only ever uses pages of one chunk has a
/// 64-byte directory and one 256-byte chunk. A fully used mapping costs one directory entry
/// per 32 pages more than C.
struct Slots {
    /// Allocated at `mmap` and never resized, so that the lock-free copy paths can read it (see
    /// [`BinderAllocRust::published_slots`]) until `self` is dropped. `kvmalloc`ed, as C's
    /// `alloc->pages`.
    dir: KVVec<ChunkEntry>,
    /// The number of page indices.
    len: usize,
}

impl Slots {
    /// No slots (before `mmap`).
    fn empty() -> Slots {
        Slots {
            dir: KVVec::new(),
            len: 0,
        }
    }

    /// The slots of `len` page indices, none of them with a chunk yet.
    fn new(len: usize) -> Result<Slots> {
        let chunks = len.div_ceil(SLOTS_PER_CHUNK);
        let mut dir = KVVec::with_capacity(chunks, GFP_KERNEL)?;
        for _ in 0..chunks {
            // Cannot fail: the capacity is `chunks`.
            dir.push(ChunkEntry::empty(), GFP_KERNEL)?;
        }
        Ok(Slots { dir, len })
    }

    /// The slots as a lock-free reader sees them.
    #[inline]
    fn view(&self) -> SlotsView<'_> {
        SlotsView {
            dir: &self.dir,
            len: self.len,
        }
    }
}

/// A shared view of [`Slots`]: through the allocator lock ([`Inner`]) or through the directory
/// published for the lock-free copy paths ([`BinderAllocRust::published_slots`]).
#[derive(Clone, Copy)]
struct SlotsView<'a> {
    dir: &'a [ChunkEntry],
    len: usize,
}

impl<'a> SlotsView<'a> {
    /// The slot of page `index`; `None` past the end or if no page of its chunk was ever
    /// installed (so it has none).
    #[inline]
    fn get(self, index: usize) -> Option<&'a Slot> {
        if index >= self.len {
            return None;
        }
        let entry = self.dir.get(index / SLOTS_PER_CHUNK)?;
        // SAFETY: The entry is written once, under the allocator lock, while none of its indices
        // has a page (type invariants of `ChunkEntry`). A reader holding the lock cannot race
        // with that write; a lock-free reader only looks up indices under a live buffer, whose
        // pages are installed, so their chunk was written before `new_buf` returned the buffer
        // and is not written again. The chunk is freed only with the directory.
        let chunk = unsafe { (*entry.chunk.get()).as_deref() }?;
        Some(&chunk.0[index % SLOTS_PER_CHUNK])
    }

    /// Whether page `index` (in bounds) has its chunk.
    #[inline]
    fn has_chunk(self, index: usize) -> bool {
        index >= self.len || self.get(index).is_some()
    }
}

/// State protected by the allocator lock.
struct Inner {
    /// The core; `None` before `mmap` succeeded.
    core: Option<Allocator>,
    /// One slot per page index, from `mmap` on.
    slots: Slots,
    /// `vm_ops` and `vm_private_data` of the VMA this allocator was mmapped with, set with
    /// `core`: how the GUP paths recognise the receiver's binder VMA (see
    /// [`BinderAllocRust::is_own_vma`]).
    vma_id: (usize, usize),
    /// Start of the mapping (`alloc->vm_start`), set with `core`; 0 before `mmap`. The
    /// lock-free copy paths read the published copy instead
    /// ([`BinderAllocRust::published_slots`]).
    vm_start: usize,
}

/// What the receiver's VMA maps at a buffer page's address, seen through GUP.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
enum VmaPage {
    /// The slot's page.
    Same = 0,
    /// Nothing (only with [`GupFlags::NOFAULT`]).
    NotMapped = 1,
    /// Another page: the receiver would read something the driver did not write.
    Different = 2,
    /// No VMA at the address, or not this allocator's VMA, or the allocator is unmapped.
    NotOwnVma = 3,
}

impl Inner {
    /// The user address of page `index`.
    #[inline]
    fn page_addr(&self, index: usize) -> usize {
        self.vm_start + index * PAGE_SIZE
    }

    /// The offset in the mapping of the C buffer whose view is `view`.
    #[inline]
    fn offset_of(&self, view: &CBufferView) -> usize {
        view.user_data.wrapping_sub(self.vm_start)
    }

    /// The metadata of the page installed at `index`, if any. `&self` proves that the allocator
    /// lock is held.
    #[inline]
    fn meta(&self, index: usize) -> Option<&PageMeta> {
        let slot = self.slots.view().get(index)?;
        // SAFETY: `Inner` is only reachable through the allocator lock, so the lock is held for
        // the lifetime of `&self`; writers need `&mut Inner`, which cannot coexist with it.
        unsafe { (*slot.meta.get()).as_deref() }
    }

    /// The page installed at `index`, if any.
    #[inline]
    fn page(&self, index: usize) -> Option<&ARef<SharedPage>> {
        self.meta(index).map(|m| &m.page)
    }

    /// Replaces the page (with its metadata) installed at `index`; returns the previous one.
    ///
    /// No buffer that binder.c holds may cover `index`, so that no [`Slot::live_page`] reader
    /// can be reading it: the callers back `Absent` indices (covered at most by buffers
    /// `new_buf` has not returned yet, as every returned buffer's pages are backed), reclaim
    /// `Lru` ones and tear down after the last buffer.
    ///
    /// An index with no slot (past the end, or whose chunk was never added: see
    /// [`Inner::add_chunk`]) has no page to return: `meta` itself is returned then, stored
    /// nowhere.
    fn set_page(
        &mut self,
        index: usize,
        meta: Option<Pin<KBox<PageMeta>>>,
    ) -> Option<Pin<KBox<PageMeta>>> {
        let Some(slot) = self.slots.view().get(index) else {
            return meta;
        };
        // SAFETY: `&mut self` proves that the allocator lock is held and that no reference
        // returned by `Inner::meta` is alive; no lock-free reader reads this slot, as no buffer
        // binder.c holds covers `index`. The metadata taken out is only moved as a box: it
        // stays where it is, for an LRU walker that still holds it (see `free_page`).
        unsafe { core::mem::replace(&mut *slot.meta.get(), meta) }
    }

    /// Gives page `index` its chunk of slots if it has none, taking the chunk from `spare`
    /// (left there otherwise). `ENOMEM` if a chunk is needed and `spare` is empty.
    fn add_chunk(&mut self, index: usize, spare: &mut Option<KBox<SlotChunk>>) -> Result {
        if self.slots.view().has_chunk(index) {
            return Ok(());
        }
        // In bounds: `has_chunk` is true past the end.
        let entry = self.slots.dir.get(index / SLOTS_PER_CHUNK).ok_or(EINVAL)?;
        let chunk = spare.take().ok_or(ENOMEM)?;
        // SAFETY: `&mut self` proves that the allocator lock is held. The entry has no chunk, so
        // none of its indices has a page and no buffer binder.c holds covers them: no reader
        // reads the entry (type invariants of `ChunkEntry`), which goes from `None` to `Some`.
        unsafe { *entry.chunk.get() = Some(chunk) };
        Ok(())
    }

    /// `binder_alloc_buffer_size()` of the allocated buffer at `offset`.
    fn buffer_size_at(&self, offset: usize) -> Option<usize> {
        self.core.as_ref()?.allocated_buffer(offset).map(|b| b.size)
    }

    /// The page and the offset in it of byte `pos` of the mapping.
    fn page_at(&self, pos: usize) -> Result<(&ARef<SharedPage>, usize)> {
        // A live buffer's pages are `InUse`: backed at allocation, never on the LRU.
        let page = self.page(pos / PAGE_SIZE).ok_or(EINVAL)?;
        Ok((page, pos % PAGE_SIZE))
    }

    /// `binder_alloc_clear_buf()`: zeroes the whole allocated buffer at `offset`.
    fn clear_buf(&self, offset: usize) {
        let size = self.buffer_size_at(offset).unwrap_or(0);
        let mut done = 0;
        while done < size {
            let Ok((page, pgoff)) = self.page_at(offset + done) else {
                return;
            };
            let len = (size - done).min(PAGE_SIZE - pgoff);
            // SAFETY: The page is the driver's own; userspace only maps it read-only and the
            // buffer is being freed, so nobody else writes it.
            let _ = unsafe { page.as_page().fill_zero_raw(pgoff, len) };
            done += len;
        }
    }
}

/// The core's cookie of an allocated buffer: the address of its C `struct binder_buffer`, which
/// the allocator owns from `new_buf` to `free_buf` (the core then is its only map).
#[inline]
fn cookie_of(cbuf: NonNull<CBinderBuffer>) -> usize {
    cbuf.as_ptr() as usize
}

/// The C buffer whose cookie the core returned (see [`cookie_of`]).
#[inline]
fn cbuf_of(cookie: usize) -> Option<NonNull<CBinderBuffer>> {
    NonNull::new(cookie as *mut CBinderBuffer)
}

/// What is on for one operation of the allocator, read once when it starts (one call into the
/// shim, which tests the module parameters and the tracepoints' static keys).
#[derive(Clone, Copy)]
struct OpFlags(u32);

impl OpFlags {
    /// `BINDER_ALLOC_RUST_OP_GUP_COPY` of `binder_alloc_rust.h`.
    const GUP_COPY: u32 = 1 << 0;
    /// `BINDER_ALLOC_RUST_OP_DEBUG_GUP_CHECK`.
    const DEBUG_GUP_CHECK: u32 = 1 << 1;
    /// `BINDER_ALLOC_RUST_OP_TRACE`.
    const TRACE: u32 = 1 << 2;

    #[inline]
    fn now() -> Self {
        // SAFETY: Reads module parameters and static keys; callable from any context.
        OpFlags(unsafe { binder_alloc_rust_op_flags() })
    }

    /// The opt-in GUP-copy strategy (`binder.alloc_gup_copy`).
    #[inline]
    fn gup_copy(self) -> bool {
        self.0 & Self::GUP_COPY != 0
    }

    /// The debug check of decision 6 (`binder.alloc_debug_gup_check`).
    #[inline]
    fn debug_gup_check(self) -> bool {
        self.0 & Self::DEBUG_GUP_CHECK != 0
    }

    /// Some tracepoint of the allocator's paths is enabled.
    #[inline]
    fn trace(self) -> bool {
        self.0 & Self::TRACE != 0
    }
}

/// How many page indices [`BinderAllocRust::install_pages`] backs per lock round trip (at most
/// 32: a `u32` notes which of them have no page; at most [`SLOTS_PER_CHUNK`]: a batch then
/// spans at most two chunks of slots).
const INSTALL_BATCH: usize = 16;
const _: () = assert!(INSTALL_BATCH <= 32 && INSTALL_BATCH <= SLOTS_PER_CHUNK);

/// What [`BinderAllocRust::new_buf_locked`] returns.
type NewBufLocked =
    core::result::Result<(NonNull<CBinderBuffer>, core::ops::Range<usize>), (Error, NewCBuffer)>;

/// A C `struct binder_buffer` that binder.c does not hold: fresh from `kmalloc()` (not
/// zeroed) or kept by [`SpareCBuffer`] after binder.c freed it; freed when dropped.
///
/// Obtained before the allocator lock is taken, as C allocates its `next` buffer before
/// `mutex_lock()`, so that the lock is not held across an allocation.
struct NewCBuffer(NonNull<CBinderBuffer>);

impl NewCBuffer {
    /// `kmalloc()` of a buffer (`GFP_KERNEL`; call with no lock held).
    fn alloc() -> Result<Self> {
        // SAFETY: The shim only calls `kmalloc()` with GFP_KERNEL, which callers may do: they
        // hold no spinlock.
        let raw = unsafe { binder_alloc_rust_buffer_alloc() };
        NonNull::new(raw).map(NewCBuffer).ok_or(ENOMEM)
    }

    /// Takes ownership of `cbuf`.
    ///
    /// # Safety
    ///
    /// `cbuf` was allocated by `binder_alloc_rust_buffer_alloc()` and nothing else references
    /// it, nor will: it is freed when the returned value is dropped.
    unsafe fn from_raw(cbuf: NonNull<CBinderBuffer>) -> Self {
        NewCBuffer(cbuf)
    }

    /// Sets every field of the buffer from `init` (as C's `kzalloc()` and field stores would)
    /// and hands it over: the caller owns it from now on (it is the core's cookie of the new
    /// buffer and is freed or kept by `free_buf_locked`).
    fn init(self, init: &CBufferInit) -> NonNull<CBinderBuffer> {
        let cbuf = self.0;
        core::mem::forget(self);
        // SAFETY: `cbuf` is a buffer that nothing else references; `init` is valid for reads.
        unsafe { binder_alloc_rust_buffer_init(cbuf.as_ptr(), init) };
        cbuf
    }
}

impl Drop for NewCBuffer {
    fn drop(&mut self) {
        // SAFETY: The buffer was allocated by `binder_alloc_rust_buffer_alloc()` and nothing
        // else references it (`init` forgets `self`).
        unsafe { binder_alloc_rust_buffer_delete(self.0.as_ptr()) };
    }
}

/// Whether [`SpareCBuffer`] keeps a freed buffer. Not under KASAN, so that a use of a buffer
/// after `binder_alloc_free_buf()` stays a use after `kfree()`, which KASAN reports.
const KEEP_SPARE_CBUFFER: bool = !cfg!(CONFIG_KASAN);

/// At most one C `struct binder_buffer` that binder.c freed, kept for the next `new_buf`.
///
/// C allocates a `struct binder_buffer` in every `binder_alloc_new_buf()` (its `next`, used
/// when the free buffer found is split) and frees one whenever two free buffers merge, so a
/// transaction costs it one `kzalloc()` and one `kfree()`. The Rust allocator's own records
/// live in the core's arena, which keeps its freed nodes; the C buffer binder.c reads is the
/// one left to allocate per transaction. Keeping the last freed one makes the usual
/// transaction (free one buffer, allocate the next) take none from the slab. It costs one
/// buffer (`kmalloc-128`) per allocator that ever freed one.
///
/// The slot is an atomic pointer, not a field under the allocator lock, so that `new_buf` can
/// take the spare before taking the lock, where it would otherwise allocate.
///
/// # Invariants
///
/// The slot is null or owns a buffer allocated by `binder_alloc_rust_buffer_alloc()` that
/// nothing else references.
struct SpareCBuffer(Atomic<*mut CBinderBuffer>);

impl SpareCBuffer {
    /// An empty slot.
    fn new() -> Self {
        // INVARIANT: null.
        SpareCBuffer(Atomic::new(ptr::null_mut()))
    }

    /// Takes the spare buffer, if there is one.
    #[inline]
    fn take(&self) -> Option<NewCBuffer> {
        // Fully ordered, so that what the thread that kept the buffer did with it happens
        // before what the new owner does. INVARIANT: null is stored.
        let raw = self.0.xchg(ptr::null_mut(), Full);
        // SAFETY: A non-null `raw` was owned by the slot (type invariants), which no longer
        // holds it.
        NonNull::new(raw).map(|cbuf| unsafe { NewCBuffer::from_raw(cbuf) })
    }

    /// Keeps `cbuf`, which nothing else references from now on, freeing the buffer kept before
    /// (or `cbuf`, under KASAN).
    #[inline]
    fn put(&self, cbuf: NewCBuffer) {
        if !KEEP_SPARE_CBUFFER {
            drop(cbuf);
            return;
        }
        let raw = cbuf.0.as_ptr();
        core::mem::forget(cbuf);
        // INVARIANT: `raw` was owned by the caller's `NewCBuffer`, whose ownership passes to the
        // slot.
        let old = self.0.xchg(raw, Full);
        // SAFETY: A non-null `old` was owned by the slot (type invariants), which no longer
        // holds it; it is freed here.
        drop(NonNull::new(old).map(|old| unsafe { NewCBuffer::from_raw(old) }));
    }
}

impl Drop for SpareCBuffer {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// The Rust state behind one `struct binder_alloc`.
#[pin_data]
pub struct BinderAllocRust {
    /// The C struct, for tracepoints and the fields C reads.
    c: *mut CBinderAlloc,
    /// The receiver's mm (`alloc->mm`, grabbed).
    mm: ARef<Mm>,
    /// The LRU free pages go to (`alloc->freelist`).
    freelist: *mut bindings::list_lru,
    /// `alloc->pid`.
    pid: i32,
    /// The slot directory (`Inner::slots`), the number of page indices and the mapping's
    /// start, for the copy paths, which read them without the allocator lock (see
    /// [`BinderAllocRust::published_slots`]). Null, 0 and 0 before `mmap`.
    ///
    /// Written once, by `mmap_handler` with the allocator lock held, before the allocator has
    /// its core, hence before any buffer can exist, and never again. The copy paths only read
    /// them for a live buffer, allocated by a `new_buf` that took the lock after that write
    /// (and binder.c orders its own use of a buffer after `new_buf`): the write happens before
    /// every read, so plain fields suffice where an `Atomic` would cost a call to a C helper
    /// per load. The length is at most `MAX_BUFFER_SIZE / PAGE_SIZE`; as a `u32` it shares a
    /// word with `pid`, which keeps this state within 256 bytes (kmalloc-256) on configs
    /// without lock debugging.
    slots_base: UnsafeCell<*const ChunkEntry>,
    slots_len: UnsafeCell<u32>,
    vm_start: UnsafeCell<usize>,
    /// A C buffer kept from the last `free_buf` for the next `new_buf`.
    spare: SpareCBuffer,
    /// The allocator lock.
    #[pin]
    inner: Mutex<Inner>,
}

// One `kmalloc-256` object where the mutex has no debugging fields (see `slots_len`): a larger
// state would take a `kmalloc-512` one per binder process.
#[cfg(not(any(CONFIG_DEBUG_LOCK_ALLOC, CONFIG_DEBUG_MUTEXES, CONFIG_PREEMPT_RT)))]
const _: () = assert!(core::mem::size_of::<BinderAllocRust>() <= 256);

// SAFETY: All mutable state is behind `inner`, except the published fields, written once before
// any reader can read them (see `slots_base`), and `spare`, an atomic slot; `c`, `mm` and
// `freelist` are invariant and point to objects that are safe to use from any thread.
unsafe impl Send for BinderAllocRust {}
// SAFETY: As above.
unsafe impl Sync for BinderAllocRust {}

impl BinderAllocRust {
    fn freelist(&self) -> &ListLru<PageMeta> {
        // SAFETY: `freelist` is `alloc->freelist`, initialised with `list_lru_init()` before any
        // allocator exists (binder_alloc_shrinker_init() or the KUnit test's init), destroyed
        // after all of them, and only ever holds `PageMeta`s.
        unsafe { ListLru::from_raw(self.freelist) }
    }

    /// Calls the tracepoint `f` for page `index`, if tracing is on for the operation.
    #[inline]
    fn trace_page(
        &self,
        op: OpFlags,
        f: unsafe extern "C" fn(*mut CBinderAlloc, usize),
        index: usize,
    ) {
        if !op.trace() {
            return;
        }
        // SAFETY: `c` is the live C struct of this allocator; the tracepoint only reads it.
        unsafe { f(self.c, index) };
    }

    /// `trace_binder_update_page_range()` for the page indices `range`, if tracing is on.
    ///
    /// Always inlined, so that the test of `op` costs no call when tracing is off.
    #[inline(always)]
    fn trace_range(
        &self,
        op: OpFlags,
        inner: &Inner,
        allocate: bool,
        range: &core::ops::Range<usize>,
    ) {
        if !op.trace() {
            return;
        }
        // SAFETY: `c` is the live C struct of this allocator; the tracepoint only reads it.
        unsafe {
            binder_alloc_rust_trace_update_page_range(
                self.c,
                allocate,
                inner.page_addr(range.start) as c_ulong,
                inner.page_addr(range.end) as c_ulong,
            )
        };
    }

    /// Puts the page at `index` on the LRU, if there is one.
    #[inline(always)]
    fn lru_add(&self, op: OpFlags, inner: &Inner, index: usize) {
        let Some(meta) = inner.meta(index) else {
            return;
        };
        self.trace_page(op, binder_alloc_rust_trace_free_lru_start, index);
        // SAFETY: The metadata is pinned and freed only after it left the list (the shrinker
        // isolates it first, `release` deletes it first), and every allocator is released
        // before the list is destroyed; it is on no other list. `nid` is the node of its page,
        // which `lru_del` passes too (the page does not change while on the LRU).
        let added = unsafe { self.freelist().add(meta, meta.nid) };
        if !added {
            pr_warn!("{}: page {} already on the LRU\n", self.pid, index);
        }
        self.trace_page(op, binder_alloc_rust_trace_free_lru_end, index);
    }

    /// Takes the page at `index` off the LRU, if there is one.
    #[inline(always)]
    fn lru_del(&self, op: OpFlags, inner: &Inner, index: usize) {
        let Some(meta) = inner.meta(index) else {
            return;
        };
        self.trace_page(op, binder_alloc_rust_trace_alloc_lru_start, index);
        // SAFETY: `nid` is the node given to `add`.
        let removed = unsafe { self.freelist().del(meta, meta.nid) };
        if !removed {
            pr_warn!("{}: page {} was not on the LRU\n", self.pid, index);
        }
        self.trace_page(op, binder_alloc_rust_trace_alloc_lru_end, index);
    }

    /// `binder_alloc_mmap_handler()`.
    fn mmap_handler(&self, vma: &VmaRef) -> Result {
        let fail = |ret: Error, why: &str| {
            alloc_debug!(
                DEBUG_USER_ERROR,
                "binder_alloc_mmap_handler: {} {:x}-{:x} {} failed {}\n",
                self.pid,
                vma.start(),
                vma.end(),
                why,
                ret.to_errno()
            );
            ret
        };
        if !ptr::eq(vma.mm().as_raw(), self.mm.as_raw()) {
            return Err(fail(EINVAL, "invalid vma->vm_mm"));
        }
        let buffer_size = (vma.end() - vma.start()).min(MAX_BUFFER_SIZE);
        let npages = buffer_size / PAGE_SIZE;
        // `buffer_size` is capped at `MAX_BUFFER_SIZE`, so this cannot fail.
        let npages_u32 = u32::try_from(npages).map_err(|_| fail(EINVAL, "buffer size"))?;

        // Allocate everything before taking the lock.
        let core =
            Allocator::new(buffer_size, GFP_KERNEL).map_err(|e| fail(e, "alloc page array"))?;
        let slots = Slots::new(npages).map_err(|_| fail(ENOMEM, "alloc page array"))?;

        let mut inner = self.inner.lock();
        // One mapping per lifetime: a second mmap fails even after the first one is gone.
        if inner.core.is_some() {
            return Err(fail(EBUSY, "already mapped"));
        }
        inner.slots = slots;
        // Publish for the lock-free copy paths; the directory's heap buffer stays put until
        // `self` is dropped.
        // SAFETY: The lock is held and the allocator has no core yet, so this is the only write
        // of these fields and no buffer exists whose copy could read them (see `slots_base`).
        unsafe {
            *self.vm_start.get() = vma.start();
            *self.slots_len.get() = npages_u32;
            *self.slots_base.get() = inner.slots.dir.as_ptr();
        }
        inner.vm_start = vma.start();
        inner.vma_id = vma_id(vma);
        inner.core = Some(core);
        // SAFETY: `c` is the live C struct of this allocator.
        unsafe { binder_alloc_rust_set_mapped(self.c, vma.start() as c_ulong, buffer_size, true) };
        Ok(())
    }

    /// `binder_alloc_vma_close()`.
    fn vma_close(&self) {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        if let Some(core) = inner.core.as_mut() {
            core.vma_close();
            let size = core.buffer_size();
            // SAFETY: `c` is the live C struct of this allocator.
            unsafe { binder_alloc_rust_set_mapped(self.c, inner.vm_start as c_ulong, size, false) };
        }
    }

    /// `binder_alloc_new_buf()`: allocate the range under the lock, then back its pages with no
    /// lock held and publish them under the lock. Takes no lock of the receiver's mm.
    ///
    /// Normally nothing is allocated under the lock. The C buffer is allocated before it (as C
    /// allocates its next `struct binder_buffer`) and becomes the core's cookie for the new
    /// buffer (the core is the only map from offsets to C buffers); room in the core's node
    /// arena (and, for a oneway buffer, in its table of async buffer holders) usually is
    /// already there, as the arena keeps its freed nodes. Then the allocation takes the lock
    /// once. Otherwise the lock is dropped, the new storage allocated, and the lock taken
    /// again.
    fn new_buf(&self, req: &BufferRequest, pid: i32) -> Result<NonNull<CBinderBuffer>> {
        // Declared before the guard, so dropped after it on every return: whatever is not used
        // is freed with the lock released.
        let op = OpFlags::now();
        let cbuf = match self.spare.take() {
            Some(cbuf) => cbuf,
            None => NewCBuffer::alloc()?,
        };
        let mut reserve = NodeReserve::empty();
        let mut guard = self.inner.lock();
        if !guard.core.as_ref().is_some_and(Allocator::is_mapped) {
            alloc_debug!(DEBUG_USER_ERROR, "{}: binder_alloc_buf, no vma\n", self.pid);
            return Err(ESRCH);
        }
        req.size().inspect_err(|_| {
            alloc_debug!(
                DEBUG_BUFFER_ALLOC,
                "{}: got transaction with invalid size {}-{}-{}\n",
                self.pid,
                req.data_size,
                req.offsets_size,
                req.extra_buffers_size
            );
        })?;
        let hint = guard
            .core
            .as_ref()
            .map_or(ReserveHint::default(), |c| c.reserve_hint(req));
        if !hint.is_empty() {
            drop(guard);
            reserve = NodeReserve::for_hint(hint, GFP_KERNEL)?;
            // The core rechecks everything checked above; if the arena filled up meanwhile,
            // it grows under the mutex.
            guard = self.inner.lock();
        }
        let res = self.new_buf_locked(op, &mut guard, req, pid, &mut reserve, cbuf);
        drop(guard);
        // Whatever the core did not use from the reservation, and the C buffer if the
        // allocation failed, are freed here, unlocked.
        drop(reserve);
        let (cbuf, absent) = res.map_err(|(e, unused)| {
            drop(unused);
            e
        })?;

        // Only a buffer on pages never backed (or reclaimed) has something to install.
        if absent.is_empty() {
            return Ok(cbuf);
        }
        if let Err(e) = self.install_pages(op, absent) {
            // C frees the buffer and returns the installation error.
            let mut guard = self.inner.lock();
            let offset = guard.offset_of(&buffer_view(cbuf));
            let _ = self.free_buf_locked(op, &mut guard, cbuf, offset);
            return Err(e);
        }
        Ok(cbuf)
    }

    /// The locked part of [`BinderAllocRust::new_buf`]: allocates the range and takes its
    /// installed pages off the LRU. Returns the buffer (`cbuf`, initialised) and the page
    /// indices from its first to its last page that has no page yet (empty if every page is
    /// backed); on failure, hands `cbuf` back to be freed after unlocking.
    #[inline(always)]
    fn new_buf_locked(
        &self,
        op: OpFlags,
        inner: &mut Inner,
        req: &BufferRequest,
        pid: i32,
        reserve: &mut NodeReserve,
        cbuf: NewCBuffer,
    ) -> NewBufLocked {
        let Some(core) = inner.core.as_mut() else {
            return Err((ESRCH, cbuf));
        };
        let nb = match core.new_buf_with_cookie(req, pid, reserve, cookie_of(cbuf.0)) {
            Ok(nb) => nb,
            Err(e) => {
                if e == ENOSPC {
                    // The core checks the async space first, as C; a failure changes nothing,
                    // so the check below finds the same reason.
                    let size = req.size().unwrap_or(0);
                    if req.is_async && core.free_async_space() < size {
                        alloc_debug!(
                            DEBUG_BUFFER_ALLOC,
                            "{}: binder_alloc_buf size {} failed, no async space left\n",
                            self.pid,
                            size
                        );
                    } else {
                        alloc_debug!(
                            DEBUG_USER_ERROR,
                            "{}: binder_alloc_buf size {} failed, no address space\n",
                            self.pid,
                            size
                        );
                        debug_no_space(core);
                    }
                }
                return Err((e, cbuf));
            }
        };

        if let Some((buffers, total)) = nb.spam_report {
            alloc_debug!(
                DEBUG_USER_ERROR,
                "{}: pid {} spamming oneway? {} buffers allocated for a total size of {}\n",
                self.pid,
                pid,
                buffers,
                total
            );
        }

        // binder_lru_freelist_del(): installed pages under the new buffer leave the LRU.
        self.trace_range(op, inner, true, &nb.lru_del);
        for index in nb.lru_del.clone() {
            self.lru_del(op, inner, index);
        }

        let init = CBufferInit {
            user_data: (inner.vm_start + nb.offset) as c_ulong,
            data_size: req.data_size,
            offsets_size: req.offsets_size,
            extra_buffers_size: req.extra_buffers_size,
            pid,
            async_transaction: req.is_async,
            oneway_spam_suspect: nb.oneway_spam_suspect,
        };
        let cbuf = cbuf.init(&init);

        let absent = inner
            .core
            .as_ref()
            .map_or(0..0, |c| c.absent_span(nb.install.clone()));
        Ok((cbuf, absent))
    }

    /// Backs the pages in `range` that have none, [`INSTALL_BATCH`] indices at a time: note
    /// under the lock which indices of the batch have no page, allocate those with no lock
    /// held, publish them under the lock. An index backed meanwhile (by an allocation sharing
    /// the page) keeps its page; the new one is dropped after unlocking. Two lock round trips
    /// per batch, where one page at a time took two per page.
    ///
    /// Kept out of line: a warm allocation does not call it, and its code would otherwise
    /// spread [`BinderAllocRust::new_buf`] over more pages (see [`cold_path`]).
    #[inline(never)]
    fn install_pages(&self, op: OpFlags, range: core::ops::Range<usize>) -> Result {
        let mut start = range.start;
        while start < range.end {
            let end = range.end.min(start + INSTALL_BATCH);
            // Bit `i`: index `start + i` had no page.
            let mut absent: u32 = 0;
            // Chunk `start / SLOTS_PER_CHUNK + i` of the batch (at most two: see
            // `INSTALL_BATCH`) has an absent index and no slots yet.
            let mut need_chunk = [false; 2];
            let first_chunk = start / SLOTS_PER_CHUNK;
            {
                let guard = self.inner.lock();
                let core = guard.core.as_ref().ok_or(ESRCH)?;
                let slots = guard.slots.view();
                for index in start..end {
                    if core.page_state(index) == Some(PageState::Absent) {
                        absent |= 1 << (index - start);
                        if !slots.has_chunk(index) {
                            need_chunk[index / SLOTS_PER_CHUNK - first_chunk] = true;
                        }
                    }
                }
            }
            // Declared before the guard below, so that what is left in them (allocated for
            // nothing, or all of them on an error) is dropped after unlocking. A chunk is only
            // ever added: one present above is still there below, and one missing above has a
            // spare here, left unused if another allocation added the chunk meanwhile.
            let mut chunks: [Option<KBox<SlotChunk>>; 2] = [None, None];
            for (chunk, _) in chunks.iter_mut().zip(need_chunk).filter(|(_, need)| *need) {
                *chunk = Some(KBox::new(
                    SlotChunk(core::array::from_fn(|_| Slot::empty())),
                    GFP_KERNEL,
                )?);
            }
            let mut metas: [Option<Pin<KBox<PageMeta>>>; INSTALL_BATCH] = Default::default();
            for index in start..end {
                if absent & (1 << (index - start)) == 0 {
                    continue;
                }
                self.trace_page(op, binder_alloc_rust_trace_alloc_page_start, index);
                let page = SharedPage::alloc(GFP_KERNEL | __GFP_HIGHMEM | __GFP_ZERO)?;
                let meta = KBox::pin_init(
                    pin_init!(PageMeta {
                        lru <- ListLruEntry::new(),
                        nid: page.as_page().nid(),
                        page,
                        owner: ptr::from_ref(self),
                        index,
                    }),
                    GFP_KERNEL,
                )?;
                metas[index - start] = Some(meta);
                self.trace_page(op, binder_alloc_rust_trace_alloc_page_end, index);
            }
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            for index in start..end {
                if metas[index - start].is_none() {
                    continue;
                }
                inner.add_chunk(index, &mut chunks[index / SLOTS_PER_CHUNK - first_chunk])?;
                let Some(meta) = metas[index - start].take() else {
                    continue;
                };
                let event = match inner.core.as_mut() {
                    Some(core) => core.page_event(index, PageEvent::Installed),
                    None => Err(ESRCH),
                };
                let actions = match event {
                    Ok(actions) => actions,
                    Err(e) => {
                        metas[index - start] = Some(meta);
                        return Err(e);
                    }
                };
                // `DiscardNewPage`: another allocation backed the index first; the new page
                // is dropped with `metas`, after the lock.
                metas[index - start] = if actions.contains(PageAction::StorePage) {
                    inner.set_page(index, Some(meta))
                } else {
                    Some(meta)
                };
            }
            drop(guard);
            // Only the batch's entries can hold a page (one another allocation backed first).
            // Dropping those and forgetting the array, all `None` then, saves a drop loop over
            // all `INSTALL_BATCH` entries when the batch is short (one page, for most buffers).
            for meta in &mut metas[..end - start] {
                drop(meta.take());
            }
            core::mem::forget(metas);
            drop(chunks);
            start = end;
        }
        Ok(())
    }

    /// `binder_free_buf_locked()` for the C buffer `cbuf` at `offset` ([`Inner::offset_of`]):
    /// frees its range in the core, puts the released pages on the LRU and deletes `cbuf`.
    /// Returns `false`, changing nothing, if `cbuf` is not the allocated buffer at `offset`.
    #[inline(always)]
    fn free_buf_locked(
        &self,
        op: OpFlags,
        inner: &mut Inner,
        cbuf: NonNull<CBinderBuffer>,
        offset: usize,
    ) -> bool {
        let Some(core) = inner.core.as_mut() else {
            return false;
        };
        // The cookie check makes sure `cbuf` is the buffer allocated at `offset` before
        // anything changes (C would BUG() on an unknown buffer).
        let Ok(freed) = core.free_buf_with_cookie(offset, cookie_of(cbuf)) else {
            pr_err!("{}: free of unknown buffer at {:x}\n", self.pid, offset);
            return false;
        };
        self.trace_range(op, inner, false, &freed.range);
        // `freed.iter()`'s order, as two plain loops: the chained iterator tests its state on
        // every page of the range.
        for index in freed.range.clone() {
            self.lru_add(op, inner, index);
        }
        for index in freed.merged.into_iter().flatten() {
            self.lru_add(op, inner, index);
        }
        // SAFETY: `cbuf` was allocated by `binder_alloc_rust_buffer_alloc()` (see
        // `NewCBuffer::init`) and is no longer in the core (nor its cookie); binder.c does not
        // use a buffer after freeing it. Kept or freed under the mutex, as C frees its buffers
        // under its lock.
        self.spare.put(unsafe { NewCBuffer::from_raw(cbuf) });
        true
    }

    /// `binder_alloc_free_buf()`.
    fn free_buf(&self, cbuf: NonNull<CBinderBuffer>) {
        let op = OpFlags::now();
        let view = buffer_view(cbuf);
        if op.debug_gup_check() {
            self.debug_gup_check(&view);
        }
        let mut guard = self.inner.lock();
        let offset = guard.offset_of(&view);
        // C clears before taking its lock; the buffer's pages are in use and cannot be reclaimed
        // while it is allocated, so clearing under the lock is equivalent.
        if view.clear_on_free {
            guard.clear_buf(offset);
            // SAFETY: `cbuf` is a live C buffer.
            unsafe { binder_alloc_rust_buffer_clear_clear_on_free(cbuf.as_ptr()) };
        }
        // An unknown buffer is reported by `free_buf_locked` and left alone.
        let _ = self.free_buf_locked(op, &mut guard, cbuf, offset);
    }

    /// `binder_alloc_prepare_to_free()`: the allocated buffer at `user_ptr`, if its owner may
    /// free it now; `EPERM` if not.
    fn prepare_to_free(&self, user_ptr: usize) -> Result<Option<NonNull<CBinderBuffer>>> {
        let inner = self.inner.lock();
        let offset = user_ptr.wrapping_sub(inner.vm_start);
        let Some(cbuf) = inner
            .core
            .as_ref()
            .and_then(|c| c.allocated_cookie(offset))
            .and_then(cbuf_of)
        else {
            return Ok(None);
        };
        // binder.c writes `allow_user_free` in the C struct, which is the reference: test and
        // clear it there.
        // SAFETY: `cbuf` is a live C buffer; the allocator lock serialises this write with the
        // other users of the flag, as in C.
        if !unsafe { binder_alloc_rust_buffer_take_user_free(cbuf.as_ptr()) } {
            return Err(EPERM);
        }
        Ok(Some(cbuf))
    }

    /// `binder_alloc_buffer_size()`.
    fn buffer_size_of(&self, cbuf: NonNull<CBinderBuffer>) -> Option<usize> {
        let inner = self.inner.lock();
        inner.buffer_size_at(inner.offset_of(&buffer_view(cbuf)))
    }

    /// `check_buffer()`: whether `bytes` at `offset` of the live buffer `view` shows may be
    /// accessed.
    ///
    /// Takes no lock, as C: the size is the one the buffer was allocated with, which the core
    /// splits to exactly `sanitized_size()` of the sizes binder.c asked for (and never changes).
    #[inline]
    fn check_buffer(&self, view: &CBufferView, offset: u64, bytes: usize) -> bool {
        let Some(size) = sanitized_size(view.data_size, view.offsets_size, view.extra_buffers_size)
        else {
            return false;
        };
        size >= bytes
            && offset <= (size - bytes) as u64
            // `IS_ALIGNED(offset, sizeof(u32))`.
            && offset & 3 == 0
            && !view.free
            && (!view.allow_user_free || !view.has_transaction)
    }

    /// The slots and the mapping's start, as `mmap_handler` published them for the lock-free
    /// copy paths. Read once per copy.
    ///
    /// # Safety
    ///
    /// A buffer of this allocator is allocated (not freed, not released) during the call.
    #[inline]
    unsafe fn published_slots(&self) -> Option<(SlotsView<'_>, usize)> {
        // SAFETY: A buffer is allocated (precondition), so `mmap_handler` wrote these fields
        // before, and nothing writes them again (see `slots_base`).
        let (base, len, vm_start) = unsafe {
            (
                *self.slots_base.get(),
                *self.slots_len.get(),
                *self.vm_start.get(),
            )
        };
        if base.is_null() {
            return None;
        }
        let len = len as usize;
        // SAFETY: `base` points to the `len.div_ceil(SLOTS_PER_CHUNK)` initialised entries of
        // the directory (published by `mmap_handler` after they were), which are neither moved
        // nor freed before `self` is dropped. Entries are only ever shared (`Inner` reaches
        // them through `SlotsView` too); what changes in them is behind `UnsafeCell`.
        let dir = unsafe { core::slice::from_raw_parts(base, len.div_ceil(SLOTS_PER_CHUNK)) };
        Some((SlotsView { dir, len }, vm_start))
    }

    /// Calls `f(page, offset_in_page, len, done)` for each page-sized chunk of `bytes` bytes at
    /// `offset` of the buffer `view` shows. The caller has checked the range.
    ///
    /// By default the page is the slot's (decision 1), read without the allocator lock, as C
    /// reads `alloc->pages[]`. With the opt-in GUP-copy strategy (`binder.alloc_gup_copy=1`,
    /// the 2023 proposal), each page is first looked up in the receiver's VMA with GUP, from
    /// the caller's (the sender's) context: this takes the receiver's mmap lock and faults the
    /// page into the receiver's page tables. The copy only proceeds if the VMA is this
    /// allocator's and the page GUP returns is the slot's page.
    ///
    /// # Safety
    ///
    /// `view` is the view of a buffer of this allocator that stays allocated during the call
    /// (the precondition binder.c meets for every `binder_alloc_copy_*` call).
    unsafe fn for_each_chunk(
        &self,
        view: &CBufferView,
        offset: usize,
        bytes: usize,
        mut f: impl FnMut(&SharedPage, usize, usize, usize) -> Result,
    ) -> Result {
        // binder.c copies the data and the offsets of every transaction, often 0 bytes; C's
        // loop does nothing then, so skip the setup below as well.
        if bytes == 0 {
            return Ok(());
        }
        let mm = if OpFlags::now().gup_copy() {
            Some(self.mm.mmget_not_zero().ok_or(ESRCH)?)
        } else {
            None
        };
        // SAFETY: The buffer `view` shows is allocated during the call (precondition).
        let (slots, vm_start) = unsafe { self.published_slots() }.ok_or(EINVAL)?;
        let start = view.user_data.wrapping_sub(vm_start).wrapping_add(offset);
        let mut done = 0;
        while done < bytes {
            // A position outside the mapping finds no slot below.
            let pos = start.wrapping_add(done);
            let index = pos / PAGE_SIZE;
            let pgoff = pos % PAGE_SIZE;
            let slot = slots.get(index).ok_or(EINVAL)?;
            // SAFETY: `pos` is inside the buffer (the caller checked the range), which stays
            // allocated during the call (precondition).
            let page = unsafe { slot.live_page() }.ok_or(EINVAL)?;
            if let Some(mm) = &mm {
                let addr = vm_start + index * PAGE_SIZE;
                match self.vma_page(mm, addr, page, GupFlags::NONE) {
                    VmaPage::Same => {}
                    VmaPage::Different => {
                        pr_err!("{}: GUP copy: {:#x} maps a foreign page\n", self.pid, addr);
                        return Err(EFAULT);
                    }
                    VmaPage::NotMapped | VmaPage::NotOwnVma => return Err(ESRCH),
                }
            }
            let len = (bytes - done).min(PAGE_SIZE - pgoff);
            f(page, pgoff, len, done)?;
            done += len;
        }
        Ok(())
    }

    /// Whether `vma` is the VMA this allocator was mmapped with, and the allocator is still
    /// mapped.
    ///
    /// Called with the mmap lock of `vma` held, so the VMA cannot be closed meanwhile: a VMA
    /// that replaced ours at the same address (after munmap) has other `vm_ops` or private data,
    /// or we are already unmapped. Lock order: mmap lock, then the allocator lock.
    fn is_own_vma(&self, vma: &VmaRef) -> bool {
        let inner = self.inner.lock();
        inner.core.as_ref().is_some_and(Allocator::is_mapped) && inner.vma_id == vma_id(vma)
    }

    /// Looks up what the receiver's VMA maps at `addr` (a page address of this allocator) with
    /// GUP, and compares it with `page`, the slot's page.
    ///
    /// Takes the mmap read lock of `mm` (the receiver's); the caller holds no allocator lock.
    /// The page GUP returns is only compared, never written: the kernel writes the driver's own
    /// page through the slot, which is correct because the two are the same page and the
    /// driver's reference keeps it alive. A write pin would be wrong here anyway: binder's VMA
    /// has `VM_MAYWRITE` cleared, so `FOLL_WRITE` fails (even with `FOLL_FORCE`).
    fn vma_page(
        &self,
        mm: &MmWithUser,
        addr: usize,
        page: &SharedPage,
        flags: GupFlags,
    ) -> VmaPage {
        let guard = mm.mmap_read_lock();
        let Some(vma) = guard.vma_lookup(addr) else {
            return VmaPage::NotOwnVma;
        };
        if !self.is_own_vma(vma) {
            return VmaPage::NotOwnVma;
        }
        match guard.get_user_page_remote(addr, flags) {
            Ok(user) if user.is_same_page(page) => VmaPage::Same,
            Ok(_) => VmaPage::Different,
            Err(_) => VmaPage::NotMapped,
        }
    }

    /// The debug check of decision 6 (`binder.alloc_debug_gup_check=1`, tested by the caller):
    /// before the allocated buffer `view` shows is freed, every page of it that the receiver has
    /// mapped must be the slot's page.
    ///
    /// Runs only in the receiver's own context (`current->mm` is the allocator's mm, as for
    /// `BC_FREE_BUFFER`): the sender's path never takes a lock of the receiver's mm. Uses
    /// [`GupFlags::NOFAULT`], so it maps nothing. Each result is counted by the shim.
    fn debug_gup_check(&self, view: &CBufferView) {
        let current = kernel::current!();
        let Some(mm) = current.mm() else {
            return;
        };
        if !ptr::eq(mm.as_raw(), self.mm.as_raw()) {
            return;
        }
        let pages = {
            let inner = self.inner.lock();
            let offset = inner.offset_of(view);
            let size = inner.buffer_size_at(offset).unwrap_or(0);
            offset / PAGE_SIZE..(offset + size).div_ceil(PAGE_SIZE)
        };
        for index in pages {
            // The buffer is allocated, so its pages are in use: not reclaimable until it is
            // freed, which the caller does after this check.
            let Some((page, addr)) = ({
                let inner = self.inner.lock();
                inner
                    .page(index)
                    .map(|p| (p.clone(), inner.page_addr(index)))
            }) else {
                continue;
            };
            let seen = self.vma_page(mm, addr, &page, GupFlags::NOFAULT);
            if seen == VmaPage::Different {
                pr_err!(
                    "{}: page {} at {:#x} is not the slot's page\n",
                    self.pid,
                    index,
                    addr
                );
            }
            // SAFETY: Updates the shim's counters.
            unsafe { binder_alloc_rust_gup_check_done(seen as c_int) };
        }
    }

    /// `->fault()`: map the driver's page for a backed index; SIGBUS otherwise.
    ///
    /// Runs in whatever task faults (the receiver, `process_vm_readv()`, `/proc/pid/mem`), with
    /// the mmap or VMA lock held by the mm core; never looks at `current`.
    fn fault(&self, vmf: &VmFault<'_>) -> VmFaultReason {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let vm_start = inner.vm_start;
        let Some(core) = inner.core.as_mut() else {
            return VmFaultReason::SIGBUS;
        };
        // Index from the allocator's start, bounded by its size, not by the VMA: mprotect can
        // split the VMA without a close.
        let Some(off) = vmf.address().checked_sub(vm_start) else {
            return VmFaultReason::SIGBUS;
        };
        if off >= core.buffer_size() {
            return VmFaultReason::SIGBUS;
        }
        let index = off / PAGE_SIZE;
        if !core
            .fault(index, vmf.is_write())
            .contains(PageAction::MapIntoVma)
        {
            return VmFaultReason::SIGBUS;
        }
        let ret = match inner.page(index) {
            // Inserted under the allocator lock, which the shrinker holds across clearing the
            // slot and zapping the PTE: a reclaimed page can never be mapped.
            Some(page) => vmf.insert_page(&page.as_page()),
            None => return VmFaultReason::SIGBUS,
        };
        if ret == VmFaultReason::NOPAGE {
            self.fault_around(inner, vmf, index);
        }
        ret
    }

    /// Fault-around: after page `index` was mapped by a fault, maps the other pages of the
    /// aligned window of [`FAULT_AROUND_PAGES`] around it that are under a live buffer, then
    /// follows the run of such pages beyond the window in each direction, for at most
    /// [`FAULT_AROUND_RUN_PAGES`], stopping at the first page that is not under a live buffer
    /// or is already mapped.
    ///
    /// A receiver reads what it was sent, often several buffers in a row; without this it
    /// would take one fault per page it touches first, where C's sender inserted the pages
    /// beforehand. The window alone took one fault per 64 KiB of a large buffer (16 for
    /// 1 MiB); following the run maps a buffer of up to 1 MiB past its window in one fault,
    /// and stopping at a mapped page keeps a fault next to buffers the receiver has already
    /// read from retrying all of them. Only `InUse` pages are mapped: never a hole (it keeps
    /// its `SIGBUS`), a page on the LRU or anything outside the VMA. It runs in the faulting
    /// task, with the lock the mm core holds for the fault and the allocator lock, as for the
    /// faulting page: an `InUse` page is not reclaimable and its state cannot change while the
    /// allocator lock is held, and once it is freed and reclaimed the shrinker zaps its PTE as
    /// for any mapped page. The sender's path still never touches the receiver's mm. A page
    /// already mapped is left alone (`EBUSY`). One fault inserts at most `FAULT_AROUND_PAGES`
    /// plus twice `FAULT_AROUND_RUN_PAGES` pages (528 of 4 KiB) with the allocator lock held,
    /// which the receiver's senders wait for; C's sender inserts the pages of its own buffer,
    /// one at a time, without its allocator lock.
    fn fault_around(&self, inner: &Inner, vmf: &VmFault<'_>, index: usize) {
        let (Some(core), Some(vma)) = (inner.core.as_ref(), vmf.vma().as_mixedmap_vma()) else {
            return;
        };
        // Maps page `i` if it is under a live buffer; `false` if it is not, or is outside the
        // VMA, or could not be mapped (`EBUSY`: already mapped).
        let map = |i: usize| -> bool {
            if core.page_state(i) != Some(PageState::InUse) {
                return false;
            }
            let addr = inner.page_addr(i);
            if addr < vma.start() || addr >= vma.end() {
                return false;
            }
            // Errors are not the faulting task's: `EBUSY` (already mapped) is expected, and on
            // `ENOMEM` the page is simply faulted in later.
            inner
                .page(i)
                .is_some_and(|page| vma.vm_insert_page(addr, &page.as_page()).is_ok())
        };
        let first = index - index % FAULT_AROUND_PAGES;
        let end = (first + FAULT_AROUND_PAGES).min(core.page_count());
        // Never empty (the faulting page is in it), but do not rely on it.
        let Some(last) = end.checked_sub(1).filter(|&last| last >= first) else {
            return;
        };
        // Whether the window's last and first pages were mapped now: only then does the run go
        // on past them. An edge that is the faulting page was, by the fault. The edges are
        // mapped apart from the inside of the window, whose loop then only tests each page
        // (most are not under a live buffer when the buffer is small).
        let after = last == index || map(last);
        let before = first == last || first == index || map(first);
        for i in first + 1..last {
            if i != index {
                map(i);
            }
        }
        if after {
            let run_end = (end + FAULT_AROUND_RUN_PAGES).min(core.page_count());
            let _ = (end..run_end).all(map);
        }
        if before {
            let stop = first.saturating_sub(FAULT_AROUND_RUN_PAGES);
            let _ = (stop..first).rev().all(map);
        }
    }

    /// `binder_alloc_deferred_release()`. Returns `false` (and leaks the state) if the mapping
    /// is still alive: a fault could still reach it.
    fn release(&self) -> bool {
        let op = OpFlags::now();
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let mut buffers = 0;
        let mut pages = 0;
        if let Some(core) = inner.core.as_ref() {
            if core.is_mapped() {
                pr_err!("{}: released while still mapped\n", self.pid);
                return false;
            }
            while let Some(cbuf) = inner
                .core
                .as_ref()
                .and_then(|c| c.allocated_buffers().next())
                .and_then(|b| cbuf_of(b.cookie))
            {
                let view = buffer_view(cbuf);
                let offset = inner.offset_of(&view);
                if view.clear_on_free {
                    inner.clear_buf(offset);
                    // SAFETY: `cbuf` is a live C buffer.
                    unsafe { binder_alloc_rust_buffer_clear_clear_on_free(cbuf.as_ptr()) };
                }
                // Cannot fail (the cookie is the core's own); if it did, stop rather than loop.
                if !self.free_buf_locked(op, inner, cbuf, offset) {
                    break;
                }
                buffers += 1;
            }
            for index in 0..inner.slots.len {
                let Some(core) = inner.core.as_mut() else {
                    break;
                };
                let Ok(actions) = core.page_event(index, PageEvent::Teardown) else {
                    continue;
                };
                if actions.contains(PageAction::RemoveFromLru) {
                    self.lru_del(op, inner, index);
                }
                if actions.contains(PageAction::FreePage) {
                    drop(inner.set_page(index, None));
                    pages += 1;
                }
            }
        }
        alloc_debug!(
            DEBUG_OPEN_CLOSE,
            "binder_alloc_deferred_release: {} buffers {}, pages {}\n",
            self.pid,
            buffers,
            pages
        );
        true
    }
}

/// The identity of `vma` that [`Inner::vma_id`] records: its `vm_ops` and `vm_private_data`.
fn vma_id(vma: &VmaRef) -> (usize, usize) {
    let raw = vma.as_ptr();
    // SAFETY: `vma` is a live VMA for the lifetime of the reference (the caller holds its mmap
    // lock or is its mmap handler); both fields are written by the driver's mmap handler before
    // the VMA becomes visible and not changed afterwards, so reading them is not a data race.
    unsafe { ((*raw).vm_ops as usize, (*raw).vm_private_data as usize) }
}

/// `debug_no_space_locked()`: the sizes of the allocated and free buffers, after an
/// allocation found no address space.
fn debug_no_space(core: &Allocator) {
    // SAFETY: Reads a module parameter and updates a ratelimit state; no precondition.
    if !unsafe { binder_alloc_rust_debug_print(DEBUG_USER_ERROR) } {
        return;
    }
    // Total, count and largest size of some buffers.
    fn stats(sizes: impl Iterator<Item = usize>) -> (usize, usize, usize) {
        sizes.fold((0, 0, 0), |(total, n, largest), s| {
            (total + s, n + 1, largest.max(s))
        })
    }
    let (ta, na, la) = stats(core.allocated_buffers().map(|b| b.size));
    let (tf, nf, lf) = stats(core.free_buffers().map(|b| b.size));
    pr_info!(
        "allocated: {} (num: {} largest: {}), free: {} (num: {} largest: {})\n",
        ta,
        na,
        la,
        tf,
        nf,
        lf
    );
}

/// Reads the fields of the C buffer `cbuf` that the allocator uses.
#[inline]
fn buffer_view(cbuf: NonNull<CBinderBuffer>) -> CBufferView {
    let mut view = CBufferView::default();
    // SAFETY: `cbuf` is a live C buffer (callers get it from binder.c or the buffer map) and
    // `view` is valid for writes.
    unsafe { binder_alloc_rust_buffer_view(cbuf.as_ptr(), &mut view) };
    view
}

/// The shrinker's LRU callback (`binder_alloc_free_page()`), called by the LRU walk with the
/// LRU lock held, which `item` proves.
///
/// Trylocks the receiver's mmap lock, then the allocator lock; on success isolates the item,
/// drops the LRU lock, zaps the receiver's PTE for the index under both locks (so that a fault
/// cannot map the page again) and frees the page after unlocking.
fn free_page(item: LruWalkItem<'_, PageMeta>) -> LruWalkResult<'_> {
    let meta = item.item();
    let index = meta.index;
    let item_ptr = item.item_ptr();
    // SAFETY: The metadata is on the LRU, whose lock the walker holds, so its owner is alive:
    // `release` takes every page off the LRU, under that lock and under the allocator lock,
    // before the owner is freed. From the allocator lock taken below until it is dropped, the
    // owner cannot be released either.
    let owner: &BinderAllocRust = unsafe { &*meta.owner };

    let Some(mm) = owner.mm.mmget_not_zero() else {
        return item.skip();
    };
    // `mmput()` may sleep and the LRU lock is a spinlock: drop the reference asynchronously, as
    // C does.
    let mm = MmWithUser::into_mmput_async(mm);
    let Some(mmap) = mm.mmap_read_trylock() else {
        return item.skip();
    };
    let Some(mut guard) = owner.inner.try_lock() else {
        return item.skip();
    };
    let op = OpFlags::now();
    let inner = &mut *guard;
    let addr = inner.page_addr(index);
    // The walked item is the slot's metadata (an `Lru` index has its page installed and on the
    // LRU). If the invariant were broken, freeing the slot's metadata below could free another
    // item still on the list: leave both alone.
    if !inner.meta(index).is_some_and(|m| ptr::eq(m, item_ptr)) {
        pr_err!("{}: LRU page {} is not the slot's\n", owner.pid, index);
        return item.skip();
    }
    let Some(core) = inner.core.as_mut() else {
        return item.skip();
    };
    // The VMA at the address is ours only while the allocator is mapped (one mapping per life).
    let vma = mmap.vma_lookup(addr);
    if vma.is_some() && !core.is_mapped() {
        return item.skip();
    }
    match core.page_event(index, PageEvent::Isolate) {
        Ok(actions) if actions.contains(PageAction::RemoveFromLru) => {}
        _ => return item.skip(),
    }
    owner.trace_page(op, binder_alloc_rust_trace_unmap_kernel_start, index);
    // The walked item (checked above); the box is moved, not freed, until after the item left
    // the list.
    let page = inner.set_page(index, None);
    owner.trace_page(op, binder_alloc_rust_trace_unmap_kernel_end, index);

    let removed = item.isolate_and_unlock();

    if let Some(core) = inner.core.as_mut() {
        // `ZapPte`, then `FreePage` (below, after unlocking).
        let _ = core.page_event(index, PageEvent::ReclaimDone);
    }
    if let Some(vma) = vma {
        owner.trace_page(op, binder_alloc_rust_trace_unmap_user_start, index);
        vma.zap_vma_range(addr, PAGE_SIZE);
        owner.trace_page(op, binder_alloc_rust_trace_unmap_user_end, index);
    }
    drop(guard);
    drop(mmap);
    drop(mm);
    // The page and its metadata (the walked item, off the list since `isolate_and_unlock`)
    // are freed last, with no lock held; the walker does not touch the item again after
    // `LRU_REMOVED_RETRY`.
    drop(page);
    removed.removed_retry()
}

/// The "android-binder" shrinker over the global freelist.
struct BinderShrinker {
    freelist: *mut bindings::list_lru,
}

// SAFETY: The freelist is a `struct list_lru`, protected by its own locks.
unsafe impl Send for BinderShrinker {}
// SAFETY: As above.
unsafe impl Sync for BinderShrinker {}

impl BinderShrinker {
    fn lru(&self) -> &ListLru<PageMeta> {
        // SAFETY: The freelist is initialised before the shrinker is registered, destroyed after
        // it is freed, and holds only `PageMeta`s.
        unsafe { ListLru::from_raw(self.freelist) }
    }
}

impl Shrinker for BinderShrinker {
    type Ptr = KBox<BinderShrinker>;

    fn count_objects(me: &BinderShrinker, _sc: &ShrinkControl) -> CountObjects {
        // C returns list_lru_count() as is: 0 means "skip now", never SHRINK_EMPTY.
        CountObjects::new(me.lru().count())
    }

    fn scan_objects(me: &BinderShrinker, sc: &mut ShrinkControl) -> ScanObjects {
        // C walks every node with list_lru_walk(), not only `sc->nid`.
        ScanObjects::from_count(me.lru().walk(sc.nr_to_scan(), free_page))
    }
}

// ===== Exports to binder_alloc_shim.c =====

/// Converts the shim's handle; `None` for a NULL handle (state allocation failed at init).
///
/// # Safety
///
/// `ra` is NULL or was returned by [`rust_binder_alloc_new`] and not yet released.
#[inline]
unsafe fn state<'a>(ra: *mut BinderAllocRust) -> Option<&'a BinderAllocRust> {
    // SAFETY: By the precondition.
    unsafe { ra.as_ref() }
}

/// Allocates the Rust state of `alloc`; NULL on allocation failure.
///
/// # Safety
///
/// `alloc` is a C allocator whose `mm` is grabbed and `freelist` initialised; `alloc` outlives
/// the returned state.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_new(
    alloc: *mut CBinderAlloc,
    mm: *mut bindings::mm_struct,
    freelist: *mut bindings::list_lru,
    pid: c_int,
) -> *mut BinderAllocRust {
    // SAFETY: `mm` is grabbed by the caller for at least the call; `ARef::from` grabs it again
    // for the state.
    let mm: ARef<Mm> = ARef::from(unsafe { Mm::from_raw(mm) });
    let init = pin_init!(BinderAllocRust {
        c: alloc,
        mm,
        freelist,
        pid,
        slots_base: UnsafeCell::new(ptr::null()),
        slots_len: UnsafeCell::new(0),
        vm_start: UnsafeCell::new(0),
        spare: SpareCBuffer::new(),
        inner <- new_mutex!(Inner {
            core: None,
            slots: Slots::empty(),
            vma_id: (0, 0),
            vm_start: 0,
        }),
    });
    match KBox::pin_init(init, GFP_KERNEL) {
        // SAFETY: The state is never moved out of its box: C only holds the pointer, and
        // `rust_binder_alloc_deferred_release` rebuilds the box to drop it in place.
        Ok(b) => KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) }),
        Err(_) => ptr::null_mut(),
    }
}

/// `binder_alloc_new_buf()`: stores the new buffer in `*buffer` and returns 0, or an errno.
///
/// # Safety
///
/// `ra` as for [`state`]; `buffer` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_new_buf(
    ra: *mut BinderAllocRust,
    data_size: usize,
    offsets_size: usize,
    extra_buffers_size: usize,
    is_async: c_int,
    pid: c_int,
    buffer: *mut *mut CBinderBuffer,
) -> c_int {
    // SAFETY: By the precondition.
    let Some(ra) = (unsafe { state(ra) }) else {
        return ESRCH.to_errno();
    };
    let req = BufferRequest {
        data_size,
        offsets_size,
        extra_buffers_size,
        is_async: is_async != 0,
    };
    match ra.new_buf(&req, pid) {
        Ok(b) => {
            // SAFETY: By the precondition.
            unsafe { *buffer = b.as_ptr() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `binder_alloc_free_buf()`.
///
/// # Safety
///
/// `ra` as for [`state`]; `buffer` was returned by [`rust_binder_alloc_new_buf`] for `ra` and
/// is not used by the caller after this call.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_free_buf(
    ra: *mut BinderAllocRust,
    buffer: *mut CBinderBuffer,
) {
    // SAFETY: By the precondition.
    if let (Some(ra), Some(b)) = (unsafe { state(ra) }, NonNull::new(buffer)) {
        ra.free_buf(b);
    }
}

/// `binder_alloc_prepare_to_free()`: stores the buffer (or NULL) in `*buffer` and returns 0, or
/// returns -EPERM.
///
/// # Safety
///
/// `ra` as for [`state`]; `buffer` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_prepare_to_free(
    ra: *mut BinderAllocRust,
    user_ptr: c_ulong,
    buffer: *mut *mut CBinderBuffer,
) -> c_int {
    // SAFETY: By the precondition.
    let Some(ra) = (unsafe { state(ra) }) else {
        return 0;
    };
    match ra.prepare_to_free(user_ptr) {
        Ok(b) => {
            // SAFETY: By the precondition.
            unsafe { *buffer = b.map_or(ptr::null_mut(), |b| b.as_ptr()) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `binder_alloc_copy_user_to_buffer()`: returns the number of bytes not copied.
///
/// # Safety
///
/// `ra` as for [`state`]; `buffer` is a live buffer of `ra`.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_copy_user_to_buffer(
    ra: *mut BinderAllocRust,
    buffer: *mut CBinderBuffer,
    buffer_offset: u64,
    from: *const c_void,
    bytes: usize,
) -> c_ulong {
    // SAFETY: By the precondition.
    let (Some(ra), Some(b)) = (unsafe { state(ra) }, NonNull::new(buffer)) else {
        return bytes as c_ulong;
    };
    let view = buffer_view(b);
    if !ra.check_buffer(&view, buffer_offset, bytes) {
        return bytes as c_ulong;
    }
    let mut reader = UserSlice::new(UserPtr::from_ptr(from.cast_mut()), bytes).reader();
    let mut copied = 0;
    let copy = |page: &SharedPage, pgoff, len, done| {
        // SAFETY: The page is the driver's own; userspace maps it read-only, and the kernel only
        // writes a buffer that binder.c is building.
        unsafe {
            page.as_page()
                .copy_from_user_slice_raw(&mut reader, pgoff, len)
        }?;
        copied = done + len;
        Ok(())
    };
    // SAFETY: `view` is of `b`, a live buffer of `ra` for the call (precondition).
    let _ = unsafe { ra.for_each_chunk(&view, buffer_offset as usize, bytes, copy) };
    (bytes - copied) as c_ulong
}

/// `binder_alloc_copy_to_buffer()` (`to_buffer`) and `_from_buffer()`: 0 or -EINVAL.
///
/// # Safety
///
/// `ra` as for [`state`]; `buffer` is a live buffer of `ra`; `ptr` is valid for `bytes` bytes
/// of reads (`to_buffer`) or writes.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_copy_buffer(
    ra: *mut BinderAllocRust,
    to_buffer: bool,
    buffer: *mut CBinderBuffer,
    buffer_offset: u64,
    ptr: *mut c_void,
    bytes: usize,
) -> c_int {
    // SAFETY: By the precondition.
    let (Some(ra), Some(b)) = (unsafe { state(ra) }, NonNull::new(buffer)) else {
        return EINVAL.to_errno();
    };
    let view = buffer_view(b);
    if !ra.check_buffer(&view, buffer_offset, bytes) {
        return EINVAL.to_errno();
    }
    let ptr = ptr.cast::<u8>();
    let copy = |page: &SharedPage, pgoff, len, done: usize| {
        // SAFETY: `ptr + done .. + len` is within the caller's `bytes`; the page is the
        // driver's own and the caller owns the buffer.
        unsafe {
            if to_buffer {
                page.as_page().write_raw(ptr.add(done), pgoff, len)
            } else {
                page.as_page().read_raw(ptr.add(done), pgoff, len)
            }
        }
    };
    // SAFETY: `view` is of `b`, a live buffer of `ra` for the call (precondition).
    let res = unsafe { ra.for_each_chunk(&view, buffer_offset as usize, bytes, copy) };
    match res {
        Ok(()) => 0,
        Err(_) => EINVAL.to_errno(),
    }
}

/// `binder_alloc_mmap_handler()`.
///
/// # Safety
///
/// `ra` as for [`state`]; `vma` is the VMA being mapped, with the mmap lock held.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_mmap_handler(
    ra: *mut BinderAllocRust,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: By the precondition.
    let Some(ra) = (unsafe { state(ra) }) else {
        return ENOMEM.to_errno();
    };
    // SAFETY: The caller holds the mmap lock for the duration of the call.
    let vma = unsafe { VmaRef::from_raw(vma) };
    match ra.mmap_handler(vma) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `binder_alloc_vma_close()`.
///
/// # Safety
///
/// `ra` as for [`state`].
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_vma_close(ra: *mut BinderAllocRust) {
    // SAFETY: By the precondition.
    if let Some(ra) = unsafe { state(ra) } {
        ra.vma_close();
    }
}

/// `->fault()` of the binder mapping.
///
/// # Safety
///
/// `ra` as for [`state`]; `vmf` is the fault being handled, in `->fault()` on this thread, with
/// the mmap or VMA read lock held.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_vm_fault(
    ra: *mut BinderAllocRust,
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: By the precondition.
    let Some(ra) = (unsafe { state(ra) }) else {
        return VmFaultReason::SIGBUS.as_raw();
    };
    // SAFETY: `vmf` is the fault of a running `->fault()` on this thread, with the mmap or VMA
    // read lock held, for the duration of this call.
    let vmf = unsafe { VmFault::from_raw(vmf) };
    ra.fault(&vmf).as_raw()
}

/// `binder_alloc_deferred_release()`: frees the state.
///
/// # Safety
///
/// `ra` as for [`state`]; it is not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_deferred_release(ra: *mut BinderAllocRust) {
    // SAFETY: By the precondition.
    let Some(state_ref) = (unsafe { state(ra) }) else {
        return;
    };
    if state_ref.release() {
        // SAFETY: `ra` came from `KBox::into_raw` in `rust_binder_alloc_new` and is not used
        // again; every slot is off the LRU, so the shrinker cannot reach it.
        drop(unsafe { KBox::from_raw(ra) });
    }
}

/// `binder_alloc_get_allocated_count()`.
///
/// # Safety
///
/// `ra` as for [`state`].
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_get_allocated_count(ra: *mut BinderAllocRust) -> c_int {
    // SAFETY: By the precondition.
    unsafe { state(ra) }
        .and_then(|ra| {
            let inner = ra.inner.lock();
            inner.core.as_ref().map(|c| c.allocated_count() as c_int)
        })
        .unwrap_or(0)
}

/// `binder_alloc_get_free_async_space()`.
///
/// # Safety
///
/// `ra` as for [`state`].
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_free_async_space(ra: *mut BinderAllocRust) -> usize {
    // SAFETY: By the precondition.
    unsafe { state(ra) }
        .and_then(|ra| {
            let inner = ra.inner.lock();
            inner.core.as_ref().map(|c| c.free_async_space())
        })
        .unwrap_or(0)
}

/// `binder_alloc_print_allocated()`.
///
/// # Safety
///
/// `ra` as for [`state`]; `m` is a live seq_file.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_print_allocated(
    ra: *mut BinderAllocRust,
    m: *mut bindings::seq_file,
) {
    // SAFETY: By the precondition.
    let Some(ra) = (unsafe { state(ra) }) else {
        return;
    };
    let inner = ra.inner.lock();
    let Some(core) = inner.core.as_ref() else {
        return;
    };
    for b in core.allocated_buffers() {
        if let Some(cbuf) = cbuf_of(b.cookie) {
            // SAFETY: `m` is live; `cbuf` is a live buffer of this allocator.
            unsafe { binder_alloc_rust_print_buffer(m.cast(), cbuf.as_ptr(), b.offset) };
        }
    }
}

/// `binder_alloc_print_pages()`.
///
/// # Safety
///
/// `ra` as for [`state`]; `m` is a live seq_file.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_print_pages(
    ra: *mut BinderAllocRust,
    m: *mut bindings::seq_file,
) {
    let mut counts = range::PageCounts::default();
    let mut high = 0;
    // SAFETY: By the precondition.
    if let Some(ra) = unsafe { state(ra) } {
        let inner = ra.inner.lock();
        if let Some(core) = inner.core.as_ref() {
            // C counts only once mapped.
            if core.is_mapped() {
                counts = core.page_counts();
            }
            high = core.pages_high();
        }
    }
    // SAFETY: `m` is live.
    unsafe {
        binder_alloc_rust_print_pages(
            m.cast(),
            counts.active as c_int,
            counts.lru as c_int,
            counts.free as c_int,
            high,
        )
    };
}

/// `binder_alloc_free_page()` for `list_lru_walk()` callers (the KUnit test).
///
/// # Safety
///
/// `item` is the entry of a [`PageMeta`] on `lru`, whose lock is held by the walker; the result is
/// returned to the walker.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_free_page(
    item: *mut bindings::list_head,
    lru: *mut bindings::list_lru_one,
) -> bindings::lru_status {
    // SAFETY: By the precondition.
    let item = unsafe { LruWalkItem::<PageMeta>::from_raw(item, lru) };
    free_page(item).status().as_raw()
}

/// Registers the "android-binder" shrinker over `freelist`; stores its handle in `*shrinker`.
///
/// # Safety
///
/// `freelist` is initialised, holds only pages of this allocator and outlives the shrinker;
/// `shrinker` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_shrinker_init(
    freelist: *mut bindings::list_lru,
    shrinker: *mut *mut c_void,
) -> c_int {
    let res = (|| -> Result<KBox<ShrinkerRegistration<BinderShrinker>>> {
        let data = KBox::new(BinderShrinker { freelist }, GFP_KERNEL)?;
        let reg = ShrinkerBuilder::new(c"android-binder", ShrinkerFlags::NONE)?
            .register::<BinderShrinker>(data);
        Ok(KBox::new(reg, GFP_KERNEL)?)
    })();
    match res {
        Ok(reg) => {
            // SAFETY: By the precondition.
            unsafe { *shrinker = KBox::into_raw(reg).cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Unregisters and frees the shrinker.
///
/// # Safety
///
/// `shrinker` was stored by [`rust_binder_alloc_shrinker_init`] and is not used again.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_shrinker_exit(shrinker: *mut c_void) {
    if !shrinker.is_null() {
        // SAFETY: By the precondition, it came from `KBox::into_raw`.
        drop(unsafe { KBox::from_raw(shrinker.cast::<ShrinkerRegistration<BinderShrinker>>()) });
    }
}

/// `binder_alloc_buffer_size()`.
///
/// # Safety
///
/// `ra` as for [`state`]; `buffer` is a live buffer of `ra`.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_buffer_size(
    ra: *mut BinderAllocRust,
    buffer: *mut CBinderBuffer,
) -> usize {
    // SAFETY: By the precondition.
    match (unsafe { state(ra) }, NonNull::new(buffer)) {
        (Some(ra), Some(b)) => ra.buffer_size_of(b).unwrap_or(0),
        _ => 0,
    }
}

/// `enum binder_alloc_page_state` of page `index`.
///
/// # Safety
///
/// `ra` as for [`state`].
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_page_state(
    ra: *mut BinderAllocRust,
    index: c_ulong,
) -> c_int {
    // SAFETY: By the precondition.
    let state = unsafe { state(ra) }.and_then(|ra| {
        let inner = ra.inner.lock();
        inner.core.as_ref().and_then(|c| c.page_state(index))
    });
    match state {
        // BINDER_PAGE_IN_USE and BINDER_PAGE_ON_LRU of binder_alloc.h.
        Some(PageState::InUse) => 1,
        Some(PageState::Lru) => 2,
        // BINDER_PAGE_ABSENT: absent, reclaiming (the slot is already cleared) or past the end.
        _ => 0,
    }
}

/// The first buffer of the free tree: its size and whether it is the last buffer.
///
/// # Safety
///
/// `ra` as for [`state`]; `size` and `is_last` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rust_binder_alloc_first_free(
    ra: *mut BinderAllocRust,
    size: *mut usize,
    is_last: *mut bool,
) -> bool {
    // SAFETY: By the precondition.
    let Some(ra) = (unsafe { state(ra) }) else {
        return false;
    };
    let inner = ra.inner.lock();
    let Some(core) = inner.core.as_ref() else {
        return false;
    };
    let Some(first) = core.free_buffers().next() else {
        return false;
    };
    let last = core.buffers().last().map(|b| b.offset) == Some(first.offset);
    // SAFETY: By the precondition.
    unsafe {
        *size = first.size;
        *is_last = last;
    }
    true
}
