// SPDX-License-Identifier: GPL-2.0-only

//! The range allocator: C 7.3's `binder_alloc_new_buf()`, `binder_alloc_free_buf()` and
//! `binder_alloc_prepare_to_free()` semantics over offsets from the start of the mapping.
//!
//! The structure mirrors C one to one, because C's placement depends on it: every buffer
//! (`struct binder_buffer`) is a node of an arena; nodes are linked in address order (the
//! `alloc->buffers` list); a node is in exactly one of two red-black trees through the same
//! links (`rb_node`), the free tree keyed by size (computed from the list, as
//! `binder_alloc_buffer_size()` does, at the time of each comparison) or the allocated tree
//! keyed by offset. Inserts, erases and searches happen in C's order, including the erase and
//! re-insert around merges and splits, so the trees have C's shapes and best fit picks the same
//! buffer among equal sizes. Node fields that C leaves stale across reuse (`pid`) stay stale
//! here too, because the oneway-spam check reads them.
//!
//! Page states live here as well ([`crate::page`]); every method is called under the allocator
//! lock, which the kernel glue holds as `&mut Allocator`.

#![forbid(unsafe_code)]

use crate::env::{
    code::{EINVAL, ENOSPC, EPERM, ESRCH},
    flags::GFP_KERNEL,
    AllocError, Flags, KVec, Result, PAGE_SIZE,
};
use crate::page::{
    free_range, install_range, lru_del_range, merged_page, transition, PageActions, PageEvent,
    PageRange, PageState,
};
use crate::rbtree::{self, Link, NodeId, RbLinks, RbNodes, RbRoot};

/// `sizeof(void *)`: every size is aligned to it.
pub const PTR_SIZE: usize = 8;

/// The largest mapping binder accepts (`SZ_4M`).
pub const MAX_BUFFER_SIZE: usize = 4 << 20;

/// `ALIGN(x, sizeof(void *))`, wrapping like C's `size_t` arithmetic.
const fn align_ptr(x: usize) -> usize {
    x.wrapping_add(PTR_SIZE - 1) & !(PTR_SIZE - 1)
}

/// C's `sanitized_size()`: the total size of a request, or `None` for an invalid one.
///
/// Each of the three sizes is aligned to `sizeof(void *)`, overflow makes the request invalid,
/// and a zero total becomes `sizeof(void *)` so that every buffer has a unique address.
///
/// Always inlined: a few additions and compares, which out of line cost a call on every
/// allocation.
#[inline(always)]
pub const fn sanitized_size(
    data_size: usize,
    offsets_size: usize,
    extra_size: usize,
) -> Option<usize> {
    let tmp = align_ptr(data_size).wrapping_add(align_ptr(offsets_size));
    if tmp < data_size || tmp < offsets_size {
        return None;
    }
    let total = tmp.wrapping_add(align_ptr(extra_size));
    if total < tmp || total < extra_size {
        return None;
    }
    Some(if total > PTR_SIZE { total } else { PTR_SIZE })
}

/// The sizes and kind of a buffer request (the arguments of `binder_alloc_new_buf()`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BufferRequest {
    /// Size of the transaction data.
    pub data_size: usize,
    /// Size of the offsets array.
    pub offsets_size: usize,
    /// Size of the extra buffers (scatter-gather, security context).
    pub extra_buffers_size: usize,
    /// The buffer is for a oneway (async) transaction.
    pub is_async: bool,
}

impl BufferRequest {
    /// The sanitised total size, or `EINVAL`.
    #[inline(always)]
    pub const fn size(&self) -> Result<usize> {
        match sanitized_size(self.data_size, self.offsets_size, self.extra_buffers_size) {
            Some(size) => Ok(size),
            None => Err(EINVAL),
        }
    }
}

/// A successful allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBuffer {
    /// Offset of the buffer from the start of the mapping (`user_data - vm_start`).
    pub offset: usize,
    /// Sanitised size of the buffer.
    pub size: usize,
    /// C's `buffer->oneway_spam_suspect`.
    pub oneway_spam_suspect: bool,
    /// What C's `debug_low_async_space_locked()` logs as "spamming oneway?": the number and
    /// total size of the async buffers `pid` holds, whenever they are over the threshold (not
    /// only the first time, which alone sets `oneway_spam_suspect`).
    pub spam_report: Option<(usize, usize)>,
    /// Pages this allocation took off the LRU (C's `binder_lru_freelist_del()` range). Each has
    /// already gone through [`PageEvent::Allocate`]; for every index of this range whose slot
    /// holds a page, the glue calls `list_lru_del()`.
    pub lru_del: PageRange,
    /// Pages the buffer touches (C's `binder_install_buffer_pages()` range). After dropping the
    /// allocator lock the glue allocates a page for each index of this range that
    /// [`Allocator::page_state`] reported [`PageState::Absent`], then reports
    /// [`PageEvent::Installed`] for it under the lock.
    pub install: PageRange,
}

/// Pages that a free put back on the LRU: one range of pages fully inside the freed buffer plus
/// at most two pages released by merges with free neighbours. Every index here has gone through
/// [`PageEvent::Free`]; the glue calls `list_lru_add()` for each one whose slot holds a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FreedPages {
    /// C's `binder_lru_freelist_add()` range of `binder_free_buf_locked()`.
    pub range: PageRange,
    /// Pages released by `binder_delete_free_buffer()`, in C's order.
    pub merged: [Option<usize>; 2],
}

