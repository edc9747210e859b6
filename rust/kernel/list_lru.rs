// SPDX-License-Identifier: GPL-2.0

//! Intrusive LRU lists of reclaimable objects: `struct list_lru`.
//!
//! A [`ListLru<T>`] links objects of type `T` through a [`ListLruEntry`] embedded in each of them,
//! keeps one list per NUMA node, and is walked by a shrinker to reclaim objects. The objects are
//! owned by the driver; the list only links them.
//!
//! Walking calls an isolate callback for each object with the list's spinlock held. The callback
//! receives the object as a [`LruWalkItem`], which is the evidence that the lock is held, and must
//! consume it to produce the [`LruWalkResult`] it returns. Each [`LruStatus`] can only be produced
//! in the lock state the walker expects for it (see `__list_lru_walk_one()` in `mm/list_lru.c`):
//!
//! - [`LruStatus::Removed`], [`LruStatus::Rotate`] and [`LruStatus::Skip`] with the lock still
//!   held;
//! - [`LruStatus::RemovedRetry`], [`LruStatus::Retry`] and [`LruStatus::Stop`] after the callback
//!   released the lock, which the walker then takes again (or, for `Stop`, does not).
//!
//! `Removed` and `RemovedRetry` isolate the object from the list (`list_lru_isolate()`), so an
//! object is never reported as removed while still on the list.
//!
//! C header: [`include/linux/list_lru.h`](srctree/include/linux/list_lru.h).

use crate::{
    bindings,
    error::{
        to_result,
        Error,
        Result, //
    },
    ffi::{
        c_int,
        c_ulong,
        c_void, //
    },
    shrinker::ShrinkControl,
    types::{
        NotThreadSafe,
        Opaque, //
    },
};
use core::{
    marker::PhantomData,
    pin::Pin,
    ptr, //
};
use pin_init::{
    pin_data,
    pin_init,
    pinned_drop,
    PinInit, //
};

/// The link of an object in a [`ListLru`]: a `struct list_head`.
///
/// Embed it in the object and implement [`HasListLruEntry`] with [`impl_has_list_lru_entry!`].
///
/// # Invariants
///
/// The `list_head` is initialised, and is either empty or linked into the list of a `ListLru`.
#[repr(transparent)]
#[pin_data]
pub struct ListLruEntry {
    #[pin]
    entry: Opaque<bindings::list_head>,
}

// SAFETY: The entry is only accessed under the lock of the `ListLru` that it is linked into, or
// by its owner while it is not linked.
unsafe impl Send for ListLruEntry {}

// SAFETY: See the `Send` implementation.
unsafe impl Sync for ListLruEntry {}

impl ListLruEntry {
    /// Creates a new entry that is not on any list.
    #[inline]
    pub fn new() -> impl PinInit<Self> {
        // INVARIANT: `INIT_LIST_HEAD()` initialises the entry as empty.
        pin_init!(Self {
            entry <- Opaque::ffi_init(|slot| {
                // SAFETY: `slot` is valid for writes, as `INIT_LIST_HEAD()` requires.
                unsafe { bindings::INIT_LIST_HEAD(slot) }
            }),
        })
    }

    /// Returns a raw pointer to the `struct list_head`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::list_head {
        self.entry.get()
    }
}

/// Declares that a type embeds a [`ListLruEntry`], so that it can be linked into a [`ListLru`].
///
/// Use [`impl_has_list_lru_entry!`] to implement it.
///
/// # Safety
///
/// The methods must be implemented as [`impl_has_list_lru_entry!`] does: `raw_get_entry` returns
/// a pointer to a field of type [`ListLruEntry`] of `*ptr`, and `entry_container_of` is its
/// inverse.
pub unsafe trait HasListLruEntry {
    /// Returns a pointer to the [`ListLruEntry`] embedded in `*ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid `Self`.
    unsafe fn raw_get_entry(ptr: *mut Self) -> *mut ListLruEntry;

    /// Returns a pointer to the object that embeds the entry at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the [`ListLruEntry`] field of a `Self`, the one `raw_get_entry`
    /// returns.
    unsafe fn entry_container_of(ptr: *mut ListLruEntry) -> *mut Self;

