// SPDX-License-Identifier: GPL-2.0-only

//! Kernel side of the `env` seam: the real kernel items the allocator core uses.
//!
//! This file and `env_user.rs` are the *only* difference between the kernel build and the Cargo
//! build of the core. Cargo never compiles this file; the kernel crate that includes the core
//! declares `#[path = ".../core/src/env_kernel.rs"] mod env;` at its root (see `README.md`).

pub(crate) use kernel::alloc::{
    flags,
    AllocError,
    Flags,
    KVec, //
};
pub(crate) use kernel::error::{
    code,
    Error,
    Result, //
};
pub(crate) use kernel::page::PAGE_SIZE;
