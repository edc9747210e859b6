// SPDX-License-Identifier: GPL-2.0

//! Shrinkers: callbacks through which memory reclaim asks a cache to give memory back.
//!
//! A shrinker is allocated with [`ShrinkerBuilder::new`] (`shrinker_alloc()`), configured, and
//! registered with [`ShrinkerBuilder::register`] (`shrinker_register()`), which returns a
//! [`ShrinkerRegistration`] that unregisters and frees the shrinker when dropped
//! (`shrinker_free()`).
//!
//! The callbacks keep the C semantics exactly (see the comment above `struct shrinker` in the
//! header): `count_objects` tells "nothing to free" ([`CountObjects::EMPTY`], `SHRINK_EMPTY`)
//! apart from "cannot tell or should be skipped now" (a count of 0); `scan_objects` reports how
//! many objects it freed or [`ScanObjects::STOP`] (`SHRINK_STOP`), and it accounts for its work in
//! [`ShrinkControl::set_nr_scanned`], which is never clamped. The node and memory cgroup being
//! shrunk are passed through untouched, for example to [`ListLru::shrink_count`] and
//! [`ListLru::shrink_walk`].
//!
//! C header: [`include/linux/shrinker.h`](srctree/include/linux/shrinker.h).
//!
//! [`ListLru::shrink_count`]: crate::list_lru::ListLru::shrink_count
//! [`ListLru::shrink_walk`]: crate::list_lru::ListLru::shrink_walk

use crate::{
    bindings,
    error::{
        code::ENOMEM,
        Result, //
    },
    ffi::{
        c_int,
        c_long,
        c_uint,
        c_ulong, //
    },
    str::{
        CStr,
        CStrExt, //
    },
    types::{
        ForeignOwnable,
        Opaque, //
    },
};
use core::{
    marker::PhantomData,
    ops::BitOr,
    ptr::NonNull, //
};

/// `SHRINK_STOP` as the `unsigned long` it is in C.
///
/// bindgen evaluates `(~0UL)` as a signed `-1`; converting it sign-extends back to `~0UL`.
const SHRINK_STOP: c_ulong = bindings::SHRINK_STOP as c_ulong;

/// `SHRINK_EMPTY` as the `unsigned long` it is in C (`~0UL - 1`), see [`SHRINK_STOP`].
const SHRINK_EMPTY: c_ulong = bindings::SHRINK_EMPTY as c_ulong;

/// The value returned by a shrinker's `count_objects` callback.
///
/// A count is either a number of freeable objects or [`CountObjects::EMPTY`]. The two differ on
/// purpose: a count of 0 means that the number of freeable objects cannot be determined or that
/// the cache should be skipped this time, while `EMPTY` means that there is nothing to free. The
/// mm core uses the difference for memory cgroups (it clears the shrinker's bit in the cgroup's
/// map only on `SHRINK_EMPTY`), so a shrinker with nothing to free returns `EMPTY`, not 0.
///
/// # Invariants
///
/// The value is either `SHRINK_EMPTY` or at most [`CountObjects::MAX`].
///
/// # Examples
///
/// ```
/// use kernel::shrinker::CountObjects;
///
/// // "Nothing to free" and "cannot tell" are different answers.
/// assert_eq!(CountObjects::new(0).as_raw(), 0);
/// assert_ne!(CountObjects::EMPTY, CountObjects::new(0));
/// // A count never collides with the sentinel values.
/// assert_eq!(CountObjects::new(!0).as_raw(), CountObjects::MAX);
/// assert_ne!(CountObjects::new(!0), CountObjects::EMPTY);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountObjects(c_ulong);

impl CountObjects {
    /// `SHRINK_EMPTY`: there are no objects to free.
    pub const EMPTY: Self = Self(SHRINK_EMPTY);

    /// The largest count that can be reported, one below the sentinel values.
    pub const MAX: c_ulong = SHRINK_EMPTY - 1;

    /// Reports `count` freeable objects.
    ///
    /// A count of 0 is reported as 0, not as [`CountObjects::EMPTY`]. A count that would collide
    /// with the sentinel values saturates at [`CountObjects::MAX`].
    #[inline]
    pub const fn new(count: c_ulong) -> Self {
        if count > Self::MAX {
            // INVARIANT: `MAX` is not above `MAX`.
            Self(Self::MAX)
        } else {
            // INVARIANT: Just checked that `count` is at most `MAX`.
            Self(count)
        }
    }

