// SPDX-License-Identifier: GPL-2.0

//! Read-only lookup of the pages mapped in another process's address space.
//!
//! [`MmapReadGuard::get_user_page_remote`] (`get_user_pages_remote()`) and
//! [`MmapReadGuard::pin_user_page_remote`] (`pin_user_pages_remote()`) return the page that a
//! user access to an address of a (possibly foreign) address space would reach at that instant,
//! holding a reference ([`UserPage`], dropped with `put_page()`) or a pin ([`PinnedUserPage`],
//! dropped with `unpin_user_page()`).
//!
//! # Read-only by construction
//!
//! No `FOLL_WRITE` is ever passed, and the returned types offer no way to write to the page. A
//! page obtained without `FOLL_WRITE` must not be written through the GUP reference: for an
//! anonymous page it may be shared copy-on-write with other processes (after `fork()` or KSM
//! merging), and for a page cache page the write would bypass dirty tracking. Asking for write
//! access is also refused for mappings that userspace cannot make writable: `check_vma_flags()`
//! in `mm/gup.c` fails `FOLL_WRITE` with `-EFAULT` when `VM_WRITE` is clear unless `FOLL_FORCE`
//! is given *and* the mapping is a copy-on-write one (`VM_MAYWRITE` set, `VM_SHARED` clear). A
//! driver that clears `VM_MAYWRITE` in its `mmap` hook (as binder does, to give userspace a
//! read-only view) therefore gets `-EFAULT` for any write lookup, even forced ones such as
//! `ptrace()` and `/proc/pid/mem` make.
//!
//! # When a read lookup followed by a kernel write is correct
//!
//! A driver that maps its *own* pages (allocated by it, inserted with `vm_insert_page()` or from
//! a `->fault()` handler, never anonymous, not in the page cache) may use a read lookup to find
//! out which page is mapped at an address, compare it with the page it owns
//! ([`UserPage::is_same_page`]), and then write to that page through its own reference. None of
//! the hazards above apply: the page is not shared copy-on-write (a read-only `VM_MIXEDMAP`
//! mapping without `VM_MAYWRITE` is never copied on write), and it has no dirty tracking or
//! writeback. The lookup only proves identity; the right to write comes from the driver's own
//! ownership of the page.
//!
//! # Locking and faults
//!
//! Lookups run under the target's mmap read lock ([`MmapReadGuard`]) and pass no `locked`
//! pointer to GUP, so the lock is never dropped during the lookup. Unless
//! [`GupFlags::NOFAULT`] is given, a missing page is faulted in, which calls the VMA's
//! `->fault()` handler in the caller's context with `FAULT_FLAG_REMOTE`: do not look up pages
//! while holding a lock that the handler takes.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h); `mm/gup.c`.

use crate::{
    bindings,
    error::{
        code::EFAULT,
        to_result,
        Result, //
    },
    ffi::{
        c_int,
        c_long,
        c_uint, //
    },
    mm::MmapReadGuard,
    page::BorrowedPage,
    page_ref::SharedPage,
};
use core::{
    ops::BitOr,
    ptr::{
        self,
        NonNull, //
    }, //
};

/// Flags of a read-only page lookup: a subset of `FOLL_*` without `FOLL_WRITE`.
///
/// # Examples
///
/// ```
/// use kernel::mm::gup::GupFlags;
///
/// let flags = GupFlags::NOFAULT | GupFlags::FORCE;
/// assert_eq!(flags.as_raw(), kernel::bindings::FOLL_NOFAULT | kernel::bindings::FOLL_FORCE);
/// // No combination of the flags asks for write access.
/// assert_eq!(flags.as_raw() & kernel::bindings::FOLL_WRITE, 0);
/// assert_eq!(GupFlags::default(), GupFlags::NONE);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GupFlags(c_uint);

impl GupFlags {
    /// No flag: fault the page in if it is not present.
    pub const NONE: Self = Self(0);

    /// `FOLL_NOFAULT`: do not fault the page in; fail with `EFAULT` if it is not mapped.
    ///
    /// Use it to observe what is mapped without side effects, for example to check a mapping
    /// without allocating memory through the VMA's `->fault()` handler.
    pub const NOFAULT: Self = Self(bindings::FOLL_NOFAULT);