    /// Returns a pointer to the `list_head` embedded in `*ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid `Self`.
    #[inline]
    unsafe fn raw_get_list_head(ptr: *const Self) -> *mut bindings::list_head {
        // SAFETY: The caller guarantees that `ptr` is valid. `ListLruEntry` is a transparent
        // wrapper of an `Opaque<list_head>`, which has the layout of a `list_head`.
        unsafe { Self::raw_get_entry(ptr.cast_mut()).cast() }
    }

    /// Returns a pointer to the object that embeds the `list_head` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the `list_head` of the [`ListLruEntry`] field of a `Self`.
    #[inline]
    unsafe fn from_list_head(ptr: *mut bindings::list_head) -> *const Self {
        // SAFETY: The caller guarantees that `ptr` is the entry of a `Self`; `ListLruEntry` has
        // the layout of a `list_head`.
        unsafe { Self::entry_container_of(ptr.cast()).cast_const() }
    }
}

/// Implements [`HasListLruEntry`] for a type, naming its [`ListLruEntry`] field.
///
/// # Examples
///
/// ```
/// use kernel::{impl_has_list_lru_entry, list_lru::ListLruEntry};
///
/// struct Slot {
///     index: usize,
///     lru: ListLruEntry,
/// }
///
/// impl_has_list_lru_entry! {
///     impl HasListLruEntry for Slot { self.lru }
/// }
/// ```
#[macro_export]
macro_rules! impl_has_list_lru_entry {
    ($(impl$({$($generics:tt)*})? HasListLruEntry for $self:ty { self.$field:ident })*) => {$(
        // SAFETY: The implementation of `raw_get_entry` only compiles if the field has the type
        // `ListLruEntry`, and `entry_container_of` is its inverse.
        unsafe impl$(<$($generics)+>)? $crate::list_lru::HasListLruEntry for $self {
            #[inline]
            unsafe fn raw_get_entry(ptr: *mut Self) -> *mut $crate::list_lru::ListLruEntry {
                // SAFETY: The caller promises that the pointer is valid.
                unsafe { ::core::ptr::addr_of_mut!((*ptr).$field) }
            }

            #[inline]
            unsafe fn entry_container_of(ptr: *mut $crate::list_lru::ListLruEntry) -> *mut Self {
                // SAFETY: The caller promises that the pointer points at the field `$field` of a
                // `Self`.
                unsafe { $crate::container_of!(ptr, Self, $field) }
            }
        }
    )*};
}
pub use impl_has_list_lru_entry;

/// The status an isolate callback returns for the object it was given: `enum lru_status`.
///
/// A value is only returned to the walker through an [`LruWalkResult`], which enforces the lock
/// state that goes with each status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LruStatus {
    /// `LRU_REMOVED`: the object was removed from the list; the lock is still held.
    Removed,
    /// `LRU_REMOVED_RETRY`: the object was removed from the list and the lock was released; the
    /// walk restarts from the head of the list.
    RemovedRetry,
    /// `LRU_ROTATE`: the object was referenced and moves to the tail for another pass.
    Rotate,
    /// `LRU_SKIP`: the object cannot be isolated now, for example because a trylock failed.
    Skip,
    /// `LRU_RETRY`: the object was not freeable and the lock was released; the walk restarts.
    Retry,
    /// `LRU_STOP`: the lock was released and the walk stops.
    Stop,
}

impl LruStatus {
    /// Returns the C value.
    #[inline]
    pub const fn as_raw(self) -> bindings::lru_status {
        match self {
            Self::Removed => bindings::lru_status::LRU_REMOVED,
            Self::RemovedRetry => bindings::lru_status::LRU_REMOVED_RETRY,
            Self::Rotate => bindings::lru_status::LRU_ROTATE,
            Self::Skip => bindings::lru_status::LRU_SKIP,
            Self::Retry => bindings::lru_status::LRU_RETRY,
            Self::Stop => bindings::lru_status::LRU_STOP,
        }
    }
}

/// An invariant lifetime that ties the tokens of one isolate callback invocation together.
type Brand<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

/// The object an isolate callback is called for, and the evidence that the list lock is held.
///
/// Consume it with one of its methods to produce the callback's [`LruWalkResult`].
///
/// # Invariants
///
/// `list` is the `list_lru_one` being walked and its lock is held by the walker on behalf of the
/// callback; `item` is the `list_head` of a `T` linked into `list`.
pub struct LruWalkItem<'a, T: HasListLruEntry> {
    item: *mut bindings::list_head,
    list: *mut bindings::list_lru_one,
    _brand: Brand<'a>,
    _p: PhantomData<&'a T>,
    _nts: NotThreadSafe,
}