    /// Returns the raw value returned to C.
    #[inline]
    pub const fn as_raw(self) -> c_ulong {
        self.0
    }
}

/// The value returned by a shrinker's `scan_objects` callback.
///
/// Either the number of objects freed during this scan or [`ScanObjects::STOP`].
///
/// # Invariants
///
/// The value is either `SHRINK_STOP` or at most [`ScanObjects::MAX`].
///
/// # Examples
///
/// ```
/// use kernel::shrinker::ScanObjects;
///
/// assert_eq!(ScanObjects::from_count(3).as_raw(), 3);
/// assert_eq!(ScanObjects::from_count(!0).as_raw(), ScanObjects::MAX);
/// assert_ne!(ScanObjects::from_count(!0), ScanObjects::STOP);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanObjects(c_ulong);

impl ScanObjects {
    /// `SHRINK_STOP`: no progress can be made now, for example because a lock could not be taken
    /// without risking a deadlock. No further calls are made from the current reclaim context.
    pub const STOP: Self = Self(SHRINK_STOP);

    /// The largest number of freed objects that can be reported, below the sentinel values.
    pub const MAX: c_ulong = SHRINK_EMPTY - 1;

    /// Reports that `freed` objects were freed.
    ///
    /// A number that would collide with the sentinel values saturates at [`ScanObjects::MAX`].
    #[inline]
    pub const fn from_count(freed: c_ulong) -> Self {
        if freed > Self::MAX {
            // INVARIANT: `MAX` is not above `MAX`.
            Self(Self::MAX)
        } else {
            // INVARIANT: Just checked that `freed` is at most `MAX`.
            Self(freed)
        }
    }

    /// Returns the raw value returned to C.
    #[inline]
    pub const fn as_raw(self) -> c_ulong {
        self.0
    }
}

/// Flags of a shrinker, given to `shrinker_alloc()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ShrinkerFlags(c_uint);

impl ShrinkerFlags {
    /// No flags: one call per reclaim pass with `nid == 0` and no memory cgroup.
    pub const NONE: Self = Self(0);

    /// `SHRINKER_NUMA_AWARE`: the shrinker is called once per NUMA node, with the node in
    /// [`ShrinkControl::nid`].
    pub const NUMA_AWARE: Self = Self(bindings::SHRINKER_NUMA_AWARE);

    /// `SHRINKER_MEMCG_AWARE`: the shrinker is called per memory cgroup, with the cgroup in
    /// [`ShrinkControl::memcg_raw`]. Only meaningful for memcg-aware caches.
    pub const MEMCG_AWARE: Self = Self(bindings::SHRINKER_MEMCG_AWARE);

    /// `SHRINKER_NONSLAB`: the objects are not slab objects. Only meaningful together with
    /// [`ShrinkerFlags::MEMCG_AWARE`].
    pub const NONSLAB: Self = Self(bindings::SHRINKER_NONSLAB);

    /// Returns the raw flags.
    #[inline]
    pub const fn as_raw(self) -> c_uint {
        self.0
    }
}

impl BitOr for ShrinkerFlags {
    type Output = Self;

    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The parameters of one call to a shrinker callback: a `struct shrink_control`.
///
/// # Invariants
///
/// Instances are only reached by reference while the mm core is inside a shrinker callback with
/// this `shrink_control`, or while the test that owns it uses it.
#[repr(transparent)]
pub struct ShrinkControl {
    sc: Opaque<bindings::shrink_control>,
}

impl ShrinkControl {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid `struct shrink_control` that no one else accesses for the
    /// duration of `'a`, such as the one the mm core passes to a shrinker callback.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::shrink_control) -> &'a mut Self {
        // SAFETY: The caller guarantees validity and exclusive access for `'a`. The layout is
        // compatible because of `#[repr(transparent)]`.
        unsafe { &mut *ptr.cast() }
    }