    /// `FOLL_FORCE`: read the page even if the mapping is not readable, as long as it may be made
    /// readable (`VM_MAYREAD`), as `ptrace()` does.
    pub const FORCE: Self = Self(bindings::FOLL_FORCE);

    /// `FOLL_ANON`: fail with `EFAULT` unless the VMA is anonymous.
    pub const ANON: Self = Self(bindings::FOLL_ANON);

    /// `FOLL_HWPOISON`: return `EHWPOISON` rather than `EFAULT` for a poisoned page.
    pub const HWPOISON: Self = Self(bindings::FOLL_HWPOISON);

    /// Returns the raw `FOLL_*` flags.
    #[inline]
    pub const fn as_raw(self) -> c_uint {
        self.0
    }
}

impl BitOr for GupFlags {
    type Output = Self;

    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Converts the return value of a one-page GUP call.
fn gup_result(ret: c_long, page: *mut bindings::page) -> Result<NonNull<bindings::page>> {
    if ret < 0 {
        // GUP returns negative errnos in the range `to_result` accepts.
        to_result(ret as c_int)?;
    }
    if ret != 1 {
        return Err(EFAULT);
    }
    NonNull::new(page).ok_or(EFAULT)
}

impl MmapReadGuard<'_> {
    /// Looks up the page mapped at `addr` in this address space and takes a reference on it
    /// (`get_user_pages_remote()` of one page, without `FOLL_WRITE`).
    ///
    /// The address space may belong to another process. The returned page stays allocated until
    /// the [`UserPage`] is dropped, even after the lock is released, but it may be unmapped or
    /// replaced in the address space at any time: only the identity and contents at lookup time
    /// are known.
    ///
    /// Fails with `EFAULT` if nothing readable is mapped at `addr` (or, with
    /// [`GupFlags::NOFAULT`], if it is not present), and with the error of the fault handler
    /// otherwise.
    ///
    /// # Examples
    ///
    /// Whether a page the driver owns is what an address space maps at `addr`, without faulting
    /// anything in:
    ///
    /// ```
    /// use kernel::mm::{gup::GupFlags, MmWithUser};
    /// use kernel::page_ref::SharedPage;
    /// use kernel::prelude::*;
    ///
    /// fn maps_page_at(mm: &MmWithUser, addr: usize, page: &SharedPage) -> Result<bool> {
    ///     let guard = mm.mmap_read_lock();
    ///     match guard.get_user_page_remote(addr, GupFlags::NOFAULT) {
    ///         Ok(found) => Ok(found.is_same_page(page)),
    ///         // Nothing present at `addr`.
    ///         Err(e) if e == EFAULT => Ok(false),
    ///         Err(e) => Err(e),
    ///     }
    /// }
    ///
    /// // A kernel thread, such as the one running this example, has no address space to look in.
    /// assert!(kernel::current!().mm().is_none());
    /// # let _ = maps_page_at;
    /// ```
    pub fn get_user_page_remote(&self, addr: usize, flags: GupFlags) -> Result<UserPage> {
        let mut page: *mut bindings::page = ptr::null_mut();
        // SAFETY: By the invariants of `MmapReadGuard`, we hold the mmap read lock of an mm with
        // a non-zero user count. `page` has room for one page pointer. No `locked` pointer is
        // passed, so GUP does not release the lock. The flags are a subset of those valid for
        // this call and never include `FOLL_WRITE`.
        let ret = unsafe {
            bindings::get_user_pages_remote(
                self.mm.as_raw(),
                addr,
                1,
                flags.as_raw(),
                &mut page,
                ptr::null_mut(),
            )
        };
        let page = gup_result(ret, page)?;
        // INVARIANT: GUP succeeded for one page, so `page` is valid and we own the reference that
        // `FOLL_GET` (implied by passing `pages`) took on it.
        Ok(UserPage { page })
    }

