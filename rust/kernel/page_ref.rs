// SPDX-License-Identifier: GPL-2.0

//! Reference-counted pages.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h) (`get_page()`, `put_page()`) and
//! [`include/linux/page_ref.h`](srctree/include/linux/page_ref.h).

use crate::{
    alloc::{
        AllocError,
        Flags, //
    },
    bindings,
    page::{
        BorrowedPage,
        Page, //
    },
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};
use core::{
    mem::ManuallyDrop,
    ptr::NonNull, //
};

/// A `struct page` whose lifetime is governed by its reference count.
///
/// [`Page`] owns its page outright and frees it with `__free_pages()` when dropped. That is right
/// as long as nothing else can reach the page, but not once the page is shared: a page inserted
/// into a user page table is referenced by the page table, and a `->fault()` handler that returns
/// a page in `vmf->page` hands a reference over to the mm core. [`SharedPage`] is for those
/// cases. An `ARef<SharedPage>` owns one reference: cloning it calls `get_page()` and dropping it
/// calls `put_page()`. The page is freed when its last reference is dropped, whoever holds it.
///
/// The contents are accessed through [`SharedPage::as_page`], which gives the methods of
/// [`Page`] (`read_raw`, `write_raw`, ...) without their promise of sole ownership: the caller of
/// those unsafe methods remains responsible for ruling out concurrent access, which includes
/// access by userspace through a mapping of the page.
///
/// # Invariants
///
/// The page is valid and is neither a slab page nor a large kmalloc page (those ignore
/// `get_page()` and `put_page()`). Instances only exist behind a reference while a reference
/// count on the page is held, so the page is not freed while a `&SharedPage` exists.
///
/// # Examples
///
/// ```
/// use kernel::page_ref::SharedPage;
///
/// let page = SharedPage::alloc(GFP_KERNEL)?;
/// assert_eq!(page.page_count(), 1);
///
/// let other = page.clone();
/// assert_eq!(page.page_count(), 2);
///
/// drop(other);
/// assert_eq!(page.page_count(), 1);
/// # Ok::<(), kernel::alloc::AllocError>(())
/// ```
#[repr(transparent)]
pub struct SharedPage {
    page: Opaque<bindings::page>,
}

// SAFETY: `get_page()` and `put_page()` may be called from any thread.
unsafe impl Send for SharedPage {}

// SAFETY: All methods of `SharedPage` may be called concurrently from several threads; the
// methods that access the contents of the page are unsafe and leave races to their callers.
unsafe impl Sync for SharedPage {}

// SAFETY: By the type invariants, a `SharedPage` is always reference counted, and
// `get_page()`/`put_page()` act on that count for the pages this type admits.
unsafe impl AlwaysRefCounted for SharedPage {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The page is valid since `self` is a reference, and its count is non-zero by the
        // type invariants.
        unsafe { bindings::get_page(self.as_ptr()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference, as required by `put_page()`.
        unsafe { bindings::put_page(obj.cast().as_ptr()) };
    }
}

impl SharedPage {
    /// Allocates a new order-0 page and returns the only reference to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::page_ref::SharedPage;
    ///
    /// let page = SharedPage::alloc(GFP_KERNEL | __GFP_ZERO)?;
    /// # Ok::<(), kernel::alloc::AllocError>(())
    /// ```
    #[inline]
    pub fn alloc(flags: Flags) -> Result<ARef<Self>, AllocError> {
        Ok(Self::from_page(Page::alloc_page(flags)?))
    }

    /// Converts a [`Page`] into a reference-counted page.
    ///
    /// The allocation reference that `page` owned becomes the reference owned by the returned
    /// [`ARef`]; no reference count is changed.
    #[inline]
    pub fn from_page(page: Page) -> ARef<Self> {
        let page = ManuallyDrop::new(page);
        // SAFETY: `Page` owns an order-0 page allocated by `alloc_pages()`, which is neither a slab
        // nor a large kmalloc page, and its ownership is the single reference of the allocation.
        // For an order-0 page, the `__free_pages(page, 0)` that `Page` would have called and the
        // `put_page()` that `ARef` calls both drop that reference and free the page if it was the
        // last one. `ManuallyDrop` makes sure that only the latter happens.
        unsafe { ARef::from_raw(NonNull::new_unchecked(page.as_ptr().cast())) }
    }

