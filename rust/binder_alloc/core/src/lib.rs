// SPDX-License-Identifier: GPL-2.0-only

//! The pure core of the fault-driven binder buffer allocator.
//!
//! No `unsafe`, no locks, no kernel imports: the range allocator with C 7.3's exact semantics
//! ([`range`]), the red-black tree it needs for C's placement ([`rbtree`]) and the page-state
//! machine ([`page`]). Everything the core takes from its environment comes through the one
//! module `env`: userspace stand-ins here (`env_user.rs`), the real kernel items in the kernel
//! build (`env_kernel.rs`, see `README.md`).

#![forbid(unsafe_code)]

#[path = "env_user.rs"]
mod env;

pub mod page;
pub mod range;
pub mod rbtree;

pub use env::{code, flags, AllocError, Error, Flags, KVec, Result, PAGE_SIZE};