    /// Looks up the page mapped at `addr` in this address space and pins it
    /// (`pin_user_pages_remote()` of one page, without `FOLL_WRITE` nor `FOLL_LONGTERM`).
    ///
    /// As [`MmapReadGuard::get_user_page_remote`], but the page is pinned (`FOLL_PIN`): the pin
    /// is visible to the mm core (`folio_maybe_dma_pinned()`), which for example refuses to
    /// migrate the page. Use it when the page is accessed while the mapping may change under
    /// you, such as for DMA; a short-lived check only needs a reference.
    pub fn pin_user_page_remote(&self, addr: usize, flags: GupFlags) -> Result<PinnedUserPage> {
        let mut page: *mut bindings::page = ptr::null_mut();
        // SAFETY: As in `get_user_page_remote`; `pin_user_pages_remote()` adds `FOLL_PIN`.
        let ret = unsafe {
            bindings::pin_user_pages_remote(
                self.mm.as_raw(),
                addr,
                1,
                flags.as_raw(),
                &mut page,
                ptr::null_mut(),
            )
        };
        let page = gup_result(ret, page)?;
        // INVARIANT: GUP succeeded for one page, so `page` is valid and pinned on our behalf.
        Ok(PinnedUserPage { page })
    }
}

/// A page found by [`MmapReadGuard::get_user_page_remote`], holding a reference on it.
///
/// Dropping it releases the reference with `put_page()`. It gives read access only.
///
/// # Invariants
///
/// `page` is valid and this object owns one reference on it, taken by GUP with `FOLL_GET`.
pub struct UserPage {
    page: NonNull<bindings::page>,
}

// SAFETY: `put_page()` may be called from any thread.
unsafe impl Send for UserPage {}

// SAFETY: The methods of `&UserPage` only read the page pointer, or the contents under the
// caller's responsibility.
unsafe impl Sync for UserPage {}

impl UserPage {
    /// Returns a raw pointer to the page.
    #[inline]
    pub fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Returns whether this is the same `struct page` as `page`.
    ///
    /// This is how a driver checks that an address maps the page it owns.
    #[inline]
    pub fn is_same_page(&self, page: &SharedPage) -> bool {
        page.is_same_page(self.as_ptr())
    }

    /// Copies `len` bytes at `offset` in the page to `dst`.
    ///
    /// Fails with `EINVAL` if the range is outside the page.
    ///
    /// # Safety
    ///
    /// `dst` must be valid for writes of `len` bytes. There must be no concurrent write to the
    /// range of the page: userspace may write to it through a writable mapping, so this is for
    /// pages the caller knows to be stable, such as pages mapped read-only by its own driver.
    #[inline]
    pub unsafe fn read_raw(&self, dst: *mut u8, offset: usize, len: usize) -> Result {
        // SAFETY: By the type invariants, the page is valid while `self` is borrowed.
        let page = unsafe { BorrowedPage::from_raw(self.page) };
        // SAFETY: The caller guarantees the requirements of `Page::read_raw`.
        unsafe { page.read_raw(dst, offset, len) }
    }
}

impl Drop for UserPage {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariants, we own a reference taken with `FOLL_GET`, which is
        // released with `put_page()`.
        unsafe { bindings::put_page(self.page.as_ptr()) };
    }
}

/// A page found by [`MmapReadGuard::pin_user_page_remote`], holding a pin on it.
///
/// Dropping it releases the pin with `unpin_user_page()`. It gives read access only.
///
/// # Invariants
///
/// `page` is valid and this object owns one pin on it, taken by GUP with `FOLL_PIN`.
pub struct PinnedUserPage {
    page: NonNull<bindings::page>,
}

// SAFETY: `unpin_user_page()` may be called from any thread.
unsafe impl Send for PinnedUserPage {}

// SAFETY: The methods of `&PinnedUserPage` only read the page pointer, or the contents under the
// caller's responsibility.
unsafe impl Sync for PinnedUserPage {}

impl PinnedUserPage {
    /// Returns a raw pointer to the page.
    #[inline]
    pub fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Returns whether this is the same `struct page` as `page`.
    #[inline]
    pub fn is_same_page(&self, page: &SharedPage) -> bool {
        page.is_same_page(self.as_ptr())
    }

    /// Copies `len` bytes at `offset` in the page to `dst`.
    ///
    /// Fails with `EINVAL` if the range is outside the page.
    ///
    /// # Safety
    ///
    /// As for [`UserPage::read_raw`].
    #[inline]
    pub unsafe fn read_raw(&self, dst: *mut u8, offset: usize, len: usize) -> Result {
        // SAFETY: By the type invariants, the page is valid while `self` is borrowed.
        let page = unsafe { BorrowedPage::from_raw(self.page) };
        // SAFETY: The caller guarantees the requirements of `Page::read_raw`.
        unsafe { page.read_raw(dst, offset, len) }
    }
}

