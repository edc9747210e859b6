// SPDX-License-Identifier: GPL-2.0-only

//! Userspace stand-ins for the kernel items the allocator core uses.
//!
//! This file and `env_kernel.rs` are the *only* difference between the Cargo build and the
//! kernel build of the core. Every item here has the name, the path role and the signature of
//! the kernel item that `env_kernel.rs` re-exports in its place (checked against
//! `rust/kernel/error.rs`, `rust/kernel/alloc.rs`, `rust/kernel/alloc/kvec.rs` and
//! `rust/kernel/page.rs` of Linux 7.3), restricted to the small subset the core calls. Code in
//! the core imports these items only through `crate::env`, never from `std` or `kernel`.
//!
//! Allocation failure cannot be injected here: `std` aborts on out-of-memory, so every fallible
//! allocation of the stand-ins returns `Ok`.

#![forbid(unsafe_code)]

use core::num::NonZeroI32;
use core::ops::{Deref, DerefMut};

/// Stand-in for `kernel::page::PAGE_SIZE` (4 KiB, as on every architecture binder targets).
pub const PAGE_SIZE: usize = 4096;

/// Stand-in for `kernel::alloc::AllocError`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AllocError;

/// Stand-in for `kernel::alloc::Flags` (GFP flags; ignored in userspace).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Flags(u32);

/// Stand-in for `kernel::alloc::flags`.
pub mod flags {
    use super::Flags;

    /// Stand-in for `kernel::alloc::flags::GFP_KERNEL`.
    pub const GFP_KERNEL: Flags = Flags(0x1);
    /// Stand-in for `kernel::alloc::flags::GFP_NOWAIT`.
    pub const GFP_NOWAIT: Flags = Flags(0x2);
}

/// Stand-in for `kernel::error::Error`: a negative errno.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Error(NonZeroI32);

impl Error {
    /// Same as `kernel::error::Error::to_errno`: the negative errno.
    pub fn to_errno(self) -> i32 {
        self.0.get()
    }

    /// Same as `kernel::error::Error::from_errno`: invalid values become `EINVAL`.
    pub fn from_errno(errno: i32) -> Error {
        match NonZeroI32::new(errno) {
            Some(e) if errno < 0 && errno > -4096 => Error(e),
            _ => code::EINVAL,
        }
    }

    /// Same as `kernel::error::Error::name` (the kernel returns `Option<&'static CStr>`;
    /// userspace has no `CStr` of its own, so this returns `&str`).
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.to_errno() {
            -1 => "EPERM",
            -3 => "ESRCH",
            -12 => "ENOMEM",
            -16 => "EBUSY",
            -22 => "EINVAL",
            -28 => "ENOSPC",
            _ => return None,
        })
    }
}

impl core::fmt::Debug for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Error({})", self.to_errno()),
        }
    }
}

impl From<AllocError> for Error {
    fn from(_: AllocError) -> Error {
        code::ENOMEM
    }
}

/// Stand-in for `kernel::error::Result`.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

/// Stand-in for `kernel::error::code`.
pub mod code {
    use super::Error;
    use core::num::NonZeroI32;

    macro_rules! declare_err {
        ($name:ident, $errno:literal) => {
            #[doc = concat!("Stand-in for `kernel::error::code::", stringify!($name), "`.")]
            pub const $name: Error = match NonZeroI32::new(-$errno) {
                Some(e) => Error(e),
                None => panic!(),
            };
        };
    }

    declare_err!(EPERM, 1);
    declare_err!(ESRCH, 3);
    declare_err!(ENOMEM, 12);
    declare_err!(EBUSY, 16);
    declare_err!(EINVAL, 22);
    declare_err!(ENOSPC, 28);
}

/// Stand-in for `kernel::alloc::KVec<T>` (`Vec<T, Kmalloc>`), restricted to the methods the
/// core uses, with the kernel's signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KVec<T>(std::vec::Vec<T>);

// Like the kernel's, without requiring `T: Default` (a derive would).
impl<T> Default for KVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> KVec<T> {
    /// Same as `KVec::new`.
    pub const fn new() -> Self {
        KVec(std::vec::Vec::new())
    }

    /// Same as `KVec::with_capacity`.
    pub fn with_capacity(capacity: usize, _flags: Flags) -> Result<Self, AllocError> {
        Ok(KVec(std::vec::Vec::with_capacity(capacity)))
    }

    /// Same as `KVec::push`.
    pub fn push(&mut self, v: T, _flags: Flags) -> Result<(), AllocError> {
        self.0.push(v);
        Ok(())
    }

    /// Same as `KVec::reserve`.
    pub fn reserve(&mut self, additional: usize, _flags: Flags) -> Result<(), AllocError> {
        self.0.reserve(additional);
        Ok(())
    }

    /// Same as `KVec::len`.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Same as `KVec::is_empty`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Same as `KVec::capacity`.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Same as `KVec::pop`.
    pub fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// Same as `KVec::clear`.
    pub fn clear(&mut self) {
        self.0.clear()
    }
}

impl<T: Clone> KVec<T> {
    /// Same as `KVec::from_elem`.
    pub fn from_elem(value: T, n: usize, _flags: Flags) -> Result<Self, AllocError> {
        Ok(KVec(std::vec::from_elem(value, n)))
    }
}

impl<T> Deref for KVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for KVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}
