// SPDX-License-Identifier: GPL-2.0-only

//! Kernel-shaped lock wrappers over loom's primitives.
//!
//! The names follow the kernel's: [`Mutex`] for `struct mutex` (the allocator lock),
//! [`SpinLock`] for `spinlock_t` (the `list_lru` lock) and [`RwSem`] for the mmap lock
//! (`mmap_read_lock()`, `mmap_read_trylock()`, `mmap_write_lock()`). Loom explores every
//! interleaving of their acquisitions. No poisoning: a panic ends the model anyway.

#![forbid(unsafe_code)]

use loom::sync::{
    Mutex as LoomMutex,
    MutexGuard,
    RwLock,
    RwLockReadGuard,
    RwLockWriteGuard, //
};

/// `struct mutex`.
#[derive(Debug)]
pub struct Mutex<T>(LoomMutex<T>);

impl<T> Mutex<T> {
    /// `mutex_init()`.
    pub fn new(v: T) -> Self {
        Mutex(LoomMutex::new(v))
    }

    /// `mutex_lock()`.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `mutex_trylock()`.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock().ok()
    }
}

/// `spinlock_t`. Nothing that sleeps or allocates runs under it.
#[derive(Debug)]
pub struct SpinLock<T>(LoomMutex<T>);

impl<T> SpinLock<T> {
    /// `spin_lock_init()`.
    pub fn new(v: T) -> Self {
        SpinLock(LoomMutex::new(v))
    }

    /// `spin_lock()`.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The mmap lock (`struct rw_semaphore`).
#[derive(Debug)]
pub struct RwSem<T>(RwLock<T>);

impl<T> RwSem<T> {
    /// `init_rwsem()`.
    pub fn new(v: T) -> Self {
        RwSem(RwLock::new(v))
    }

    /// `mmap_read_lock()`.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// `mmap_read_trylock()`.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.0.try_read().ok()
    }

    /// `mmap_write_lock()`.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}