impl Drop for PinnedUserPage {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariants, we own a pin taken with `FOLL_PIN`, which is released
        // with `unpin_user_page()`.
        unsafe { bindings::unpin_user_page(self.page.as_ptr()) };
    }
}

#[macros::kunit_tests(rust_mm_fault_gup)]
mod tests {
    use super::*;
    use crate::{
        alloc::flags::GFP_KERNEL,
        error::{
            code::EPERM,
            from_err_ptr, //
        },
        ffi::c_ulong,
        mm::{
            fault::{
                VmFault,
                VmFaultReason,
                VmOperations,
                VmOperationsTable, //
            },
            virt::{
                flags,
                VmaNew,
                VmaRef, //
            },
        },
        page::PAGE_SIZE,
        prelude::*,
        sync::aref::ARef,
        uaccess::{
            UserPtr,
            UserSlice, //
        },
    };
    use core::sync::atomic::{
        AtomicPtr,
        AtomicU32,
        Ordering, //
    };

    // From `include/uapi/asm-generic/mman-common.h` and `include/uapi/linux/mman.h`.
    const PROT_READ: c_ulong = 0x1;
    const MAP_SHARED: c_ulong = 0x01;

    /// The pages of the test mapping and what its operations observed.
    ///
    /// Page 0 is inserted from the fault handler, page 1 is returned in `vmf->page`; an empty
    /// slot is a hole, which gets `SIGBUS`.
    struct TestMapping {
        pages: [AtomicPtr<bindings::page>; 2],
        faults: AtomicU32,
        opens: AtomicU32,
        closes: AtomicU32,
    }

    #[vtable]
    impl VmOperations for TestMapping {
        type Data = TestMapping;

        fn open(data: &TestMapping, _vma: &VmaRef) {
            data.opens.fetch_add(1, Ordering::Relaxed);
        }

        fn close(data: &TestMapping, _vma: &VmaRef) {
            data.closes.fetch_add(1, Ordering::Relaxed);
        }

        fn fault(data: &TestMapping, vmf: VmFault<'_>) -> VmFaultReason {
            data.faults.fetch_add(1, Ordering::Relaxed);
            if vmf.is_write() {
                return VmFaultReason::SIGBUS;
            }
            let Some(slot) = data.pages.get(vmf.pgoff()) else {
                return VmFaultReason::SIGBUS;
            };
            let page = slot.load(Ordering::Acquire);
            if page.is_null() {
                return VmFaultReason::SIGBUS;
            }
            // SAFETY: The test holds a reference on the pages it publishes in `MAPPING` until it
            // has unmapped the mapping and cleared the slots.
            let page = unsafe { SharedPage::from_raw(page) };
            if vmf.pgoff() == 0 {
                vmf.insert_page(&page.as_page())
            } else {
                vmf.set_page(ARef::from(page))
            }
        }
    }

    static MAPPING: TestMapping = TestMapping {
        pages: [
            AtomicPtr::new(ptr::null_mut()),
            AtomicPtr::new(ptr::null_mut()),
        ],
        faults: AtomicU32::new(0),
        opens: AtomicU32::new(0),
        closes: AtomicU32::new(0),
    };

    static TEST_VM_OPS: VmOperationsTable<TestMapping> = VmOperationsTable::new();

    /// `f_op->mmap` of the test file: a read-only mixed map with the test operations, set up as
    /// binder sets up its mapping.
    ///
    /// # Safety
    ///
    /// Only to be called by the mm core as `f_op->mmap`.
    unsafe extern "C" fn test_mmap(
        _file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The mm core calls `f_op->mmap` with a VMA that is being set up.
        let vma = unsafe { VmaNew::from_raw(vma) };
        if vma.try_clear_maywrite().is_err() {
            return EPERM.to_errno();
        }
        vma.set_dontcopy();
        vma.set_mixedmap();
        vma.set_vm_ops_static(&TEST_VM_OPS, &MAPPING);
        0
    }

    struct FileOps(bindings::file_operations);

    // SAFETY: The table is immutable and only holds function pointers.
    unsafe impl Sync for FileOps {}

    static TEST_FOPS: FileOps = FileOps(bindings::file_operations {
        mmap: Some(test_mmap),
        ..pin_init::zeroed()
    });