impl<'a, T: HasListLruEntry> LruWalkItem<'a, T> {
    /// The object, accessible while the lock is held.
    #[inline]
    pub fn item(&self) -> &T {
        // SAFETY: By the type invariants, `item` is linked into the locked list, so the object
        // that embeds it is alive: it cannot be removed from the list, which is a precondition of
        // freeing it, without the lock.
        unsafe { &*T::from_list_head(self.item) }
    }

    /// A raw pointer to the object, for callers that keep it alive by other means after the lock
    /// is released.
    #[inline]
    pub fn item_ptr(&self) -> *const T {
        // SAFETY: By the type invariants, `item` is the entry of a `T`.
        unsafe { T::from_list_head(self.item) }
    }

    /// Isolates the object from the list (`list_lru_isolate()`) and returns
    /// [`LruStatus::Removed`], keeping the lock held.
    #[inline]
    pub fn removed(self) -> LruWalkResult<'a> {
        // SAFETY: By the type invariants, the lock is held and `item` is on `list`.
        unsafe { bindings::list_lru_isolate(self.list, self.item) };
        LruWalkResult::new(LruStatus::Removed)
    }

    /// Returns [`LruStatus::Rotate`]: the walker moves the object to the tail of the list.
    #[inline]
    pub fn rotate(self) -> LruWalkResult<'a> {
        LruWalkResult::new(LruStatus::Rotate)
    }

    /// Returns [`LruStatus::Skip`]: the object stays where it is.
    #[inline]
    pub fn skip(self) -> LruWalkResult<'a> {
        LruWalkResult::new(LruStatus::Skip)
    }

    /// Isolates the object from the list (`list_lru_isolate()`) and releases the list lock.
    ///
    /// The object is no longer on the list, so the callback now owns the right to free it, and
    /// must return [`LruUnlockedRemoved::removed_retry`].
    #[inline]
    pub fn isolate_and_unlock(self) -> LruUnlockedRemoved<'a> {
        // SAFETY: By the type invariants, the lock is held and `item` is on `list`.
        unsafe { bindings::list_lru_isolate(self.list, self.item) };
        // SAFETY: By the type invariants, the walker holds the lock of `list` with
        // `spin_lock()` on our behalf; the walker restarts after `LRU_REMOVED_RETRY` without
        // touching the list until it has taken the lock again.
        unsafe { bindings::spin_unlock(&raw mut (*self.list).lock) };
        LruUnlockedRemoved {
            _brand: PhantomData,
            _nts: NotThreadSafe,
        }
    }

    /// Releases the list lock without isolating the object.
    ///
    /// The callback must then return [`LruUnlocked::retry`] or [`LruUnlocked::stop`]. The object
    /// may be removed and freed by someone else as soon as the lock is released.
    #[inline]
    pub fn unlock(self) -> LruUnlocked<'a> {
        // SAFETY: By the type invariants, the walker holds the lock of `list` with `spin_lock()`
        // on our behalf; after `LRU_RETRY` and `LRU_STOP` it does not touch the list without
        // taking the lock again.
        unsafe { bindings::spin_unlock(&raw mut (*self.list).lock) };
        LruUnlocked {
            _brand: PhantomData,
            _nts: NotThreadSafe,
        }
    }
}

impl<'a, T: HasListLruEntry> LruWalkItem<'a, T> {
    /// Creates the item an isolate callback written in C received, for callers that forward a
    /// `list_lru_walk_cb` to Rust (for example a callback exported for a KUnit test that calls
    /// `list_lru_walk()` itself).
    ///
    /// The returned [`LruWalkResult`]'s [`LruWalkResult::status`], converted with
    /// [`LruStatus::as_raw`], is what the C callback must return.
    ///
    /// # Safety
    ///
    /// - `list` must be the `list_lru_one` being walked by `__list_lru_walk_one()`, whose lock the
    ///   walker holds on behalf of the callback for the duration of `'a`;
    /// - `item` must be the `list_head` of the [`ListLruEntry`] of a `T` linked into `list`;
    /// - the caller must return the status of the result built from this item to the walker,
    ///   with no other use of the list in between.
    #[inline]
    pub unsafe fn from_raw(
        item: *mut bindings::list_head,
        list: *mut bindings::list_lru_one,
    ) -> Self {
        // INVARIANT: The caller guarantees that the lock of `list` is held on our behalf and that
        // `item` is the entry of a `T` linked into `list`.
        Self {
            item,
            list,
            _brand: PhantomData,
            _p: PhantomData,
            _nts: NotThreadSafe,
        }
    }
}

