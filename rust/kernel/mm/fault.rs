// SPDX-License-Identifier: GPL-2.0

//! VMA operations and page faults: `struct vm_operations_struct` and `struct vm_fault`.
//!
//! A driver that maps memory into userspace describes its mappings with a [`VmOperations`]
//! implementation, declares one [`VmOperationsTable`] for it as a `static`, and attaches the table
//! and its data to each new VMA in its `mmap` hook with [`VmaNew::set_vm_ops`]. Afterwards the mm
//! core calls [`VmOperations::open`], [`VmOperations::close`] and [`VmOperations::fault`] with that
//! data, and the driver can recognise its own VMAs with [`VmOperationsTable::data`].
//!
//! A `->fault()` handler can satisfy a fault in two ways, both offered by [`VmFault`]:
//!
//! - Insert the page itself ([`VmFault::insert_page`], `vmf_insert_page_mkwrite()`). The page
//!   table entry is written before the handler returns, under whatever locks the handler holds,
//!   and the page table takes its own reference on the page; the handler only lends the page for
//!   the duration of the call. This is the way to go when the driver must serialise mapping
//!   against its own reclaim: if the reclaimer zaps the page table entry under the same lock, it
//!   cannot miss an entry that is about to be written.
//! - Return a page to the mm core ([`VmFault::set_page`], `vmf->page`). The mm core writes the page
//!   table entry *after* the handler returns, with the reference the handler hands over. Any lock
//!   the handler held is released by then, so a reclaimer that zaps the entry must also exclude
//!   the mm core, for example with the page lock; otherwise it can free the page's slot while the
//!   entry is being written.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h).

use crate::{
    bindings,
    error::VTABLE_DEFAULT_ERROR,
    mm::virt::{
        VmaNew,
        VmaRef, //
    },
    page::Page,
    page_ref::SharedPage,
    prelude::*,
    sync::aref::ARef,
    types::NotThreadSafe,
};
use core::{
    marker::PhantomData,
    ops::{
        BitAnd,
        BitOr,
        BitOrAssign, //
    },
    ptr::NonNull, //
};

/// The result of a page fault handler: a `vm_fault_t` built from `enum vm_fault_reason`.
///
/// The value is a bit mask, as in C; combine constants with `|`. A handler that returns a page in
/// `vmf->page` returns [`VmFaultReason::NONE`] (0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmFaultReason(bindings::vm_fault_t);