    /// Maps two pages of a file using the test operations in the test thread's address space.
    fn map_test_file() -> Result<usize> {
        // SAFETY: The name is a valid string and `TEST_FOPS` is a static.
        let file = from_err_ptr(unsafe {
            bindings::anon_inode_getfile(
                c"rust-kunit-fault".as_char_ptr(),
                &TEST_FOPS.0,
                ptr::null_mut(),
                bindings::O_RDONLY as c_int,
            )
        })?;
        // SAFETY: We are running in a KUnit test; the file is valid. The mapping is unmapped
        // when the test ends, or earlier by the test.
        let addr = unsafe {
            bindings::kunit_vm_mmap(
                bindings::kunit_get_current_test(),
                file,
                0,
                2 * PAGE_SIZE,
                PROT_READ,
                MAP_SHARED,
                0,
            )
        };
        // SAFETY: The mapping holds its own reference on the file.
        unsafe { bindings::fput(file) };
        // `kunit_vm_mmap()` returns 0 or an error value on failure.
        if addr == 0 || addr > usize::MAX - bindings::MAX_ERRNO as usize {
            return Err(ENOMEM);
        }
        Ok(addr)
    }

    fn fill(page: &SharedPage, byte: u8) -> Result {
        let buf = [byte; 64];
        // SAFETY: The page is not mapped yet; `buf` is valid for reads.
        unsafe { page.as_page().write_raw(buf.as_ptr(), 0, buf.len()) }
    }

    #[test]
    fn fault_inserts_or_returns_pages_and_gup_finds_them() -> Result {
        let page0 = SharedPage::alloc(GFP_KERNEL | __GFP_ZERO)?;
        let page1 = SharedPage::alloc(GFP_KERNEL | __GFP_ZERO)?;
        fill(&page0, 0xa0)?;
        fill(&page1, 0xa1)?;
        MAPPING.pages[0].store(page0.as_ptr(), Ordering::Release);
        MAPPING.pages[1].store(page1.as_ptr(), Ordering::Release);
        MAPPING.faults.store(0, Ordering::Relaxed);
        MAPPING.opens.store(0, Ordering::Relaxed);
        MAPPING.closes.store(0, Ordering::Relaxed);

        let addr = map_test_file()?;
        let task = crate::current!();
        let mm = task.mm().ok_or(EINVAL)?;

        {
            let guard = mm.mmap_read_lock();
            let vma = guard.vma_lookup(addr).ok_or(EFAULT)?;
            // The VMA is recognised as ours, with our data.
            let data = TEST_VM_OPS.data(vma).ok_or(EINVAL)?;
            assert!(ptr::eq(data, &MAPPING));
            assert!(vma.flags() & flags::MIXEDMAP != 0);
            assert!(vma.flags() & flags::MAYWRITE == 0);

            // Nothing is mapped yet: a lookup without faulting fails and calls no handler.
            assert_eq!(
                guard.get_user_page_remote(addr, GupFlags::NOFAULT).err(),
                Some(EFAULT)
            );
            assert_eq!(MAPPING.faults.load(Ordering::Relaxed), 0);

            // A lookup that may fault calls the handler, which inserts page 0.
            let found = guard.get_user_page_remote(addr, GupFlags::NONE)?;
            assert!(found.is_same_page(&page0));
            assert_eq!(MAPPING.faults.load(Ordering::Relaxed), 1);
            drop(found);

            // Now it is mapped: found without faulting, and pinnable.
            let found = guard.get_user_page_remote(addr, GupFlags::NOFAULT)?;
            assert!(found.is_same_page(&page0));
            let pinned = guard.pin_user_page_remote(addr, GupFlags::NOFAULT)?;
            assert!(pinned.is_same_page(&page0));
            let mut head = [0u8; 4];
            // SAFETY: The page is mapped read-only and not written by anyone during the test.
            unsafe { pinned.read_raw(head.as_mut_ptr(), 0, head.len())? };
            assert_eq!(head, [0xa0; 4]);
            assert_eq!(MAPPING.faults.load(Ordering::Relaxed), 1);
            drop(pinned);
            drop(found);

            // A write lookup is refused: `VM_MAYWRITE` is clear, so even `FOLL_FORCE` fails.
            let mut page: *mut bindings::page = ptr::null_mut();
            // SAFETY: We hold the mmap read lock; one page pointer fits in `page`.
            let ret = unsafe {
                bindings::get_user_pages_remote(
                    mm.as_raw(),
                    addr,
                    1,
                    bindings::FOLL_WRITE | bindings::FOLL_FORCE,
                    &mut page,
                    ptr::null_mut(),
                )
            };
            assert_eq!(ret, EFAULT.to_errno() as c_long);
        }
        // The page table holds a reference on page 0.
        assert_eq!(page0.page_count(), 2);

        // A user access to page 1 faults; the handler returns it in `vmf->page`.
        let mut buf = [0u8; 8];
        UserSlice::new(UserPtr::from_addr(addr + PAGE_SIZE), buf.len())
            .reader()
            .read_slice(&mut buf)?;
        assert_eq!(buf, [0xa1; 8]);
        assert_eq!(MAPPING.faults.load(Ordering::Relaxed), 2);
        assert_eq!(page1.page_count(), 2);
        {
            let guard = mm.mmap_read_lock();
            let found = guard.get_user_page_remote(addr + PAGE_SIZE, GupFlags::NOFAULT)?;
            assert!(found.is_same_page(&page1));
        }

        // Unmapping page 0 splits the VMA: the mm core opens the copy that keeps page 1 and
        // closes the original. The page table's reference on page 0 is dropped.
        assert_eq!(MAPPING.opens.load(Ordering::Relaxed), 0);
        // SAFETY: The range is part of the test mapping in the current address space.
        let ret = unsafe { bindings::vm_munmap(addr, PAGE_SIZE) };
        assert_eq!(ret, 0);
        assert_eq!(MAPPING.opens.load(Ordering::Relaxed), 1);
        assert_eq!(MAPPING.closes.load(Ordering::Relaxed), 1);
        assert_eq!(page0.page_count(), 1);
        assert_eq!(page1.page_count(), 2);

        // SAFETY: The range is the rest of the test mapping.
        let ret = unsafe { bindings::vm_munmap(addr + PAGE_SIZE, PAGE_SIZE) };
        assert_eq!(ret, 0);
        assert_eq!(MAPPING.closes.load(Ordering::Relaxed), 2);
        assert_eq!(page1.page_count(), 1);

        MAPPING.pages[0].store(ptr::null_mut(), Ordering::Release);
        MAPPING.pages[1].store(ptr::null_mut(), Ordering::Release);
        Ok(())
    }