impl FreedPages {
    /// All page indices, in the order C visits them.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.range
            .clone()
            .chain(self.merged.iter().flatten().copied())
    }
}

/// What the glue and the debug output can see of one buffer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BufferInfo {
    /// Offset from the start of the mapping.
    pub offset: usize,
    /// Size of the buffer (distance to the next buffer or to the end of the mapping).
    pub size: usize,
    /// The buffer is free.
    pub free: bool,
    /// C's `data_size` (stale for free buffers).
    pub data_size: usize,
    /// C's `offsets_size` (stale for free buffers).
    pub offsets_size: usize,
    /// C's `extra_buffers_size` (stale for free buffers).
    pub extra_buffers_size: usize,
    /// C's `async_transaction`.
    pub async_transaction: bool,
    /// C's `allow_user_free`.
    pub allow_user_free: bool,
    /// C's `oneway_spam_suspect`.
    pub oneway_spam_suspect: bool,
    /// C's `pid` (the sender's thread group id).
    pub pid: i32,
    /// The caller's handle for an allocated buffer (see [`Allocator::new_buf_with_cookie`]).
    pub cookie: usize,
}

/// Page counts printed by `binder_alloc_print_pages()` (`pages: active:lru:free`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Installed pages off the LRU.
    pub active: usize,
    /// Installed pages on the LRU.
    pub lru: usize,
    /// Indices without a page (a page being reclaimed has already left its slot).
    pub free: usize,
}

/// One `struct binder_buffer`: list links, tree links and the fields C keeps in it.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Node {
    rb: RbLinks,
    prev: Option<NodeId>,
    next: Option<NodeId>,
    offset: usize,
    free: bool,
    data_size: usize,
    offsets_size: usize,
    extra_buffers_size: usize,
    async_transaction: bool,
    allow_user_free: bool,
    oneway_spam_suspect: bool,
    pid: i32,
    cookie: usize,
}

impl Node {
    /// A node as `kzalloc_obj()` returns it.
    const ZEROED: Node = Node {
        rb: RbLinks::EMPTY,
        prev: None,
        next: None,
        offset: 0,
        free: false,
        data_size: 0,
        offsets_size: 0,
        extra_buffers_size: 0,
        async_transaction: false,
        allow_user_free: false,
        oneway_spam_suspect: false,
        pid: 0,
        cookie: 0,
    };

    /// `*self = Node::ZEROED`, written field by field.
    ///
    /// Assigning the constant compiles to a copy of it from `.rodata` (`rep movsq`, twelve
    /// iterations): under TCG that is a translation block per iteration and one more data
    /// page touched per operation, on hardware the string instruction's start-up cost. The
    /// field stores are what C's `kzalloc()` of a `struct binder_buffer` amounts to. A
    /// test checks that the two agree.
    #[inline(always)]
    fn clear(&mut self, next: Option<NodeId>) {
        self.rb = RbLinks::EMPTY;
        self.prev = None;
        self.next = next;
        self.offset = 0;
        self.free = false;
        self.data_size = 0;
        self.offsets_size = 0;
        self.extra_buffers_size = 0;
        self.async_transaction = false;
        self.allow_user_free = false;
        self.oneway_spam_suspect = false;
        self.pid = 0;
        self.cookie = 0;
    }
}

/// Storage allocated before taking the allocator lock (C preallocates the next
/// `struct binder_buffer` with `kzalloc_obj()` before `mutex_lock()`): room for the node
/// arena and for the table of async buffer holders.
///
/// [`Allocator::reserve_hint`] says how large a reservation must be; a reservation that is
/// empty or too small is fine too, the allocator then grows its storage under the lock.
/// Whatever the allocator hands back in it must be dropped after the lock is released.
///
/// The parts are optional so that the usual, empty reservation costs nothing to drop (an
/// empty kernel `Vec` still calls the allocator's `free`).
pub struct NodeReserve {
    nodes: Option<KVec<Node>>,
    holders: Option<KVec<AsyncHolder>>,
}

impl NodeReserve {
    /// A reservation with room for an arena of `capacity` nodes.
    pub fn new(capacity: usize, flags: Flags) -> core::result::Result<Self, AllocError> {
        Ok(NodeReserve {
            nodes: Some(KVec::with_capacity(capacity, flags)?),
            holders: None,
        })
    }

    /// The reservation [`Allocator::reserve_hint`] asked for.
    pub fn for_hint(hint: ReserveHint, flags: Flags) -> core::result::Result<Self, AllocError> {
        let nodes = match hint.nodes {
            0 => None,
            n => Some(KVec::with_capacity(n, flags)?),
        };
        let holders = match hint.holders {
            0 => None,
            n => Some(KVec::with_capacity(n, flags)?),
        };
        Ok(NodeReserve { nodes, holders })
    }

    /// A reservation holding nothing.
    pub const fn empty() -> Self {
        NodeReserve {
            nodes: None,
            holders: None,
        }
    }
}

/// How large a [`NodeReserve`] must be for the next allocation not to allocate under the lock.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ReserveHint {
    nodes: usize,
    holders: usize,
}

impl ReserveHint {
    /// Whether no reservation is needed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.nodes == 0 && self.holders == 0
    }
}

/// The async buffers one sender holds: what C's `debug_low_async_space_locked()` counts by
/// walking every allocated buffer, kept up to date instead so that the check is O(number of
/// senders) rather than O(allocated buffers) under the allocator lock.
#[derive(Copy, Clone, Debug)]
struct AsyncHolder {
    /// The sender (`buffer->pid` of its buffers).
    pid: i32,
    /// How many allocated async buffers have this `pid`; never 0 in the table.
    count: u32,
    /// Their total size.
    size: usize,
}