    /// Returns a raw pointer to the `struct shrink_control`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::shrink_control {
        self.sc.get()
    }

    /// The NUMA node being shrunk. Always 0 unless the shrinker is
    /// [`ShrinkerFlags::NUMA_AWARE`].
    #[inline]
    pub fn nid(&self) -> c_int {
        // SAFETY: By the type invariants, the `shrink_control` is valid and not written
        // concurrently.
        unsafe { (*self.as_raw()).nid }
    }

    /// The memory cgroup being shrunk, or null for global reclaim or a shrinker that is not
    /// [`ShrinkerFlags::MEMCG_AWARE`].
    ///
    /// The pointer is only to be passed on to C functions that take it, such as
    /// `list_lru_count_one()`; it is valid for the duration of the callback.
    #[inline]
    pub fn memcg_raw(&self) -> *mut bindings::mem_cgroup {
        // SAFETY: By the type invariants, the `shrink_control` is valid and not written
        // concurrently.
        unsafe { (*self.as_raw()).memcg }
    }

    /// The allocation flags of the allocation that caused reclaim.
    ///
    /// A shrinker must not recurse into the filesystem or into I/O when `__GFP_FS` or `__GFP_IO`
    /// is clear; see [`ShrinkControl::reclaim_fs_allowed`] and
    /// [`ShrinkControl::reclaim_io_allowed`].
    #[inline]
    pub fn gfp_mask(&self) -> bindings::gfp_t {
        // SAFETY: By the type invariants, the `shrink_control` is valid and not written
        // concurrently.
        unsafe { (*self.as_raw()).gfp_mask }
    }

    /// Whether `__GFP_FS` is set: the shrinker may call into filesystems.
    #[inline]
    pub fn reclaim_fs_allowed(&self) -> bool {
        self.gfp_mask() & bindings::__GFP_FS != 0
    }

    /// Whether `__GFP_IO` is set: the shrinker may start I/O.
    #[inline]
    pub fn reclaim_io_allowed(&self) -> bool {
        self.gfp_mask() & bindings::__GFP_IO != 0
    }

    /// How many objects `scan_objects` should scan.
    ///
    /// [`ListLru::shrink_walk`] decrements it as it walks, as `list_lru_shrink_walk()` does.
    ///
    /// [`ListLru::shrink_walk`]: crate::list_lru::ListLru::shrink_walk
    #[inline]
    pub fn nr_to_scan(&self) -> c_ulong {
        // SAFETY: By the type invariants, the `shrink_control` is valid and not written
        // concurrently.
        unsafe { (*self.as_raw()).nr_to_scan }
    }

    /// How many objects `scan_objects` reports as scanned; it is `nr_to_scan` on entry.
    #[inline]
    pub fn nr_scanned(&self) -> c_ulong {
        // SAFETY: By the type invariants, the `shrink_control` is valid and not written
        // concurrently.
        unsafe { (*self.as_raw()).nr_scanned }
    }

    /// Sets how many objects `scan_objects` processed.
    ///
    /// The value is passed through as is, even when it exceeds `nr_to_scan`: the mm core accounts
    /// the work actually done with it.
    #[inline]
    pub fn set_nr_scanned(&mut self, nr_scanned: c_ulong) {
        // SAFETY: By the type invariants, the `shrink_control` is valid and we have exclusive
        // access to it.
        unsafe { (*self.as_raw()).nr_scanned = nr_scanned };
    }
}

/// The callbacks of a shrinker.
///
/// Both callbacks may run concurrently with each other and with themselves, on any CPU, from any
/// task that enters reclaim, and in any context in which allocation may sleep. They must not
/// allocate memory with flags that could recurse into reclaim of the same cache, and should only
/// trylock locks that may be held while allocating.
///
/// # Examples
///
/// A cache that only counts its freeable objects, registered and unregistered again:
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use kernel::prelude::*;
/// use kernel::shrinker::{
///     CountObjects, ScanObjects, ShrinkControl, Shrinker, ShrinkerBuilder, ShrinkerFlags,
/// };
/// use kernel::sync::{Arc, ArcBorrow};
///
/// struct Cache {
///     cached: AtomicUsize,
/// }
///
/// impl Shrinker for Cache {
///     type Ptr = Arc<Cache>;
///
///     fn count_objects(me: ArcBorrow<'_, Cache>, _sc: &ShrinkControl) -> CountObjects {
///         match me.cached.load(Ordering::Relaxed) {
///             0 => CountObjects::EMPTY,
///             n => CountObjects::new(n as _),
///         }
///     }
///
///     fn scan_objects(me: ArcBorrow<'_, Cache>, sc: &mut ShrinkControl) -> ScanObjects {
///         let want = sc.nr_to_scan() as usize;
///         let mut freed = 0;
///         let _ = me.cached.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
///             freed = n.min(want);
///             Some(n - freed)
///         });
///         ScanObjects::from_count(freed as _)
///     }
/// }
///
/// let cache = Arc::new(Cache { cached: AtomicUsize::new(16) }, GFP_KERNEL)?;
/// let shrinker = ShrinkerBuilder::new(c"doctest-cache", ShrinkerFlags::NONE)?
///     .register::<Cache>(cache.clone());
/// // Reclaim may call the callbacks from here on, until `shrinker` is dropped.
/// drop(shrinker);
/// // Unregistering dropped the shrinker's reference to the cache.
/// assert!(Arc::into_unique_or_drop(cache).is_some());
/// # Ok::<(), Error>(())
/// ```
pub trait Shrinker {
    /// The data the callbacks receive, owned by the [`ShrinkerRegistration`].
    type Ptr: ForeignOwnable + Send + Sync;