/// Evidence that an isolate callback released the list lock without removing its object.
pub struct LruUnlocked<'a> {
    _brand: Brand<'a>,
    _nts: NotThreadSafe,
}

impl<'a> LruUnlocked<'a> {
    /// Returns [`LruStatus::Retry`]: the walker takes the lock again and restarts.
    #[inline]
    pub fn retry(self) -> LruWalkResult<'a> {
        LruWalkResult::new(LruStatus::Retry)
    }

    /// Returns [`LruStatus::Stop`]: the walk ends.
    #[inline]
    pub fn stop(self) -> LruWalkResult<'a> {
        LruWalkResult::new(LruStatus::Stop)
    }
}

/// Evidence that an isolate callback removed its object from the list and released the lock.
pub struct LruUnlockedRemoved<'a> {
    _brand: Brand<'a>,
    _nts: NotThreadSafe,
}

impl<'a> LruUnlockedRemoved<'a> {
    /// Returns [`LruStatus::RemovedRetry`]: the walker counts the object as removed, takes the
    /// lock again and restarts.
    #[inline]
    pub fn removed_retry(self) -> LruWalkResult<'a> {
        LruWalkResult::new(LruStatus::RemovedRetry)
    }
}

/// What an isolate callback returns: an [`LruStatus`] produced in the matching lock state.
pub struct LruWalkResult<'a> {
    status: LruStatus,
    _brand: Brand<'a>,
}

impl<'a> LruWalkResult<'a> {
    #[inline]
    fn new(status: LruStatus) -> Self {
        Self {
            status,
            _brand: PhantomData,
        }
    }

    /// The status returned to the walker.
    #[inline]
    pub fn status(&self) -> LruStatus {
        self.status
    }
}

/// A `struct list_lru` of objects of type `T`.
///
/// The list is not memcg-aware (it is initialised with `list_lru_init()`); objects are accounted
/// to the NUMA node given when they are added.
///
/// # Invariants
///
/// `lru` is initialised by `__list_lru_init()` and destroyed only in `drop`. Every entry on it is
/// the [`ListLruEntry`] of a live `T`, as required by [`ListLru::add`].
///
/// # Examples
///
/// ```
/// use kernel::{
///     impl_has_list_lru_entry,
///     list_lru::{ListLru, ListLruEntry},
///     prelude::*,
/// };
///
/// #[pin_data]
/// struct Slot {
///     index: usize,
///     #[pin]
///     lru: ListLruEntry,
/// }
///
/// impl_has_list_lru_entry! {
///     impl HasListLruEntry for Slot { self.lru }
/// }
///
/// let lru = KBox::pin_init(ListLru::<Slot>::new(), GFP_KERNEL)?;
/// let slot = KBox::pin_init(pin_init!(Slot { index: 7, lru <- ListLruEntry::new() }), GFP_KERNEL)?;
///
/// // SAFETY: `slot` is removed from `lru` below, before either is dropped; it is in kmalloc
/// // memory.
/// assert!(unsafe { lru.add_obj(&slot) });
/// assert_eq!(lru.count(), 1);
///
/// // Walk the list and remove every object with an odd index.
/// let removed = lru.walk(16, |item| {
///     if item.item().index % 2 == 1 {
///         item.removed()
///     } else {
///         item.skip()
///     }
/// });
/// assert_eq!(removed, 1);
/// assert_eq!(lru.count(), 0);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
// `repr(transparent)` lets [`ListLru::from_raw`] view a C `struct list_lru` as a `ListLru`.
#[repr(transparent)]
pub struct ListLru<T: HasListLruEntry> {
    #[pin]
    lru: Opaque<bindings::list_lru>,
    _p: PhantomData<T>,
}

// SAFETY: The list only links objects of type `T` and hands out `&T` to walkers on any thread,
// which requires `T: Sync`; `struct list_lru` itself is protected by its own locks.
unsafe impl<T: HasListLruEntry + Sync> Send for ListLru<T> {}