impl VmFaultReason {
    /// No flag: the handler returned a page in `vmf->page` for the mm core to map.
    pub const NONE: Self = Self(0);
    /// `VM_FAULT_OOM`: out of memory.
    pub const OOM: Self = Self(bindings::vm_fault_reason_VM_FAULT_OOM);
    /// `VM_FAULT_SIGBUS`: bad access; the faulting task gets `SIGBUS`.
    pub const SIGBUS: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS);
    /// `VM_FAULT_MAJOR`: the page was read from storage.
    pub const MAJOR: Self = Self(bindings::vm_fault_reason_VM_FAULT_MAJOR);
    /// `VM_FAULT_HWPOISON`: hit a poisoned small page.
    pub const HWPOISON: Self = Self(bindings::vm_fault_reason_VM_FAULT_HWPOISON);
    /// `VM_FAULT_HWPOISON_LARGE`: hit a poisoned large page; the index is in the upper bits.
    pub const HWPOISON_LARGE: Self = Self(bindings::vm_fault_reason_VM_FAULT_HWPOISON_LARGE);
    /// `VM_FAULT_SIGSEGV`: segmentation fault.
    pub const SIGSEGV: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGSEGV);
    /// `VM_FAULT_NOPAGE`: the handler installed the page table entry and returns no page.
    pub const NOPAGE: Self = Self(bindings::vm_fault_reason_VM_FAULT_NOPAGE);
    /// `VM_FAULT_LOCKED`: the handler locked the page it returns.
    pub const LOCKED: Self = Self(bindings::vm_fault_reason_VM_FAULT_LOCKED);
    /// `VM_FAULT_RETRY`: the handler blocked and released the mmap or VMA lock; the fault must be
    /// retried.
    ///
    /// Only to be returned after releasing the lock as `FAULT_FLAG_ALLOW_RETRY` permits, which
    /// this abstraction does not offer yet: returning it with the lock held leaks the lock.
    pub const RETRY: Self = Self(bindings::vm_fault_reason_VM_FAULT_RETRY);
    /// `VM_FAULT_FALLBACK`: a huge page fault failed; fall back to small pages.
    pub const FALLBACK: Self = Self(bindings::vm_fault_reason_VM_FAULT_FALLBACK);
    /// `VM_FAULT_DONE_COW`: the handler fully handled copy-on-write.
    pub const DONE_COW: Self = Self(bindings::vm_fault_reason_VM_FAULT_DONE_COW);
    /// `VM_FAULT_NEEDDSYNC`: the handler did not modify page tables and needs fsync() (DAX).
    pub const NEEDDSYNC: Self = Self(bindings::vm_fault_reason_VM_FAULT_NEEDDSYNC);
    /// `VM_FAULT_COMPLETED`: the fault completed and the mmap lock was released; the same caveat
    /// as for [`VmFaultReason::RETRY`] applies.
    pub const COMPLETED: Self = Self(bindings::vm_fault_reason_VM_FAULT_COMPLETED);
    /// `VM_FAULT_HINDEX_MASK`: the mask of the huge page index in `VM_FAULT_HWPOISON_LARGE`.
    pub const HINDEX_MASK: Self = Self(bindings::vm_fault_reason_VM_FAULT_HINDEX_MASK);
    /// `VM_FAULT_ERROR`: the flags that mean the fault failed.
    pub const ERROR: Self = Self(
        bindings::vm_fault_reason_VM_FAULT_OOM
            | bindings::vm_fault_reason_VM_FAULT_SIGBUS
            | bindings::vm_fault_reason_VM_FAULT_SIGSEGV
            | bindings::vm_fault_reason_VM_FAULT_HWPOISON
            | bindings::vm_fault_reason_VM_FAULT_HWPOISON_LARGE
            | bindings::vm_fault_reason_VM_FAULT_FALLBACK,
    );

    /// Creates a value from a raw `vm_fault_t`, such as one returned by a C function.
    #[inline]
    pub const fn from_raw(raw: bindings::vm_fault_t) -> Self {
        Self(raw)
    }

    /// Returns the raw `vm_fault_t`.
    #[inline]
    pub const fn as_raw(self) -> bindings::vm_fault_t {
        self.0
    }

    /// Returns whether all the flags of `flags` are set in `self`.
    #[inline]
    pub const fn contains(self, flags: Self) -> bool {
        self.0 & flags.0 == flags.0
    }

    /// Returns whether any flag of `VM_FAULT_ERROR` is set.
    #[inline]
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR.0 != 0
    }
}