    /// Creates a reference to a page from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid page that is neither a slab page nor a large kmalloc page, and
    /// the caller must hold a reference count on it for the duration of `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::page) -> &'a Self {
        // SAFETY: The caller guarantees that the page is valid and referenced for `'a`. The layout
        // is compatible because of `#[repr(transparent)]`.
        unsafe { &*ptr.cast() }
    }

    /// Returns a raw pointer to the page.
    #[inline]
    pub fn as_ptr(&self) -> *mut bindings::page {
        self.page.get()
    }

    /// Returns the reference count of the page, as `page_count()` does.
    ///
    /// The value is a snapshot and can change concurrently; it is meant for tests, debugging and
    /// heuristics, never for deciding whether a page is free.
    #[inline]
    pub fn page_count(&self) -> i32 {
        // SAFETY: The page is valid since `self` is a reference.
        unsafe { bindings::page_count(self.as_ptr()) }
    }

    /// Borrows the page as a [`Page`], to use the methods that access its contents.
    ///
    /// The borrow does not own the page; the reference that keeps the page alive is the one that
    /// keeps `self` alive.
    #[inline]
    pub fn as_page(&self) -> BorrowedPage<'_> {
        // SAFETY: The page is valid and referenced for as long as `self` is borrowed, by the type
        // invariants. `as_ptr()` is never null.
        unsafe { BorrowedPage::from_raw(NonNull::new_unchecked(self.as_ptr())) }
    }

    /// Returns whether `self` and `other` are the same `struct page`.
    #[inline]
    pub fn is_same_page(&self, other: *const bindings::page) -> bool {
        core::ptr::eq(self.as_ptr().cast_const(), other)
    }
}

#[macros::kunit_tests(rust_page_ref)]
mod tests {
    use super::*;
    use crate::{
        alloc::flags::GFP_KERNEL,
        page::PAGE_SIZE,
        prelude::*, //
    };

    #[test]
    fn clone_takes_and_drop_puts_a_reference() -> Result {
        let page = SharedPage::alloc(GFP_KERNEL)?;
        assert_eq!(page.page_count(), 1);

        let second = page.clone();
        let third = ARef::from(&*page);
        assert_eq!(page.page_count(), 3);
        assert!(second.is_same_page(page.as_ptr()));

        drop(second);
        drop(third);
        assert_eq!(page.page_count(), 1);
        Ok(())
    }

    #[test]
    fn from_page_keeps_the_single_allocation_reference() -> Result {
        let page = Page::alloc_page(GFP_KERNEL)?;
        let raw = page.as_ptr();
        let shared = SharedPage::from_page(page);
        assert!(shared.is_same_page(raw));
        assert_eq!(shared.page_count(), 1);
        Ok(())
    }

    #[test]
    fn contents_are_reachable_through_as_page() -> Result {
        let page = SharedPage::alloc(GFP_KERNEL | __GFP_ZERO)?;
        let pattern = [0xa5u8; 16];
        let mut out = [0u8; 16];

        // SAFETY: The page was just allocated and is not shared; the buffers are valid.
        unsafe {
            page.as_page()
                .write_raw(pattern.as_ptr(), PAGE_SIZE - 16, 16)?;
            page.as_page()
                .read_raw(out.as_mut_ptr(), PAGE_SIZE - 16, 16)?;
        }
        assert_eq!(out, pattern);

        // Out-of-bounds accesses are refused.
        // SAFETY: As above.
        let res = unsafe { page.as_page().read_raw(out.as_mut_ptr(), PAGE_SIZE - 8, 16) };
        assert!(res.is_err());
        Ok(())
    }
}