// SAFETY: All methods taking `&self` are safe to call concurrently: the C functions take the
// per-list spinlocks. Objects are handed out as `&T` on any thread, which requires `T: Sync`.
unsafe impl<T: HasListLruEntry + Sync> Sync for ListLru<T> {}

impl<T: HasListLruEntry> ListLru<T> {
    /// Creates and initialises a list (`list_lru_init()`).
    pub fn new() -> impl PinInit<Self, Error> {
        // INVARIANT: The list is initialised by `__list_lru_init()` and holds no entries.
        crate::try_pin_init!(Self {
            lru <- Opaque::try_ffi_init(|lru: *mut bindings::list_lru| {
                // SAFETY: `lru` is valid for writes. `__list_lru_init()` expects a zeroed
                // structure: it reads the lockdep key, which is null unless set by the caller.
                unsafe { lru.write_bytes(0, 1) };
                // SAFETY: `lru` is valid, zeroed and pinned. A list that is not memcg-aware takes
                // no shrinker.
                to_result(unsafe { bindings::__list_lru_init(lru, false, ptr::null_mut()) })
            }),
            _p: PhantomData,
        })
    }

    /// Returns a raw pointer to the `struct list_lru`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::list_lru {
        self.lru.get()
    }

    /// Adds `item` to the list of node `nid` (`list_lru_add()`).
    ///
    /// Returns `true` if the item was added, `false` if it was already on a list.
    ///
    /// # Safety
    ///
    /// - `nid` must be a valid node id (for example `page_to_nid()` of the page holding `item`);
    ///   [`ListLru::del`] must later be given the same `nid`.
    /// - `item` must not be moved or freed until it has been removed from this list, either by
    ///   [`ListLru::del`] / [`ListLru::del_obj`] or by an isolate callback; and it must be removed
    ///   before the list is dropped.
    /// - `item` must not be on another `ListLru` (if it is on this one, nothing happens).
    #[inline]
    pub unsafe fn add(&self, item: &T, nid: c_int) -> bool {
        // SAFETY: The list is initialised by the type invariants; the caller guarantees the
        // requirements on `item` and `nid`. A list that is not memcg-aware takes no memcg.
        unsafe {
            bindings::list_lru_add(
                self.as_raw(),
                T::raw_get_list_head(item),
                nid,
                ptr::null_mut(),
            )
        }
    }

    /// Adds `item` to the list of the node of the memory that holds it (`list_lru_add_obj()`).
    ///
    /// Returns `true` if the item was added, `false` if it was already on a list.
    ///
    /// # Safety
    ///
    /// As [`ListLru::add`] without `nid`; in addition, `item` must be in memory for which
    /// `virt_to_page()` is valid (kmalloc memory, not vmalloc memory), since the node is computed
    /// from its address.
    #[inline]
    pub unsafe fn add_obj(&self, item: &T) -> bool {
        // SAFETY: The list is initialised by the type invariants; the caller guarantees the
        // requirements on `item`.
        unsafe { bindings::list_lru_add_obj(self.as_raw(), T::raw_get_list_head(item)) }
    }

    /// Removes `item` from the list of node `nid` (`list_lru_del()`).
    ///
    /// Returns `true` if the item was removed, `false` if it was not on a list (for example
    /// because an isolate callback removed it).
    ///
    /// # Safety
    ///
    /// `item` must be on this list with node `nid`, or on no list.
    #[inline]
    pub unsafe fn del(&self, item: &T, nid: c_int) -> bool {
        // SAFETY: The list is initialised by the type invariants; the caller guarantees that
        // `item` is on this list with this `nid`, or on none.
        unsafe {
            bindings::list_lru_del(
                self.as_raw(),
                T::raw_get_list_head(item),
                nid,
                ptr::null_mut(),
            )
        }
    }

    /// Removes `item` from the list (`list_lru_del_obj()`).
    ///
    /// # Safety
    ///
    /// `item` must have been added with [`ListLru::add_obj`] to this list, or be on no list.
    #[inline]
    pub unsafe fn del_obj(&self, item: &T) -> bool {
        // SAFETY: The list is initialised by the type invariants; the caller guarantees the
        // requirements on `item`.
        unsafe { bindings::list_lru_del_obj(self.as_raw(), T::raw_get_list_head(item)) }
    }

    /// Returns the number of objects on the lists of all nodes (`list_lru_count()`).
    #[inline]
    pub fn count(&self) -> c_ulong {
        // SAFETY: The list is initialised by the type invariants.
        unsafe { bindings::list_lru_count(self.as_raw()) }
    }

    /// Returns the number of objects on the list of node `nid` (`list_lru_count_node()`).
    ///
    /// Returns 0 for a `nid` that is not a valid node.
    #[inline]
    pub fn count_node(&self, nid: c_int) -> c_ulong {
        if !node_is_valid(nid) {
            return 0;
        }
        // SAFETY: The list is initialised by the type invariants and `nid` is a valid node.
        unsafe { bindings::list_lru_count_node(self.as_raw(), nid) }
    }

    /// Returns the number of objects on the list of the node and memory cgroup being shrunk
    /// (`list_lru_shrink_count()`).
    #[inline]
    pub fn shrink_count(&self, sc: &ShrinkControl) -> c_ulong {
        // SAFETY: The list is initialised by the type invariants; the mm core passes a valid node
        // and a memcg that is valid for the duration of the callback `sc` belongs to.
        unsafe { bindings::list_lru_count_one(self.as_raw(), sc.nid(), sc.memcg_raw()) }
    }
}