impl BitOr for VmFaultReason {
    type Output = Self;

    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for VmFaultReason {
    #[inline]
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// The flags of a page fault: `enum fault_flag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultFlags(bindings::fault_flag);

impl FaultFlags {
    /// `FAULT_FLAG_WRITE`: the fault was a write fault.
    pub const WRITE: Self = Self(bindings::fault_flag_FAULT_FLAG_WRITE);
    /// `FAULT_FLAG_MKWRITE`: the fault was a mkwrite of an existing page table entry.
    pub const MKWRITE: Self = Self(bindings::fault_flag_FAULT_FLAG_MKWRITE);
    /// `FAULT_FLAG_ALLOW_RETRY`: the fault may be retried if it blocks.
    pub const ALLOW_RETRY: Self = Self(bindings::fault_flag_FAULT_FLAG_ALLOW_RETRY);
    /// `FAULT_FLAG_RETRY_NOWAIT`: do not drop the mmap lock and wait when retrying.
    pub const RETRY_NOWAIT: Self = Self(bindings::fault_flag_FAULT_FLAG_RETRY_NOWAIT);
    /// `FAULT_FLAG_KILLABLE`: the faulting task is in a `SIGKILL`-killable region.
    pub const KILLABLE: Self = Self(bindings::fault_flag_FAULT_FLAG_KILLABLE);
    /// `FAULT_FLAG_TRIED`: the fault has been tried once.
    pub const TRIED: Self = Self(bindings::fault_flag_FAULT_FLAG_TRIED);
    /// `FAULT_FLAG_USER`: the fault originated in userspace.
    pub const USER: Self = Self(bindings::fault_flag_FAULT_FLAG_USER);
    /// `FAULT_FLAG_REMOTE`: the fault is not for the current task or mm (GUP on another mm,
    /// `/proc/pid/mem`, `process_vm_readv()`, ...).
    pub const REMOTE: Self = Self(bindings::fault_flag_FAULT_FLAG_REMOTE);
    /// `FAULT_FLAG_INSTRUCTION`: the fault happened during an instruction fetch.
    pub const INSTRUCTION: Self = Self(bindings::fault_flag_FAULT_FLAG_INSTRUCTION);
    /// `FAULT_FLAG_INTERRUPTIBLE`: the fault can be interrupted by non-fatal signals.
    pub const INTERRUPTIBLE: Self = Self(bindings::fault_flag_FAULT_FLAG_INTERRUPTIBLE);
    /// `FAULT_FLAG_UNSHARE`: an unsharing request to break copy-on-write.
    pub const UNSHARE: Self = Self(bindings::fault_flag_FAULT_FLAG_UNSHARE);
    /// `FAULT_FLAG_ORIG_PTE_VALID`: `vmf->orig_pte` is cached.
    pub const ORIG_PTE_VALID: Self = Self(bindings::fault_flag_FAULT_FLAG_ORIG_PTE_VALID);
    /// `FAULT_FLAG_VMA_LOCK`: the fault is handled under the per-VMA lock.
    pub const VMA_LOCK: Self = Self(bindings::fault_flag_FAULT_FLAG_VMA_LOCK);

    /// Returns the raw flags.
    #[inline]
    pub const fn as_raw(self) -> bindings::fault_flag {
        self.0
    }

    /// Returns whether all the flags of `flags` are set in `self`.
    #[inline]
    pub const fn contains(self, flags: Self) -> bool {
        self.0 & flags.0 == flags.0
    }
}

impl BitOr for FaultFlags {
    type Output = Self;

    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitAnd for FaultFlags {
    type Output = Self;

    #[inline]
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// A page fault being handled: a `struct vm_fault`.
///
/// A [`VmOperations::fault`] handler receives it by value and consumes it at most once to hand a
/// page over ([`VmFault::set_page`]), so a page cannot be returned twice nor inserted after it was
/// returned.
///
/// # Invariants
///
/// `vmf` points at the `struct vm_fault` of a fault whose `->fault()` handler is running for the
/// duration of `'a`, with the mmap read lock or the VMA read lock of `vmf->vma` held.
pub struct VmFault<'a> {
    vmf: NonNull<bindings::vm_fault>,
    _p: PhantomData<&'a mut bindings::vm_fault>,
    // The mmap and VMA locks are held by this thread.
    _nts: NotThreadSafe,
}

impl<'a> VmFault<'a> {
    /// Creates a `VmFault` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `vmf` must point at the `struct vm_fault` of a `->fault()` handler running for the duration
    /// of `'a` on this thread, which holds the mmap read lock or the VMA read lock of `vmf->vma`.
    #[inline]
    pub unsafe fn from_raw(vmf: *mut bindings::vm_fault) -> Self {
        // INVARIANT: The caller guarantees the requirements.
        Self {
            // SAFETY: The caller passes a valid, hence non-null, pointer.
            vmf: unsafe { NonNull::new_unchecked(vmf) },
            _p: PhantomData,
            _nts: NotThreadSafe,
        }
    }

    /// Returns a raw pointer to the `struct vm_fault`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::vm_fault {
        self.vmf.as_ptr()
    }

    /// The VMA the fault is in, with read access.
    #[inline]
    pub fn vma(&self) -> &VmaRef {
        // SAFETY: By the type invariants, `vmf->vma` is valid and its mmap or VMA read lock is held
        // while `self` exists.
        unsafe { VmaRef::from_raw((*self.as_raw()).__bindgen_anon_1.vma) }
    }

    /// The faulting address, rounded down to a page boundary (`vmf->address`).
    #[inline]
    pub fn address(&self) -> usize {
        // SAFETY: By the type invariants, `vmf` is valid; the field is constant during the fault.
        unsafe { (*self.as_raw()).__bindgen_anon_1.address }
    }

    /// The faulting address as reported by the hardware (`vmf->real_address`).
    #[inline]
    pub fn real_address(&self) -> usize {
        // SAFETY: By the type invariants, `vmf` is valid; the field is constant during the fault.
        unsafe { (*self.as_raw()).__bindgen_anon_1.real_address }
    }

    /// The offset of the faulting page in the mapped object, in pages (`vmf->pgoff`).
    ///
    /// It is `vma->vm_pgoff` plus the page index of the address in the VMA, so it stays right
    /// when `mprotect()` or `munmap()` split the VMA.
    #[inline]
    pub fn pgoff(&self) -> usize {
        // SAFETY: By the type invariants, `vmf` is valid; the field is constant during the fault.
        unsafe { (*self.as_raw()).__bindgen_anon_1.pgoff }
    }

    /// The flags of the fault (`vmf->flags`).
    #[inline]
    pub fn flags(&self) -> FaultFlags {
        // SAFETY: By the type invariants, `vmf` is valid, and only the mm core on this thread
        // writes the flags.
        FaultFlags(unsafe { (*self.as_raw()).flags })
    }

    /// Whether this is a write fault (`FAULT_FLAG_WRITE`).
    #[inline]
    pub fn is_write(&self) -> bool {
        self.flags().contains(FaultFlags::WRITE)
    }

    /// Inserts `page` at the faulting address without making it writable
    /// (`vmf_insert_page_mkwrite(vmf, page, false)`).
    ///
    /// Returns [`VmFaultReason::NOPAGE`] on success, and also when an entry is already present
    /// (another thread won the race), [`VmFaultReason::OOM`] when a page table cannot be
    /// allocated, and [`VmFaultReason::SIGBUS`] otherwise. Return the value from the handler.
    ///
    /// The VMA must have `VM_MIXEDMAP` set (see [`VmaNew::set_mixedmap`]); otherwise this warns and
    /// returns [`VmFaultReason::SIGBUS`]. The page must not be anonymous nor a slab page, which
    /// [`Page`] guarantees; it is order-0 by the invariants of [`Page`]. The page table takes its
    /// own reference on the page, so the caller keeps its own and may drop it later; the page is
    /// freed only when it is also unmapped. Use [`SharedPage::as_page`] to insert a
    /// [`SharedPage`].
    ///
    /// This may sleep (page table allocation).
    #[inline]
    pub fn insert_page(&self, page: &Page) -> VmFaultReason {
        self.insert_page_mkwrite(page, false)
    }

    /// Inserts `page` at the faulting address (`vmf_insert_page_mkwrite()`).
    ///
    /// Like [`VmFault::insert_page`]; with `write`, the entry is made dirty and, if the VMA has
    /// `VM_WRITE`, writable.
    #[inline]
    pub fn insert_page_mkwrite(&self, page: &Page, write: bool) -> VmFaultReason {
        if crate::warn_on!(self.vma().as_mixedmap_vma().is_none()) {
            return VmFaultReason::SIGBUS;
        }
        // SAFETY: By the type invariants, we are in the `->fault()` handler of `vmf` with the
        // mmap or VMA read lock held, and we just checked that `VM_MIXEDMAP` is set. The page is
        // a valid order-0 page by the invariants of `Page`; `vmf_insert_page_mkwrite()` checks the
        // remaining requirements and returns `VM_FAULT_SIGBUS` if they fail.
        VmFaultReason(unsafe {
            bindings::vmf_insert_page_mkwrite(self.as_raw(), page.as_ptr(), write)
        })
    }

    /// Hands `page` over to the mm core, which maps it after the handler returns (`vmf->page`).
    ///
    /// Returns [`VmFaultReason::NONE`], the value to return from the handler. The reference
    /// owned by `page` is transferred to the mm core, which either keeps it in the page table or
    /// drops it if it cannot map the page. The mm core locks the page (`VM_FAULT_LOCKED` is not
    /// set) before mapping it.
    ///
    /// The page table entry is written after the handler returns, outside any lock the handler
    /// held: see the module documentation for what this implies for reclaim. For a
    /// `MAP_PRIVATE` mapping that is written to, the mm core copies the page into an anonymous
    /// one instead of mapping it.
    #[inline]
    pub fn set_page(self, page: ARef<SharedPage>) -> VmFaultReason {
        let page = ARef::into_raw(page);
        // SAFETY: By the type invariants, we are in the `->fault()` handler of `vmf`, which may
        // set `vmf->page` to a page with a reference for the mm core; `self` is consumed, so it is
        // set at most once.
        unsafe { (*self.as_raw()).page = page.as_ptr().cast() };
        VmFaultReason::NONE
    }
}

/// The operations of a VMA: a `struct vm_operations_struct`.
///
/// Each callback receives the data attached with [`VmaNew::set_vm_ops`]. The mm core calls them
/// concurrently for different VMAs and faults, so the data must be `Sync`.
///
/// Unimplemented callbacks are left null, as in C: a VMA without `fault` gets `SIGBUS` on faults
/// that its page tables do not satisfy.
#[vtable]
pub trait VmOperations: Sized + 'static {
    /// The data that `vm_private_data` points at.
    type Data: Sync;

    /// Called when a VMA is created by copying one of ours: when it is split (`mprotect()`,
    /// partial `munmap()`), moved (`mremap()`), or copied on `fork()` (unless `VM_DONTCOPY`).
    /// The mmap write lock is held.
    fn open(_data: &Self::Data, _vma: &VmaRef) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when one of our VMAs is removed. The mmap write lock is held, or the address space
    /// is being torn down.
    fn close(_data: &Self::Data, _vma: &VmaRef) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles a fault in one of our VMAs that the page tables do not satisfy (`->fault()`).
    ///
    /// The mmap read lock or, with `FAULT_FLAG_VMA_LOCK`, the VMA read lock is held; the handler
    /// may sleep. The fault may come from another task than the owner of the mapping
    /// ([`FaultFlags::REMOTE`]), so the handler must not rely on `current`.
    fn fault(_data: &Self::Data, _vmf: VmFault<'_>) -> VmFaultReason {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `struct vm_operations_struct` of a [`VmOperations`] implementation.
///
/// Declare exactly one as a `static` per implementation: its address identifies the VMAs of the
/// driver, which [`VmOperationsTable::data`] relies on.
///
/// # Examples
///
/// ```
/// use kernel::mm::fault::{VmFault, VmFaultReason, VmOperations, VmOperationsTable};
/// use kernel::prelude::*;
///
/// struct Buffer;
///
/// #[vtable]
/// impl VmOperations for Buffer {
///     type Data = Buffer;
///
///     fn fault(_data: &Buffer, vmf: VmFault<'_>) -> VmFaultReason {
///         // Read-only mapping: write faults are refused.
///         if vmf.is_write() {
///             return VmFaultReason::SIGBUS;
///         }
///         VmFaultReason::SIGBUS
///     }
/// }
///
/// static BUFFER_VM_OPS: VmOperationsTable<Buffer> = VmOperationsTable::new();
/// ```
pub struct VmOperationsTable<T: VmOperations> {
    ops: bindings::vm_operations_struct,
    _p: PhantomData<T>,
}

// SAFETY: The table is immutable after construction and only holds function pointers.
unsafe impl<T: VmOperations> Sync for VmOperationsTable<T> {}

impl<T: VmOperations> VmOperationsTable<T> {
    /// Creates the table of `T`.
    // A table is meant to be a `static` built by this `const fn`, whose address identifies the
    // VMAs of the driver; a `Default` implementation would only invite temporary tables.
    #[expect(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            ops: bindings::vm_operations_struct {
                open: if T::HAS_OPEN {
                    Some(Self::open_callback)
                } else {
                    None
                },
                close: if T::HAS_CLOSE {
                    Some(Self::close_callback)
                } else {
                    None
                },
                fault: if T::HAS_FAULT {
                    Some(Self::fault_callback)
                } else {
                    None
                },
                ..pin_init::zeroed()
            },
            _p: PhantomData,
        }
    }