/// Grows `vec`, which is full: moves its elements into the reserved storage if that is empty
/// and larger, handing the old storage back in `reserve` (to be freed after unlocking), else
/// reserves room for `vec.len().max(min_grow)` more elements (allowed under the allocator
/// mutex, never under a spinlock).
#[cold]
#[inline(never)]
fn grow_from_reserve<T: Copy>(
    vec: &mut KVec<T>,
    reserve: &mut Option<KVec<T>>,
    min_grow: usize,
) -> Result {
    if let Some(mut new) = reserve.take() {
        if new.capacity() > vec.len() && new.is_empty() {
            for x in vec.iter() {
                // Cannot fail: the capacity was checked above.
                new.push(*x, GFP_KERNEL)?;
            }
            let mut old = core::mem::replace(vec, new);
            old.clear();
            *reserve = Some(old);
            return Ok(());
        }
        *reserve = Some(new);
    }
    vec.reserve(vec.len().max(min_grow), GFP_KERNEL)?;
    Ok(())
}

struct Arena {
    nodes: KVec<Node>,
    /// Unused slots, chained through `Node::next`.
    spare: Option<NodeId>,
}

impl RbNodes for Arena {
    #[inline]
    fn rb(&self, n: NodeId) -> &RbLinks {
        &self.nodes[n as usize].rb
    }

    #[inline]
    fn rb_mut(&mut self, n: NodeId) -> &mut RbLinks {
        &mut self.nodes[n as usize].rb
    }
}

impl Arena {
    #[inline]
    fn node(&self, n: NodeId) -> &Node {
        &self.nodes[n as usize]
    }

    #[inline]
    fn node_mut(&mut self, n: NodeId) -> &mut Node {
        &mut self.nodes[n as usize]
    }

    /// Whether a node can be taken without allocating.
    #[inline]
    fn has_room(&self) -> bool {
        self.spare.is_some() || self.nodes.len() < self.nodes.capacity()
    }

    /// Makes room for one node, from the reservation if it is large enough, else by growing
    /// the arena (allowed under the allocator mutex, never under a spinlock).
    #[inline(always)]
    fn make_room(&mut self, reserve: &mut NodeReserve) -> Result {
        if self.has_room() {
            return Ok(());
        }
        grow_from_reserve(&mut self.nodes, &mut reserve.nodes, 8)
    }

    /// Takes a zeroed node; [`Arena::make_room`] must have succeeded.
    #[inline(always)]
    fn take(&mut self) -> Result<NodeId> {
        if let Some(n) = self.spare {
            self.spare = self.node(n).next;
            self.node_mut(n).clear(None);
            return Ok(n);
        }
        let id = NodeId::try_from(self.nodes.len()).map_err(|_| EINVAL)?;
        self.nodes.push(Node::ZEROED, GFP_KERNEL)?;
        Ok(id)
    }

    /// `kfree()` of a node.
    #[inline(always)]
    fn put(&mut self, n: NodeId) {
        let spare = self.spare;
        self.node_mut(n).clear(spare);
        self.spare = Some(n);
    }
}

/// The allocator state of one binder process (the bookkeeping part of `struct binder_alloc`).
///
/// # Invariants
///
/// The list from `head` covers `[0, buffer_size)` without gaps; free buffers are exactly the
/// nodes of `free_buffers`, allocated ones exactly those of `allocated_buffers`; no two free
/// buffers are adjacent.
pub struct Allocator {
    arena: Arena,
    head: Option<NodeId>,
    free_buffers: RbRoot,
    allocated_buffers: RbRoot,
    free_async_space: usize,
    /// One entry per pid that holds allocated async buffers (see [`AsyncHolder`]).
    holders: KVec<AsyncHolder>,
    oneway_spam_detected: bool,
    mapped: bool,
    pages: KVec<PageState>,
    /// A `u32` (at most `MAX_BUFFER_SIZE / PAGE_SIZE`), so that it shares a word with the
    /// flags above: the kernel glue's state fits in 256 bytes.
    pages_high: u32,
}

impl Allocator {
    /// The state after `binder_alloc_mmap_handler()` for a mapping of `buffer_size` bytes
    /// (already capped at [`MAX_BUFFER_SIZE`] and page aligned by the caller): one free buffer,
    /// half of it as async space, every page absent.
    pub fn new(buffer_size: usize, flags: Flags) -> Result<Self> {
        if buffer_size == 0 || buffer_size > MAX_BUFFER_SIZE || buffer_size & (PAGE_SIZE - 1) != 0 {
            return Err(EINVAL);
        }
        // Room for the first buffer and the remainder it splits off; the arena grows (by
        // doubling, see `reserve_hint`) as buffers are allocated. An idle process keeps the
        // metadata small (C allocates one `struct binder_buffer` at mmap).
        let mut nodes = KVec::with_capacity(2, flags)?;
        nodes.push(Node::ZEROED, flags)?;
        let pages = KVec::from_elem(PageState::Absent, buffer_size / PAGE_SIZE, flags)?;
        let mut alloc = Allocator {
            arena: Arena { nodes, spare: None },
            head: Some(0),
            free_buffers: RbRoot::default(),
            allocated_buffers: RbRoot::default(),
            free_async_space: buffer_size / 2,
            holders: KVec::new(),
            oneway_spam_detected: false,
            mapped: true,
            pages,
            pages_high: 0,
        };
        alloc.arena.node_mut(0).free = true;
        alloc.insert_free_buffer(0);
        // INVARIANT: one free buffer covering the whole mapping.
        Ok(alloc)
    }