impl<T: HasListLruEntry + Sync> ListLru<T> {
    /// Walks the lists of all nodes, calling `isolate` on up to `nr_to_walk` objects
    /// (`list_lru_walk()`).
    ///
    /// Returns the number of objects removed from the list.
    #[inline]
    pub fn walk<F>(&self, nr_to_walk: c_ulong, mut isolate: F) -> c_ulong
    where
        F: for<'a> FnMut(LruWalkItem<'a, T>) -> LruWalkResult<'a>,
    {
        // SAFETY: The list is initialised by the type invariants. `isolate_callback::<T, F>` is
        // given a pointer to `isolate`, which outlives the walk.
        unsafe {
            bindings::list_lru_walk(
                self.as_raw(),
                Some(isolate_callback::<T, F>),
                ptr::from_mut(&mut isolate).cast(),
                nr_to_walk,
            )
        }
    }

    /// Walks the list of node `nid` (`list_lru_walk_node()`), decrementing `nr_to_walk` by the
    /// number of objects visited.
    ///
    /// Returns the number of objects removed from the list; 0 for a `nid` that is not a valid
    /// node.
    #[inline]
    pub fn walk_node<F>(&self, nid: c_int, nr_to_walk: &mut c_ulong, mut isolate: F) -> c_ulong
    where
        F: for<'a> FnMut(LruWalkItem<'a, T>) -> LruWalkResult<'a>,
    {
        if !node_is_valid(nid) {
            return 0;
        }
        // SAFETY: The list is initialised by the type invariants and `nid` is valid.
        // `isolate_callback::<T, F>` is given a pointer to `isolate`, which outlives the walk.
        unsafe {
            bindings::list_lru_walk_node(
                self.as_raw(),
                nid,
                Some(isolate_callback::<T, F>),
                ptr::from_mut(&mut isolate).cast(),
                nr_to_walk,
            )
        }
    }

    /// Walks the list of the node and memory cgroup being shrunk (`list_lru_shrink_walk()`).
    ///
    /// Up to [`ShrinkControl::nr_to_scan`] objects are visited, and `nr_to_scan` is decremented
    /// for each, as in C. Returns the number of objects removed from the list; a shrinker
    /// usually returns it from `scan_objects`.
    #[inline]
    pub fn shrink_walk<F>(&self, sc: &mut ShrinkControl, mut isolate: F) -> c_ulong
    where
        F: for<'a> FnMut(LruWalkItem<'a, T>) -> LruWalkResult<'a>,
    {
        let sc = sc.as_raw();
        // SAFETY: The list is initialised by the type invariants; the mm core passes a valid node
        // and memcg in `sc`, which we may modify. `isolate_callback::<T, F>` is given a pointer
        // to `isolate`, which outlives the walk.
        unsafe {
            bindings::list_lru_walk_one(
                self.as_raw(),
                (*sc).nid,
                (*sc).memcg,
                Some(isolate_callback::<T, F>),
                ptr::from_mut(&mut isolate).cast(),
                &raw mut (*sc).nr_to_scan,
            )
        }
    }
}