    #[test]
    fn a_hole_gets_sigbus() -> Result {
        MAPPING.pages[0].store(ptr::null_mut(), Ordering::Release);
        MAPPING.pages[1].store(ptr::null_mut(), Ordering::Release);
        MAPPING.faults.store(0, Ordering::Relaxed);

        let addr = map_test_file()?;
        let task = crate::current!();
        let mm = task.mm().ok_or(EINVAL)?;

        // A lookup that may fault calls the handler once; its SIGBUS comes back as EFAULT.
        {
            let guard = mm.mmap_read_lock();
            assert_eq!(
                guard.get_user_page_remote(addr, GupFlags::NONE).err(),
                Some(EFAULT)
            );
            assert_eq!(MAPPING.faults.load(Ordering::Relaxed), 1);
            assert_eq!(
                guard
                    .pin_user_page_remote(addr + PAGE_SIZE, GupFlags::NONE)
                    .err(),
                Some(EFAULT)
            );
            assert_eq!(MAPPING.faults.load(Ordering::Relaxed), 2);
        }

        // A user access to the hole fails the same way. The uaccess code may retry the access
        // (x86 copies the tail byte by byte after a fault), so the handler runs at least once.
        let mut buf = [0u8; 8];
        let read = UserSlice::new(UserPtr::from_addr(addr), buf.len())
            .reader()
            .read_slice(&mut buf);
        assert_eq!(read.err(), Some(EFAULT));
        let faults = MAPPING.faults.load(Ordering::Relaxed);
        assert!(faults > 2);

        // Nothing was mapped: a lookup without faulting still fails, and calls no handler.
        {
            let guard = mm.mmap_read_lock();
            assert_eq!(
                guard.get_user_page_remote(addr, GupFlags::NOFAULT).err(),
                Some(EFAULT)
            );
        }
        assert_eq!(MAPPING.faults.load(Ordering::Relaxed), faults);
        Ok(())
    }
}