    /// `binder_alloc_buffer_size()`.
    #[inline(always)]
    fn size_of(&self, n: NodeId) -> usize {
        let node = self.arena.node(n);
        match node.next {
            Some(next) => self.arena.node(next).offset - node.offset,
            None => self.buffer_size() - node.offset,
        }
    }

    /// `binder_insert_free_buffer()`: descend by size, equal sizes to the right.
    #[inline(always)]
    fn insert_free_buffer(&mut self, n: NodeId) {
        let new_size = self.size_of(n);
        let mut link = Link::Root;
        let mut p = self.free_buffers.node;
        while let Some(parent) = p {
            if new_size < self.size_of(parent) {
                link = Link::Left(parent);
                p = self.arena.rb(parent).left;
            } else {
                link = Link::Right(parent);
                p = self.arena.rb(parent).right;
            }
        }
        let mut root = self.free_buffers;
        rbtree::link_node(&mut self.arena, n, link, &mut root);
        rbtree::insert_color(&mut self.arena, n, &mut root);
        self.free_buffers = root;
    }

    /// `binder_insert_allocated_buffer_locked()`: descend by offset.
    #[inline(always)]
    fn insert_allocated_buffer(&mut self, n: NodeId) {
        let offset = self.arena.node(n).offset;
        let mut link = Link::Root;
        let mut p = self.allocated_buffers.node;
        while let Some(parent) = p {
            if offset < self.arena.node(parent).offset {
                link = Link::Left(parent);
                p = self.arena.rb(parent).left;
            } else {
                link = Link::Right(parent);
                p = self.arena.rb(parent).right;
            }
        }
        let mut root = self.allocated_buffers;
        rbtree::link_node(&mut self.arena, n, link, &mut root);
        rbtree::insert_color(&mut self.arena, n, &mut root);
        self.allocated_buffers = root;
    }

    #[inline(always)]
    fn erase_free(&mut self, n: NodeId) {
        let mut root = self.free_buffers;
        rbtree::erase(&mut self.arena, n, &mut root);
        self.free_buffers = root;
    }

    #[inline(always)]
    fn erase_allocated(&mut self, n: NodeId) {
        let mut root = self.allocated_buffers;
        rbtree::erase(&mut self.arena, n, &mut root);
        self.allocated_buffers = root;
    }

    /// The allocated buffer at `offset`.
    #[inline(always)]
    fn find_allocated(&self, offset: usize) -> Option<NodeId> {
        let mut n = self.allocated_buffers.node;
        while let Some(id) = n {
            let o = self.arena.node(id).offset;
            n = match offset.cmp(&o) {
                core::cmp::Ordering::Less => self.arena.rb(id).left,
                core::cmp::Ordering::Greater => self.arena.rb(id).right,
                core::cmp::Ordering::Equal => return Some(id),
            };
        }
        None
    }

    /// `list_add(&new->entry, &buffer->entry)`: link `new` right after `n`.
    #[inline(always)]
    fn list_add_after(&mut self, new: NodeId, n: NodeId) {
        let next = self.arena.node(n).next;
        self.arena.node_mut(new).prev = Some(n);
        self.arena.node_mut(new).next = next;
        self.arena.node_mut(n).next = Some(new);
        if let Some(x) = next {
            self.arena.node_mut(x).prev = Some(new);
        }
    }

    /// `list_del()` + `kfree()`.
    #[inline(always)]
    fn list_del(&mut self, n: NodeId) {
        let (prev, next) = (self.arena.node(n).prev, self.arena.node(n).next);
        match prev {
            Some(p) => self.arena.node_mut(p).next = next,
            None => self.head = next,
        }
        if let Some(x) = next {
            self.arena.node_mut(x).prev = prev;
        }
        self.arena.put(n);
    }

    /// How large a [`NodeReserve`] must be for the next [`Allocator::new_buf`] of `req` not to
    /// allocate under the lock (empty when no reservation is needed).
    #[inline]
    pub fn reserve_hint(&self, req: &BufferRequest) -> ReserveHint {
        let nodes = if self.arena.has_room() {
            0
        } else {
            (self.arena.nodes.len() * 2).max(4)
        };
        // A oneway buffer may bring a new sender into the holder table.
        let holders = if req.is_async && self.holders.len() == self.holders.capacity() {
            (self.holders.len() * 2).max(4)
        } else {
            0
        };
        ReserveHint { nodes, holders }
    }

    /// Makes room in the holder table for one more sender, from the reservation if it is large
    /// enough, else by growing the table (under the allocator mutex, as the arena does).
    #[inline(always)]
    fn make_holder_room(&mut self, reserve: &mut NodeReserve) -> Result {
        if self.holders.len() < self.holders.capacity() {
            return Ok(());
        }
        grow_from_reserve(&mut self.holders, &mut reserve.holders, 4)
    }

    /// Counts an allocated async buffer of `size` bytes for `pid`; the table has room (see
    /// [`Allocator::make_holder_room`]).
    #[inline(always)]
    fn holder_add(&mut self, pid: i32, size: usize) {
        if let Some(h) = self.holders.iter_mut().find(|h| h.pid == pid) {
            h.count += 1;
            h.size += size;
            return;
        }
        // Cannot fail: `make_holder_room()` succeeded for this allocation.
        let _ = self.holders.push(
            AsyncHolder {
                pid,
                count: 1,
                size,
            },
            GFP_KERNEL,
        );
    }