impl<T: HasListLruEntry> ListLru<T> {
    /// Views a `struct list_lru` that C initialised and owns as a [`ListLru<T>`].
    ///
    /// This is for lists that C code declares (for example a driver's global freelist, or one
    /// that a KUnit test initialises): the returned reference never destroys the list.
    ///
    /// # Safety
    ///
    /// - `ptr` must point at a `struct list_lru` initialised by `list_lru_init()` (not
    ///   memcg-aware), which stays initialised and does not move for the duration of `'a`;
    /// - every entry linked into it, now and for the duration of `'a`, is the [`ListLruEntry`] of
    ///   a live `T`, as required by [`ListLru::add`].
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::list_lru) -> &'a Self {
        // SAFETY: `ListLru<T>` is a `#[repr(transparent)]` wrapper of an
        // `Opaque<bindings::list_lru>`, which has the layout of a `struct list_lru`. The caller
        // guarantees that the list is initialised, pinned and valid for `'a`, and that it only
        // links `T`s, which are the type invariants.
        unsafe { &*ptr.cast::<Self>() }
    }
}

#[pinned_drop]
impl<T: HasListLruEntry> PinnedDrop for ListLru<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The list was initialised by `__list_lru_init()`. By the safety requirements of
        // `add`, no entry is linked into it any more.
        unsafe { bindings::list_lru_destroy(self.as_raw()) };
    }
}

/// Whether `nid` indexes the per-node lists of a `list_lru`.
#[inline]
fn node_is_valid(nid: c_int) -> bool {
    // `nr_node_ids` is a variable with `CONFIG_NUMA` and `MAX_NUMNODES` (1) without it.
    #[cfg(CONFIG_NUMA)]
    // SAFETY: `nr_node_ids` is set during early boot and read-only afterwards.
    let nr_node_ids = unsafe { bindings::nr_node_ids } as c_int;
    #[cfg(not(CONFIG_NUMA))]
    let nr_node_ids = 1;
    (0..nr_node_ids).contains(&nid)
}

/// The `list_lru_walk_cb` that calls a Rust isolate closure.
///
/// # Safety
///
/// `cb_arg` must point at an `F`, and the walker must call this with the lock of `list` held and
/// `item` being the entry of a `T` on `list`.
unsafe extern "C" fn isolate_callback<T, F>(
    item: *mut bindings::list_head,
    list: *mut bindings::list_lru_one,
    cb_arg: *mut c_void,
) -> bindings::lru_status
where
    T: HasListLruEntry + Sync,
    F: for<'a> FnMut(LruWalkItem<'a, T>) -> LruWalkResult<'a>,
{
    // SAFETY: The caller guarantees that `cb_arg` points at the `F` of the walk, which is only
    // used by this callback during the walk.
    let isolate = unsafe { &mut *cb_arg.cast::<F>() };
    // INVARIANT: The walker holds the lock of `list`, and `item` is on it; entries of this list
    // are entries of a `T` by the invariants of `ListLru<T>`.
    let walk_item = LruWalkItem {
        item,
        list,
        _brand: PhantomData,
        _p: PhantomData,
        _nts: NotThreadSafe,
    };
    isolate(walk_item).status().as_raw()
}

#[macros::kunit_tests(rust_list_lru)]
mod tests {
    use super::*;
    use crate::{
        alloc::{
            flags::GFP_KERNEL,
            KBox, //
        },
        prelude::*, //
    };

    #[pin_data]
    struct Item {
        id: usize,
        #[pin]
        lru: ListLruEntry,
    }

    crate::impl_has_list_lru_entry! {
        impl HasListLruEntry for Item { self.lru }
    }