    /// Counts the freeable objects (`count_objects`).
    ///
    /// Return [`CountObjects::EMPTY`] when there is nothing to free, and a count of 0 when the
    /// number cannot be determined or the cache should be skipped this time.
    fn count_objects(
        me: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        sc: &ShrinkControl,
    ) -> CountObjects;

    /// Scans up to [`ShrinkControl::nr_to_scan`] objects and frees those that can be freed
    /// (`scan_objects`).
    ///
    /// Return the number of objects freed, or [`ScanObjects::STOP`] when no progress can be made.
    /// Report the number of objects examined with [`ShrinkControl::set_nr_scanned`] if it differs
    /// from `nr_to_scan`.
    fn scan_objects(
        me: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        sc: &mut ShrinkControl,
    ) -> ScanObjects;
}

/// An allocated shrinker that is not registered yet.
///
/// # Invariants
///
/// `shrinker` was returned by `shrinker_alloc()`, has not been registered, and is owned by this
/// object.
pub struct ShrinkerBuilder {
    shrinker: NonNull<bindings::shrinker>,
}

// SAFETY: The unregistered shrinker is only accessed through this object, and `shrinker_free()`
// may be called from any thread.
unsafe impl Send for ShrinkerBuilder {}

impl ShrinkerBuilder {
    /// Allocates a shrinker named `name` (`shrinker_alloc()`).
    ///
    /// The name appears in the shrinker's debugfs directory when `CONFIG_SHRINKER_DEBUG` is
    /// enabled. The shrinker has `DEFAULT_SEEKS` and the default batch size until changed.
    pub fn new(name: &CStr, flags: ShrinkerFlags) -> Result<Self> {
        // SAFETY: `%s` with a NUL-terminated string is a valid format for `shrinker_alloc()`,
        // which copies the name.
        let shrinker = unsafe {
            bindings::shrinker_alloc(flags.as_raw(), c"%s".as_char_ptr(), name.as_char_ptr())
        };

        // INVARIANT: A non-null return is a newly allocated, unregistered shrinker that we own.
        Ok(Self {
            shrinker: NonNull::new(shrinker).ok_or(ENOMEM)?,
        })
    }

    /// Sets the cost of recreating an object, relative to the default `DEFAULT_SEEKS`.
    #[inline]
    pub fn set_seeks(&mut self, seeks: c_int) {
        // SAFETY: By the type invariants, the shrinker is valid and not registered yet, so no
        // one else accesses it.
        unsafe { (*self.shrinker.as_ptr()).seeks = seeks };
    }

    /// Sets the number of objects per `scan_objects` call; 0 selects the default.
    #[inline]
    pub fn set_batch(&mut self, batch: c_long) {
        // SAFETY: By the type invariants, the shrinker is valid and not registered yet, so no
        // one else accesses it.
        unsafe { (*self.shrinker.as_ptr()).batch = batch };
    }

    /// Registers the shrinker with callbacks `T` and data `data` (`shrinker_register()`).
    ///
    /// The callbacks can run as soon as this function returns, and until the returned
    /// [`ShrinkerRegistration`] is dropped.
    pub fn register<T: Shrinker>(self, data: T::Ptr) -> ShrinkerRegistration<T> {
        let shrinker = self.shrinker;
        core::mem::forget(self);

        // SAFETY: By the type invariants, the shrinker is valid and not registered yet, so no
        // one else accesses it and these are the fields to set before `shrinker_register()`.
        unsafe {
            (*shrinker.as_ptr()).count_objects = Some(ShrinkerRegistration::<T>::count_callback);
            (*shrinker.as_ptr()).scan_objects = Some(ShrinkerRegistration::<T>::scan_callback);
            (*shrinker.as_ptr()).private_data = data.into_foreign().cast();
        }

        // SAFETY: The shrinker was allocated by `shrinker_alloc()`, is fully set up, and is not
        // registered yet.
        unsafe { bindings::shrinker_register(shrinker.as_ptr()) };

        // INVARIANT: The shrinker is registered, and `private_data` holds `data` as a foreign
        // pointer.
        ShrinkerRegistration {
            shrinker,
            _p: PhantomData,
        }
    }
}