    /// Uncounts an async buffer of `size` bytes that `pid` held.
    #[inline(always)]
    fn holder_remove(&mut self, pid: i32, size: usize) {
        let Some(i) = self.holders.iter().position(|h| h.pid == pid) else {
            return;
        };
        let h = &mut self.holders[i];
        h.count -= 1;
        h.size -= size;
        if h.count == 0 {
            // `swap_remove()`: the table is unordered.
            if let Some(last) = self.holders.pop() {
                if i < self.holders.len() {
                    self.holders[i] = last;
                }
            }
        }
    }

    /// `binder_alloc_vma_close()`: later allocations fail with `ESRCH`.
    pub fn vma_close(&mut self) {
        self.mapped = false;
    }

    /// Whether the mapping is still usable for allocations.
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }

    /// `binder_alloc_new_buf()` up to and including `binder_alloc_new_buf_locked()`, with
    /// `pid` standing for `current->tgid`.
    ///
    /// Errors, in C's order: `ESRCH` (not mapped), `EINVAL` (size), `ENOMEM` (node storage),
    /// `ENOSPC` (async space, then address space). Page installation is the glue's next step,
    /// see [`NewBuffer::install`]; if it fails the glue frees the buffer with
    /// [`Allocator::free_buf`] and returns the installation error, as C does.
    ///
    /// `#[inline]` so that it is only generated where it is called: the kernel glue does not
    /// call it, and a copy in the kernel object would carry its own copy of the always-inlined
    /// path (about 2 KiB among the hot code).
    #[inline]
    pub fn new_buf(
        &mut self,
        req: &BufferRequest,
        pid: i32,
        reserve: &mut NodeReserve,
    ) -> Result<NewBuffer> {
        self.new_buf_with_cookie(req, pid, reserve, 0)
    }

    /// [`Allocator::new_buf`], recording `cookie` with the allocated buffer: the caller's
    /// handle for it (the kernel glue's C `struct binder_buffer`, which in C is the node
    /// itself), returned by [`Allocator::allocated_cookie`] and checked by
    /// [`Allocator::free_buf_with_cookie`], so that the caller needs no map of its own.
    #[inline(always)]
    pub fn new_buf_with_cookie(
        &mut self,
        req: &BufferRequest,
        pid: i32,
        reserve: &mut NodeReserve,
        cookie: usize,
    ) -> Result<NewBuffer> {
        if !self.mapped {
            return Err(ESRCH);
        }
        let size = req.size()?;
        self.arena.make_room(reserve)?;
        if req.is_async {
            self.make_holder_room(reserve)?;
        }

        if req.is_async && self.free_async_space < size {
            return Err(ENOSPC);
        }

        // Best fit: the smallest free buffer at least `size` long on the descent path,
        // stopping at the first exact match.
        let mut n = self.free_buffers.node;
        let mut best_fit = None;
        let mut buffer_size = 0;
        while let Some(id) = n {
            buffer_size = self.size_of(id);
            if size < buffer_size {
                best_fit = Some(id);
                n = self.arena.rb(id).left;
            } else if size > buffer_size {
                n = self.arena.rb(id).right;
            } else {
                best_fit = Some(id);
                break;
            }
        }
        let Some(buffer) = best_fit else {
            return Err(ENOSPC);
        };

        if buffer_size != size {
            // Found an oversized buffer: split it. The remainder is inserted while `buffer`
            // is still in the free tree with its new, shorter size, as in C.
            buffer_size = self.size_of(buffer);
            let new_buffer = self.arena.take()?;
            self.arena.node_mut(new_buffer).offset = self.arena.node(buffer).offset + size;
            self.list_add_after(new_buffer, buffer);
            self.arena.node_mut(new_buffer).free = true;
            self.insert_free_buffer(new_buffer);
        }

        let offset = self.arena.node(buffer).offset;
        let lru_del = lru_del_range(offset, size, buffer_size);
        self.lru_freelist_del(lru_del.clone());

        self.erase_free(buffer);
        {
            let b = self.arena.node_mut(buffer);
            b.free = false;
            b.allow_user_free = false;
        }
        self.insert_allocated_buffer(buffer);
        {
            let b = self.arena.node_mut(buffer);
            b.async_transaction = req.is_async;
            b.oneway_spam_suspect = false;
        }
        let mut spam_report = None;
        if req.is_async {
            self.free_async_space -= size;
            // C's walk also counts the new buffer, whose `pid` is still the stale one.
            let stale = self.arena.node(buffer).pid == pid;
            let (suspect, report) = self.debug_low_async_space(pid, stale.then_some(size));
            if suspect {
                self.arena.node_mut(buffer).oneway_spam_suspect = true;
            }
            spam_report = report;
            self.holder_add(pid, size);
        }

        // Set after the spam check, as C does in binder_alloc_new_buf().
        let b = self.arena.node_mut(buffer);
        b.data_size = req.data_size;
        b.offsets_size = req.offsets_size;
        b.extra_buffers_size = req.extra_buffers_size;
        b.pid = pid;
        b.cookie = cookie;

        Ok(NewBuffer {
            offset,
            size,
            oneway_spam_suspect: b.oneway_spam_suspect,
            spam_report,
            lru_del,
            install: install_range(offset, size),
        })
    }

    /// `binder_lru_freelist_del()`: installed pages leave the LRU; absent ones raise the high
    /// watermark.
    #[inline(always)]
    fn lru_freelist_del(&mut self, range: PageRange) {
        for index in range {
            if self.pages[index] == PageState::Absent {
                // `index < self.pages.len() <= MAX_BUFFER_SIZE / PAGE_SIZE`: no truncation.
                self.pages_high = self.pages_high.max(index as u32 + 1);
            }
            // C only WARNs on a page that is not on the LRU; keep the state as it is then.
            let _ = self.page_event(index, PageEvent::Allocate);
        }
    }

    /// `binder_lru_freelist_add()`.
    #[inline(always)]
    fn lru_freelist_add(&mut self, range: PageRange) {
        for index in range {
            let _ = self.page_event(index, PageEvent::Free);
        }
    }

    /// `debug_low_async_space_locked()`: whether `pid` looks like a oneway spammer now (only
    /// the first time it crosses the threshold), and the numbers C logs each time it is over.
    ///
    /// C walks every allocated buffer and sums the async ones whose `pid` is `pid`: the
    /// buffers `pid` held before this allocation, plus the new one (`new`, its size) if its
    /// stale `pid` happens to be `pid`. The holder table has the former.
    ///
    /// The common case (more than 20% of async space left) is inlined into the caller; the
    /// holder lookup is not.
    #[inline(always)]
    fn debug_low_async_space(
        &mut self,
        pid: i32,
        new: Option<usize>,
    ) -> (bool, Option<(usize, usize)>) {
        // Only start detecting spammers once less than 20% of async space is left (10% of the
        // total buffer size).
        if self.free_async_space >= self.buffer_size() / 10 {
            self.oneway_spam_detected = false;
            return (false, None);
        }
        self.debug_low_async_space_low(pid, new)
    }

    /// [`Self::debug_low_async_space`] once less than 20% of async space is left.
    #[inline(never)]
    fn debug_low_async_space_low(
        &mut self,
        pid: i32,
        new: Option<usize>,
    ) -> (bool, Option<(usize, usize)>) {
        let (mut num_buffers, mut total_alloc_size) = self
            .holders
            .iter()
            .find(|h| h.pid == pid)
            .map_or((0, 0), |h| (h.count as usize, h.size));
        if let Some(size) = new {
            num_buffers += 1;
            total_alloc_size += size;
        }
        // More than 50 transactions, or more than 50% of async space (25% of the total).
        if num_buffers > 50 || total_alloc_size > self.buffer_size() / 4 {
            let report = Some((num_buffers, total_alloc_size));
            if !self.oneway_spam_detected {
                self.oneway_spam_detected = true;
                return (true, report);
            }
            return (false, report);
        }
        (false, None)
    }

    /// `binder_alloc_free_buf()` (`binder_free_buf_locked()`) of the allocated buffer at
    /// `offset`; `EINVAL` if there is none (C would `BUG()`).
    ///
    /// `#[inline]` so that it is only generated where it is called: the kernel glue does not
    /// call it, and a copy in the kernel object would carry its own copy of the always-inlined
    /// path (about 2 KiB among the hot code).
    #[inline]
    pub fn free_buf(&mut self, offset: usize) -> Result<FreedPages> {
        let buffer = self.find_allocated(offset).ok_or(EINVAL)?;
        Ok(self.free_buf_locked(buffer))
    }

    /// [`Allocator::free_buf`] of the allocated buffer at `offset` if its cookie is `cookie`;
    /// `EINVAL`, changing nothing, if there is no such buffer.
    #[inline(always)]
    pub fn free_buf_with_cookie(&mut self, offset: usize, cookie: usize) -> Result<FreedPages> {
        let buffer = self.find_allocated(offset).ok_or(EINVAL)?;
        if self.arena.node(buffer).cookie != cookie {
            return Err(EINVAL);
        }
        Ok(self.free_buf_locked(buffer))
    }

    /// The cookie of the allocated buffer at `offset` (see [`Allocator::new_buf_with_cookie`]).
    #[inline(always)]
    pub fn allocated_cookie(&self, offset: usize) -> Option<usize> {
        self.find_allocated(offset)
            .map(|id| self.arena.node(id).cookie)
    }

    #[inline(always)]
    fn free_buf_locked(&mut self, mut buffer: NodeId) -> FreedPages {
        let buffer_size = self.size_of(buffer);
        let offset = self.arena.node(buffer).offset;
        if self.arena.node(buffer).async_transaction {
            self.free_async_space += buffer_size;
            self.holder_remove(self.arena.node(buffer).pid, buffer_size);
        }

        let mut freed = FreedPages {
            range: free_range(offset, buffer_size),
            merged: [None, None],
        };
        self.lru_freelist_add(freed.range.clone());

        self.erase_allocated(buffer);
        self.arena.node_mut(buffer).free = true;
        if let Some(next) = self.arena.node(buffer).next {
            if self.arena.node(next).free {
                self.erase_free(next);
                freed.merged[0] = self.delete_free_buffer(next);
            }
        }
        if let Some(prev) = self.arena.node(buffer).prev {
            if self.arena.node(prev).free {
                freed.merged[1] = self.delete_free_buffer(buffer);
                self.erase_free(prev);
                buffer = prev;
            }
        }
        self.insert_free_buffer(buffer);
        freed
    }

    /// `binder_delete_free_buffer()`: unlink a free buffer merged into its free predecessor,
    /// releasing its first page if nobody else uses it.
    #[inline(always)]
    fn delete_free_buffer(&mut self, n: NodeId) -> Option<usize> {
        let node = self.arena.node(n);
        let page = match node.prev {
            Some(prev) => merged_page(
                self.arena.node(prev).offset,
                node.offset,
                node.next.map(|x| self.arena.node(x).offset),
            ),
            None => None,
        };
        if let Some(index) = page {
            self.lru_freelist_add(index..index + 1);
        }
        self.list_del(n);
        page
    }

    /// `binder_alloc_prepare_to_free()`: `Ok(None)` if no allocated buffer starts at `offset`,
    /// `EPERM` if user space may not free it (in use by the kernel or already being freed),
    /// else clears `allow_user_free` and returns the buffer.
    pub fn prepare_to_free(&mut self, offset: usize) -> Result<Option<BufferInfo>> {
        let Some(id) = self.find_allocated(offset) else {
            return Ok(None);
        };
        if !self.arena.node(id).allow_user_free {
            return Err(EPERM);
        }
        self.arena.node_mut(id).allow_user_free = false;
        Ok(Some(self.info(id)))
    }

    /// Sets `allow_user_free` of the allocated buffer at `offset` (binder.c does it once the
    /// transaction is delivered); `EINVAL` if there is none.
    pub fn set_allow_user_free(&mut self, offset: usize, allow: bool) -> Result {
        let id = self.find_allocated(offset).ok_or(EINVAL)?;
        self.arena.node_mut(id).allow_user_free = allow;
        Ok(())
    }

    /// The allocated buffer at `offset`.
    pub fn allocated_buffer(&self, offset: usize) -> Option<BufferInfo> {
        self.find_allocated(offset).map(|id| self.info(id))
    }

    fn info(&self, id: NodeId) -> BufferInfo {
        let b = self.arena.node(id);
        BufferInfo {
            offset: b.offset,
            size: self.size_of(id),
            free: b.free,
            data_size: b.data_size,
            offsets_size: b.offsets_size,
            extra_buffers_size: b.extra_buffers_size,
            async_transaction: b.async_transaction,
            allow_user_free: b.allow_user_free,
            oneway_spam_suspect: b.oneway_spam_suspect,
            pid: b.pid,
            cookie: b.cookie,
        }
    }

    /// Every buffer, free or allocated, in address order (the `alloc->buffers` list).
    pub fn buffers(&self) -> impl Iterator<Item = BufferInfo> + '_ {
        core::iter::successors(self.head, move |&id| self.arena.node(id).next)
            .map(move |id| self.info(id))
    }

    /// Allocated buffers in address order (`binder_alloc_print_allocated()`).
    pub fn allocated_buffers(&self) -> impl Iterator<Item = BufferInfo> + '_ {
        core::iter::successors(
            rbtree::first(&self.arena, &self.allocated_buffers),
            move |&id| rbtree::next(&self.arena, id),
        )
        .map(move |id| self.info(id))
    }

    /// Free buffers in the free tree's order (by size, then by insertion).
    pub fn free_buffers(&self) -> impl Iterator<Item = BufferInfo> + '_ {
        core::iter::successors(rbtree::first(&self.arena, &self.free_buffers), move |&id| {
            rbtree::next(&self.arena, id)
        })
        .map(move |id| self.info(id))
    }

    /// `binder_alloc_get_allocated_count()`.
    pub fn allocated_count(&self) -> usize {
        self.allocated_buffers().count()
    }

    /// `binder_alloc_get_free_async_space()`.
    pub fn free_async_space(&self) -> usize {
        self.free_async_space
    }

    /// Size of the mapping (`alloc->buffer_size`).
    pub fn buffer_size(&self) -> usize {
        // `new()` checked that it is a whole number of pages.
        self.pages.len() * PAGE_SIZE
    }

    /// `alloc->pages_high`: one past the highest page index ever needed.
    pub fn pages_high(&self) -> usize {
        self.pages_high as usize
    }

    /// Number of page indices (`buffer_size / PAGE_SIZE`).
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The state of page `index`, or `None` past the end of the mapping.
    #[inline]
    pub fn page_state(&self, index: usize) -> Option<PageState> {
        self.pages.get(index).copied()
    }

    /// The page indices of `range` from the first to the last whose page is
    /// [`PageState::Absent`] (indices past the end of the mapping are not); empty if there is
    /// none. What the glue backs after [`Allocator::new_buf`] (see [`NewBuffer::install`]).
    #[inline(always)]
    pub fn absent_span(&self, range: PageRange) -> PageRange {
        let end = range.end.min(self.pages.len());
        let start = range.start.min(end);
        let Some(states) = self.pages.get(start..end) else {
            return 0..0;
        };
        let absent = |s: &PageState| *s == PageState::Absent;
        match states.iter().position(absent) {
            Some(first) => {
                let last = states.iter().rposition(absent).unwrap_or(first);
                start + first..start + last + 1
            }
            None => 0..0,
        }
    }

    /// All page states, by index.
    pub fn page_states(&self) -> &[PageState] {
        &self.pages
    }

    /// `binder_alloc_print_pages()` counts.
    pub fn page_counts(&self) -> PageCounts {
        let mut c = PageCounts::default();
        for s in self.pages.iter() {
            match s {
                PageState::Absent | PageState::Reclaiming => c.free += 1,
                PageState::InUse => c.active += 1,
                PageState::Lru => c.lru += 1,
            }
        }
        c
    }

    /// Applies `event` to page `index` through [`transition`] and returns the glue's actions.
    /// `EINVAL` past the end of the mapping (a fault there gets `SIGBUS` from the glue).
    #[inline(always)]
    pub fn page_event(&mut self, index: usize, event: PageEvent) -> Result<PageActions> {
        let state = self.pages.get_mut(index).ok_or(EINVAL)?;
        let (next, actions) = transition(*state, event)?;
        *state = next;
        Ok(actions)
    }

    /// The pure part of `->fault()` for page `index`: [`PageAction::MapIntoVma`] or
    /// [`PageAction::SigBus`] (also for an index past the end of the mapping).
    ///
    /// [`PageAction::MapIntoVma`]: crate::page::PageAction::MapIntoVma
    /// [`PageAction::SigBus`]: crate::page::PageAction::SigBus
    pub fn fault(&mut self, index: usize, write: bool) -> PageActions {
        self.page_event(index, PageEvent::Fault { write })
            .unwrap_or(PageActions::SIGBUS)
    }

    /// `binder_alloc_deferred_release()`, buffer part: frees every allocated buffer in address
    /// order and returns how many there were. The glue then applies [`PageEvent::Teardown`]
    /// to every index. The allocator must no longer be mapped.
    ///
    /// `#[inline]` so that it is only generated where it is called: the kernel glue does not
    /// call it, and a copy in the kernel object would carry its own copy of the always-inlined
    /// path (about 2 KiB among the hot code).
    #[inline]
    pub fn release_buffers(&mut self) -> Result<usize> {
        if self.mapped {
            return Err(EINVAL);
        }
        let mut count = 0;
        while let Some(id) = rbtree::first(&self.arena, &self.allocated_buffers) {
            self.free_buf_locked(id);
            count += 1;
        }
        Ok(count)
    }

    /// Checks the structural invariants (list covers the mapping, trees hold the right nodes
    /// and are valid red-black trees, no adjacent free buffers, async space accounting).
    /// Returns a description of the first violation. For tests.
    pub fn check_invariants(&self) -> core::result::Result<(), &'static str> {
        rbtree::check(&self.arena, &self.free_buffers).ok_or("free tree malformed")?;
        rbtree::check(&self.arena, &self.allocated_buffers).ok_or("allocated tree malformed")?;
        let mut expect = 0;
        let mut prev_free = false;
        let mut free_count = 0;
        let mut alloc_count = 0;
        let mut async_used = 0;
        let mut n = self.head;
        let mut prev = None;
        while let Some(id) = n {
            let b = self.arena.node(id);
            if b.offset != expect || b.prev != prev {
                return Err("buffer list has a gap or a bad back link");
            }
            let size = self.size_of(id);
            if size == 0 || size & (PTR_SIZE - 1) != 0 {
                return Err("buffer size not a positive multiple of 8");
            }
            if b.free {
                if prev_free {
                    return Err("two adjacent free buffers");
                }
                free_count += 1;
            } else {
                alloc_count += 1;
                if b.async_transaction {
                    async_used += size;
                }
            }
            prev_free = b.free;
            expect += size;
            prev = n;
            n = b.next;
        }
        if expect != self.buffer_size() {
            return Err("buffer list does not cover the mapping");
        }
        if self.free_buffers().count() != free_count || self.free_buffers().any(|b| !b.free) {
            return Err("free tree does not hold exactly the free buffers");
        }
        if self.allocated_count() != alloc_count || self.allocated_buffers().any(|b| b.free) {
            return Err("allocated tree does not hold exactly the allocated buffers");
        }
        if self.free_async_space + async_used != self.buffer_size() / 2 {
            return Err("async space accounting");
        }
        for (i, h) in self.holders.iter().enumerate() {
            let (mut count, mut size) = (0, 0);
            for b in self.allocated_buffers() {
                if b.async_transaction && b.pid == h.pid {
                    count += 1;
                    size += b.size;
                }
            }
            if h.count == 0 || h.count as usize != count || h.size != size {
                return Err("async holder does not match its buffers");
            }
            if self.holders[..i].iter().any(|o| o.pid == h.pid) {
                return Err("async holder listed twice");
            }
        }
        let counted: usize = self.holders.iter().map(|h| h.count as usize).sum();
        if counted
            != self
                .allocated_buffers()
                .filter(|b| b.async_transaction)
                .count()
        {
            return Err("async buffer missing from the holders");
        }
        for b in self.allocated_buffers() {
            for index in install_range(b.offset, b.size) {
                if matches!(self.pages[index], PageState::Lru | PageState::Reclaiming) {
                    return Err("a page under a live buffer is on the LRU");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbtree::Color;

    /// `Node::clear()` writes every field as `Node::ZEROED` has it.
    #[test]
    fn clear_is_zeroed() {
        let mut node = Node {
            rb: RbLinks {
                parent: Some(1),
                color: Color::Red,
                left: Some(2),
                right: Some(3),
            },
            prev: Some(4),
            next: Some(5),
            offset: 6,
            free: true,
            data_size: 7,
            offsets_size: 8,
            extra_buffers_size: 9,
            async_transaction: true,
            allow_user_free: true,
            oneway_spam_suspect: true,
            pid: 10,
            cookie: 11,
        };
        node.clear(None);
        assert_eq!(format!("{node:?}"), format!("{:?}", Node::ZEROED));
        node.cookie = 12;
        node.clear(Some(13));
        let mut zeroed = Node::ZEROED;
        zeroed.next = Some(13);
        assert_eq!(format!("{node:?}"), format!("{zeroed:?}"));
    }
}