    /// Returns a raw pointer to the `struct vm_operations_struct`.
    #[inline]
    pub fn as_raw(&'static self) -> *const bindings::vm_operations_struct {
        &self.ops
    }

    /// Returns whether `vma` uses this table.
    #[inline]
    pub fn is_vma_of(&'static self, vma: &VmaRef) -> bool {
        // SAFETY: `vma` is valid and its read lock is held, by the invariants of `VmaRef`;
        // `vm_ops` only changes while the VMA is being set up under the mmap write lock.
        let vm_ops = unsafe { (*vma.as_ptr()).vm_ops };
        core::ptr::eq(vm_ops, self.as_raw())
    }

    /// Returns the data of `vma` if it is one of ours, that is if it uses this table.
    ///
    /// This is how a driver recognises its own VMA before touching it, for example after looking
    /// up an address in another process's address space.
    #[inline]
    pub fn data<'a>(&'static self, vma: &'a VmaRef) -> Option<&'a T::Data> {
        if !self.is_vma_of(vma) {
            return None;
        }
        // SAFETY: The VMA uses this table, which is only installed by `VmaNew::set_vm_ops`
        // together with `vm_private_data` pointing at a `T::Data` that stays valid until the VMA
        // is closed. `vma` is not closed while its read lock is held, which lasts for `'a`.
        Some(unsafe { &*(*vma.as_ptr()).vm_private_data.cast::<T::Data>() })
    }