impl Drop for ShrinkerBuilder {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, we own the unregistered shrinker; `shrinker_free()`
        // frees an unregistered shrinker.
        unsafe { bindings::shrinker_free(self.shrinker.as_ptr()) };
    }
}

/// A registered shrinker; dropping it unregisters and frees it (`shrinker_free()`).
///
/// `shrinker_free()` waits for the callbacks that are running to return, so the data is dropped
/// only when no callback can use it any more. Dropping may sleep.
///
/// # Invariants
///
/// `shrinker` was allocated by `shrinker_alloc()`, is registered with the callbacks of `T`, and
/// its `private_data` was returned by `T::Ptr::into_foreign()`. This object owns both.
pub struct ShrinkerRegistration<T: Shrinker> {
    shrinker: NonNull<bindings::shrinker>,
    _p: PhantomData<T::Ptr>,
}

// SAFETY: Dropping the registration may happen on any thread: `shrinker_free()` may, and
// `T::Ptr` is `Send`.
unsafe impl<T: Shrinker> Send for ShrinkerRegistration<T> {}

// SAFETY: `&ShrinkerRegistration` offers no access to the shrinker or its data.
unsafe impl<T: Shrinker> Sync for ShrinkerRegistration<T> {}

impl<T: Shrinker> ShrinkerRegistration<T> {
    /// Returns the raw `struct shrinker`.
    ///
    /// The pointer is valid until `self` is dropped.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::shrinker {
        self.shrinker.as_ptr()
    }

    /// # Safety
    ///
    /// Only to be called by the mm core as the `count_objects` callback of a shrinker registered
    /// by [`ShrinkerBuilder::register::<T>`].
    unsafe extern "C" fn count_callback(
        shrinker: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: The shrinker is registered, so `private_data` holds a pointer returned by
        // `T::Ptr::into_foreign()` and `from_foreign()` is only called after `shrinker_free()`
        // returned, which is after this callback returned.
        let me = unsafe { T::Ptr::borrow((*shrinker).private_data.cast()) };
        // SAFETY: The mm core passes a valid `shrink_control` that is ours for the duration of
        // the callback.
        let sc = unsafe { ShrinkControl::from_raw(sc) };
        T::count_objects(me, sc).as_raw()
    }

    /// # Safety
    ///
    /// Only to be called by the mm core as the `scan_objects` callback of a shrinker registered
    /// by [`ShrinkerBuilder::register::<T>`].
    unsafe extern "C" fn scan_callback(
        shrinker: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: As in `count_callback`.
        let me = unsafe { T::Ptr::borrow((*shrinker).private_data.cast()) };
        // SAFETY: The mm core passes a valid `shrink_control` that is ours for the duration of
        // the callback.
        let sc = unsafe { ShrinkControl::from_raw(sc) };
        T::scan_objects(me, sc).as_raw()
    }
}

impl<T: Shrinker> Drop for ShrinkerRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, the shrinker is valid; read `private_data` before the
        // shrinker is freed.
        let data = unsafe { (*self.shrinker.as_ptr()).private_data };

        // SAFETY: By the type invariants, we own the registered shrinker. `shrinker_free()`
        // unregisters it and waits until no callback is running or can start.
        unsafe { bindings::shrinker_free(self.shrinker.as_ptr()) };

        // SAFETY: `data` was returned by `T::Ptr::into_foreign()` in `register`, and no callback
        // can borrow it any more.
        drop(unsafe { T::Ptr::from_foreign(data.cast()) });
    }
}

#[macros::kunit_tests(rust_shrinker)]
mod tests {
    use super::*;
    use crate::{
        alloc::{
            flags::GFP_KERNEL,
            KBox, //
        },
        impl_has_list_lru_entry,
        list_lru::{
            ListLru,
            ListLruEntry, //
        },
        prelude::*,
        sync::{
            Arc,
            ArcBorrow, //
        },
    };
    use core::sync::atomic::{
        AtomicBool,
        AtomicU32,
        Ordering, //
    };