    fn new_items(n: usize) -> Result<KVec<Pin<KBox<Item>>>> {
        let mut items = KVec::with_capacity(n, GFP_KERNEL)?;
        for id in 0..n {
            items.push(
                KBox::pin_init(
                    pin_init!(Item {
                        id,
                        lru <- ListLruEntry::new(),
                    }),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        Ok(items)
    }

    fn add_all(lru: &ListLru<Item>, items: &[Pin<KBox<Item>>]) {
        for item in items {
            // SAFETY: The items are in kmalloc memory, and `del_all` removes them before they or
            // the list are dropped.
            assert!(unsafe { lru.add_obj(item) });
        }
    }

    /// Removes every item from the list and returns how many were still on it.
    fn del_all(lru: &ListLru<Item>, items: &[Pin<KBox<Item>>]) -> usize {
        let mut on_list = 0;
        for item in items {
            // SAFETY: The items were added with `add_obj` to this list, or are on no list.
            if unsafe { lru.del_obj(item) } {
                on_list += 1;
            }
        }
        on_list
    }

    /// The ids visited by a walk, recorded without allocating under the list lock.
    struct Visits {
        ids: [usize; 32],
        len: usize,
    }

    impl Visits {
        fn new() -> Self {
            Self {
                ids: [usize::MAX; 32],
                len: 0,
            }
        }

        fn record(&mut self, id: usize) {
            if self.len < self.ids.len() {
                self.ids[self.len] = id;
            }
            self.len += 1;
        }

        fn as_slice(&self) -> &[usize] {
            &self.ids[..self.len.min(self.ids.len())]
        }
    }

    #[test]
    fn walk_honours_removed_rotate_skip_and_removed_retry() -> Result {
        let lru = KBox::pin_init(ListLru::<Item>::new(), GFP_KERNEL)?;
        let items = new_items(5)?;
        add_all(&lru, &items);
        assert_eq!(lru.count(), 5);

        let mut visits = Visits::new();
        let mut nr_to_walk = 100;
        let removed = lru.walk_node(0, &mut nr_to_walk, |item| {
            let id = item.item().id;
            visits.record(id);
            match id {
                0 => item.removed(),
                1 => item.rotate(),
                3 => item.isolate_and_unlock().removed_retry(),
                _ => item.skip(),
            }
        });

        // 0 is removed; 1 goes to the tail; 2 is skipped; removing 3 drops the lock, so the walk
        // restarts from the head: 2, 4, then 1, which is rotated to where it already is.
        assert_eq!(visits.as_slice(), &[0, 1, 2, 3, 2, 4, 1]);
        assert_eq!(removed, 2);
        assert_eq!(nr_to_walk, 100 - 7);
        assert_eq!(lru.count(), 3);
        assert_eq!(lru.count_node(0), 3);

        assert_eq!(del_all(&lru, &items), 3);
        assert_eq!(lru.count(), 0);
        Ok(())
    }

    #[test]
    fn stop_ends_the_walk_after_unlocking() -> Result {
        let lru = KBox::pin_init(ListLru::<Item>::new(), GFP_KERNEL)?;
        let items = new_items(3)?;
        add_all(&lru, &items);

        let mut visits = Visits::new();
        let removed = lru.walk(100, |item| {
            visits.record(item.item().id);
            item.unlock().stop()
        });

        assert_eq!(visits.as_slice(), &[0]);
        assert_eq!(removed, 0);
        assert_eq!(lru.count(), 3);
        assert_eq!(del_all(&lru, &items), 3);
        Ok(())
    }

    #[test]
    fn retry_restarts_and_nr_to_walk_bounds_the_walk() -> Result {
        let lru = KBox::pin_init(ListLru::<Item>::new(), GFP_KERNEL)?;
        let items = new_items(2)?;
        add_all(&lru, &items);

        let mut visits = Visits::new();
        let mut nr_to_walk = 5;
        let removed = lru.walk_node(0, &mut nr_to_walk, |item| {
            visits.record(item.item().id);
            item.unlock().retry()
        });

        // Each retry restarts from the head; `nr_to_walk` is what stops the livelock.
        assert_eq!(visits.as_slice(), &[0, 0, 0, 0, 0]);
        assert_eq!(removed, 0);
        assert_eq!(nr_to_walk, 0);
        assert_eq!(lru.count(), 2);
        assert_eq!(del_all(&lru, &items), 2);
        Ok(())
    }

    #[test]
    fn add_and_del_report_list_membership() -> Result {
        let lru = KBox::pin_init(ListLru::<Item>::new(), GFP_KERNEL)?;
        let items = new_items(1)?;

        // SAFETY: The item is in kmalloc memory and is removed below.
        assert!(unsafe { lru.add(&items[0], 0) });
        // SAFETY: As above; adding twice is refused.
        assert!(!unsafe { lru.add(&items[0], 0) });
        assert_eq!(lru.count(), 1);
        // SAFETY: The item is on this list with node 0.
        assert!(unsafe { lru.del(&items[0], 0) });
        // SAFETY: The item is on no list.
        assert!(!unsafe { lru.del(&items[0], 0) });
        assert_eq!(lru.count(), 0);
        assert_eq!(lru.count_node(-1), 0);
        assert_eq!(lru.count_node(c_int::MAX), 0);
        Ok(())
    }
}