    /// # Safety
    ///
    /// Only to be called by the mm core, as `vm_ops->open` of a VMA set up by
    /// [`VmaNew::set_vm_ops`] with this table.
    unsafe extern "C" fn open_callback(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The mm core passes a valid VMA with the mmap write lock held.
        let vma = unsafe { VmaRef::from_raw(vma) };
        // SAFETY: The VMA was copied from one set up by `VmaNew::set_vm_ops` with this table, and
        // `vm_private_data` was copied with it; the caller of `set_vm_ops` keeps the data valid
        // until the last such VMA is closed.
        let data = unsafe { &*(*vma.as_ptr()).vm_private_data.cast::<T::Data>() };
        T::open(data, vma);
    }

    /// # Safety
    ///
    /// Only to be called by the mm core, as `vm_ops->close` of a VMA set up by
    /// [`VmaNew::set_vm_ops`] with this table.
    unsafe extern "C" fn close_callback(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The mm core passes a valid VMA with the mmap write lock held (or the mm being
        // torn down, which excludes every other user).
        let vma = unsafe { VmaRef::from_raw(vma) };
        // SAFETY: As in `open_callback`; the data stays valid until after this call.
        let data = unsafe { &*(*vma.as_ptr()).vm_private_data.cast::<T::Data>() };
        T::close(data, vma);
    }

    /// # Safety
    ///
    /// Only to be called by the mm core, as `vm_ops->fault` of a VMA set up by
    /// [`VmaNew::set_vm_ops`] with this table.
    unsafe extern "C" fn fault_callback(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The mm core calls `->fault()` with a valid `vmf`, on this thread, holding the
        // mmap read lock or the VMA read lock until the handler returns.
        let vmf = unsafe { VmFault::from_raw(vmf) };
        // SAFETY: As in `open_callback`: the VMA uses this table, so `vm_private_data` points at
        // a `T::Data` that stays valid while the VMA exists, which it does while its read lock is
        // held.
        let data = unsafe { &*(*vmf.vma().as_ptr()).vm_private_data.cast::<T::Data>() };
        T::fault(data, vmf).as_raw()
    }
}

impl VmaNew {
    /// Sets the operations of this new VMA to `ops` and its `vm_private_data` to `data`.
    ///
    /// Afterwards, [`VmOperationsTable::data`] recognises this VMA and every VMA copied from it.
    ///
    /// # Safety
    ///
    /// `data` must stay valid until `close` has returned for this VMA and for every VMA the mm
    /// core copies from it (split, `mremap()`, `fork()` without `VM_DONTCOPY`), including when
    /// [`VmOperations::close`] is not implemented.
    ///
    /// The usual way to satisfy this is to have the data owned, directly or through a
    /// reference count, by the file being mapped (`file->private_data`), and dropped no earlier
    /// than the file's `release`: every VMA holds a reference to its `vm_file`, so `release`
    /// runs only after the last VMA mapping the file is closed.
    #[inline]
    pub unsafe fn set_vm_ops<T: VmOperations>(
        &self,
        ops: &'static VmOperationsTable<T>,
        data: &T::Data,
    ) {
        let vma = self.as_ptr();
        // SAFETY: The VMA is being set up in `f_ops->mmap()` by the invariants of `VmaNew`, so no
        // one else accesses it, and `VmaNew` is not `Sync`. The caller guarantees that `data`
        // outlives every VMA that will point at it.
        unsafe {
            (*vma).vm_ops = ops.as_raw();
            (*vma).vm_private_data = core::ptr::from_ref(data).cast_mut().cast();
        }
    }

    /// Sets the operations of this new VMA to `ops` and its `vm_private_data` to `data`, for
    /// data that lives forever.
    ///
    /// This is [`VmaNew::set_vm_ops`] for data whose lifetime trivially satisfies its contract,
    /// such as a `static`.
    #[inline]
    pub fn set_vm_ops_static<T: VmOperations>(
        &self,
        ops: &'static VmOperationsTable<T>,
        data: &'static T::Data,
    ) {
        // SAFETY: `data` is valid forever, so it outlives every VMA.
        unsafe { self.set_vm_ops(ops, data) };
    }
}