    #[pin_data]
    struct Object {
        busy: AtomicBool,
        #[pin]
        lru: ListLruEntry,
    }

    impl_has_list_lru_entry! {
        impl HasListLruEntry for Object { self.lru }
    }

    /// How the test shrinker behaves.
    const MODE_NORMAL: u32 = 0;
    const MODE_COUNT_ZERO: u32 = 1;
    const MODE_STOP: u32 = 2;
    const MODE_OVERSCAN: u32 = 3;

    #[pin_data]
    struct Cache {
        #[pin]
        lru: ListLru<Object>,
        mode: AtomicU32,
    }

    struct CacheShrinker;

    impl Shrinker for CacheShrinker {
        type Ptr = Arc<Cache>;

        fn count_objects(cache: ArcBorrow<'_, Cache>, sc: &ShrinkControl) -> CountObjects {
            if cache.mode.load(Ordering::Relaxed) == MODE_COUNT_ZERO {
                return CountObjects::new(0);
            }
            match cache.lru.shrink_count(sc) {
                0 => CountObjects::EMPTY,
                count => CountObjects::new(count),
            }
        }

        fn scan_objects(cache: ArcBorrow<'_, Cache>, sc: &mut ShrinkControl) -> ScanObjects {
            match cache.mode.load(Ordering::Relaxed) {
                MODE_STOP => return ScanObjects::STOP,
                MODE_OVERSCAN => {
                    let nr_scanned = sc.nr_to_scan() + 7;
                    sc.set_nr_scanned(nr_scanned);
                    return ScanObjects::from_count(0);
                }
                _ => {}
            }
            let freed = cache.lru.shrink_walk(sc, |item| {
                if item.item().busy.load(Ordering::Relaxed) {
                    item.skip()
                } else {
                    item.removed()
                }
            });
            ScanObjects::from_count(freed)
        }
    }

    /// Calls the shrinker's callbacks as `do_shrink_slab()` does.
    struct Caller<'a> {
        reg: &'a ShrinkerRegistration<CacheShrinker>,
        sc: bindings::shrink_control,
    }

    impl<'a> Caller<'a> {
        fn new(reg: &'a ShrinkerRegistration<CacheShrinker>) -> Self {
            Self {
                reg,
                sc: bindings::shrink_control {
                    gfp_mask: GFP_KERNEL.as_raw(),
                    ..Default::default()
                },
            }
        }

        fn count(&mut self) -> c_ulong {
            let shrinker = self.reg.as_raw();
            // SAFETY: The shrinker is registered while `reg` lives; `count_objects` is set.
            unsafe { ((*shrinker).count_objects.unwrap())(shrinker, &mut self.sc) }
        }

        fn scan(&mut self, nr_to_scan: c_ulong) -> c_ulong {
            // `do_shrink_slab()` sets both before each call.
            self.sc.nr_to_scan = nr_to_scan;
            self.sc.nr_scanned = nr_to_scan;
            let shrinker = self.reg.as_raw();
            // SAFETY: The shrinker is registered while `reg` lives; `scan_objects` is set.
            unsafe { ((*shrinker).scan_objects.unwrap())(shrinker, &mut self.sc) }
        }
    }

    fn new_cache() -> Result<Arc<Cache>> {
        Arc::pin_init(
            try_pin_init!(Cache {
                lru <- ListLru::new(),
                mode: AtomicU32::new(MODE_NORMAL),
            }),
            GFP_KERNEL,
        )
    }

    fn new_objects(cache: &Cache, busy: &[bool]) -> Result<KVec<Pin<KBox<Object>>>> {
        let mut objects = KVec::with_capacity(busy.len(), GFP_KERNEL)?;
        for &busy in busy {
            let object = KBox::pin_init(
                pin_init!(Object {
                    busy: AtomicBool::new(busy),
                    lru <- ListLruEntry::new(),
                }),
                GFP_KERNEL,
            )?;
            // SAFETY: The object is in kmalloc memory; `del_all` removes it before it or the
            // cache is dropped.
            assert!(unsafe { cache.lru.add_obj(&object) });
            objects.push(object, GFP_KERNEL)?;
        }
        Ok(objects)
    }

    fn del_all(cache: &Cache, objects: &[Pin<KBox<Object>>]) {
        for object in objects {
            // SAFETY: The objects were added with `add_obj` to this list, or are on no list.
            unsafe { cache.lru.del_obj(object) };
        }
    }

    #[test]
    fn count_is_shrink_empty_when_empty_and_zero_is_not_empty() -> Result {
        let cache = new_cache()?;
        let reg = ShrinkerBuilder::new(c"rust-kunit-count", ShrinkerFlags::NONE)?
            .register::<CacheShrinker>(cache.clone());
        let mut caller = Caller::new(&reg);

        assert_eq!(caller.count(), !0 - 1);
        assert_eq!(caller.count(), CountObjects::EMPTY.as_raw());

        let objects = new_objects(&cache, &[false, false, false])?;
        assert_eq!(caller.count(), 3);

        // A count of 0 reaches C as 0, not as `SHRINK_EMPTY`.
        cache.mode.store(MODE_COUNT_ZERO, Ordering::Relaxed);
        assert_eq!(caller.count(), 0);

        del_all(&cache, &objects);
        Ok(())
    }

    #[test]
    fn counts_and_freed_numbers_saturate_below_the_sentinels() {
        assert_eq!(CountObjects::new(c_ulong::MAX).as_raw(), !0 - 2);
        assert_eq!(
            CountObjects::new(!0 - 1),
            CountObjects::new(CountObjects::MAX)
        );
        assert_eq!(ScanObjects::from_count(!0).as_raw(), !0 - 2);
        assert_eq!(ScanObjects::STOP.as_raw(), !0);
    }

    #[test]
    fn scan_frees_walked_objects_and_consumes_nr_to_scan() -> Result {
        let cache = new_cache()?;
        let reg = ShrinkerBuilder::new(c"rust-kunit-scan", ShrinkerFlags::NONE)?
            .register::<CacheShrinker>(cache.clone());
        let mut caller = Caller::new(&reg);
        let objects = new_objects(&cache, &[false, true, false, false])?;
        assert_eq!(caller.count(), 4);

        // Three objects are visited; the busy one is skipped.
        assert_eq!(caller.scan(3), 2);
        assert_eq!(caller.sc.nr_to_scan, 0);
        assert_eq!(caller.sc.nr_scanned, 3);
        assert_eq!(caller.count(), 2);

        // The remaining two are visited; only one can be freed.
        assert_eq!(caller.scan(10), 1);
        assert_eq!(caller.sc.nr_to_scan, 8);
        assert_eq!(caller.count(), 1);

        objects[1].busy.store(false, Ordering::Relaxed);
        assert_eq!(caller.scan(10), 1);
        assert_eq!(caller.count(), CountObjects::EMPTY.as_raw());

        del_all(&cache, &objects);
        Ok(())
    }

    #[test]
    fn stop_and_nr_scanned_reach_c_unchanged() -> Result {
        let cache = new_cache()?;
        let mut builder = ShrinkerBuilder::new(c"rust-kunit-stop", ShrinkerFlags::NONE)?;
        builder.set_seeks(bindings::DEFAULT_SEEKS as c_int);
        builder.set_batch(16);
        let reg = builder.register::<CacheShrinker>(cache.clone());
        // SAFETY: The shrinker is registered and not freed while `reg` lives.
        assert_eq!(unsafe { (*reg.as_raw()).batch }, 16);
        let mut caller = Caller::new(&reg);

        cache.mode.store(MODE_STOP, Ordering::Relaxed);
        assert_eq!(caller.scan(32), !0);

        // `nr_scanned` may exceed `nr_to_scan`; it is not clamped.
        cache.mode.store(MODE_OVERSCAN, Ordering::Relaxed);
        assert_eq!(caller.scan(32), 0);
        assert_eq!(caller.sc.nr_scanned, 39);
        Ok(())
    }

    #[test]
    fn dropping_the_registration_drops_the_data() -> Result {
        let cache = new_cache()?;
        let reg = ShrinkerBuilder::new(c"rust-kunit-drop", ShrinkerFlags::NONE)?
            .register::<CacheShrinker>(cache.clone());
        // The registration holds a reference.
        assert!(Arc::into_unique_or_drop(cache.clone()).is_none());
        drop(reg);
        assert!(Arc::into_unique_or_drop(cache).is_some());
        Ok(())
    }
}
