// SPDX-License-Identifier: GPL-2.0-only

//! Python bindings of the allocator core, imported as `pytools._core`.
//!
//! Errors come back as `OSError(errno, name)` with the positive errno, so Python can compare
//! them with `errno.ENOSPC` and friends. Page events and actions, and page states, are strings
//! named like the Rust enum variants (`"Allocate"`, `"MapIntoVma"`, `"Lru"`, ...).

#![forbid(unsafe_code)]

use binder_alloc_core::flags::GFP_KERNEL;
use binder_alloc_core::page::{PageActions, PageEvent, PageState};
use binder_alloc_core::range::{self, BufferRequest, NodeReserve};
use binder_alloc_core::{Error, PAGE_SIZE};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

fn os_error(e: Error) -> PyErr {
    PyOSError::new_err((-e.to_errno(), e.name().unwrap_or("E?")))
}

fn state_name(s: PageState) -> &'static str {
    match s {
        PageState::Absent => "Absent",
        PageState::InUse => "InUse",
        PageState::Lru => "Lru",
        PageState::Reclaiming => "Reclaiming",
    }
}

fn action_names(a: PageActions) -> Vec<String> {
    a.iter().map(|a| format!("{a:?}")).collect()
}

fn parse_event(name: &str) -> PyResult<PageEvent> {
    Ok(match name {
        "Allocate" => PageEvent::Allocate,
        "Installed" => PageEvent::Installed,
        "Free" => PageEvent::Free,
        "Fault" => PageEvent::Fault { write: false },
        "WriteFault" => PageEvent::Fault { write: true },
        "Isolate" => PageEvent::Isolate,
        "ReclaimDone" => PageEvent::ReclaimDone,
        "Teardown" => PageEvent::Teardown,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown page event {name:?}"
            )))
        }
    })
}

/// One binder process's allocator (`struct binder_alloc` after a successful mmap).
#[pyclass(module = "pytools._core")]
struct Allocator {
    inner: range::Allocator,
}

#[pymethods]
impl Allocator {
    /// A mapping of `buffer_size` bytes (page aligned, at most 4 MiB).
    #[new]
    fn new(buffer_size: usize) -> PyResult<Self> {
        Ok(Allocator {
            inner: range::Allocator::new(buffer_size, GFP_KERNEL).map_err(os_error)?,
        })
    }

    /// `binder_alloc_new_buf()`: returns a dict with `offset`, `size`, `spam`, `lru_del` and
    /// `install` (page index lists); raises `OSError` with the errno.
    #[pyo3(signature = (data_size, offsets_size=0, extra_buffers_size=0, is_async=false, pid=0))]
    fn new_buf(
        &mut self,
        py: Python<'_>,
        data_size: usize,
        offsets_size: usize,
        extra_buffers_size: usize,
        is_async: bool,
        pid: i32,
    ) -> PyResult<PyObject> {
        let req = BufferRequest {
            data_size,
            offsets_size,
            extra_buffers_size,
            is_async,
        };
        let mut reserve = NodeReserve::for_hint(self.inner.reserve_hint(&req), GFP_KERNEL)
            .map_err(|e| os_error(e.into()))?;
        let nb = self
            .inner
            .new_buf(&req, pid, &mut reserve)
            .map_err(os_error)?;
        let d = pyo3::types::PyDict::new(py);
        d.set_item("offset", nb.offset)?;
        d.set_item("size", nb.size)?;
        d.set_item("spam", nb.oneway_spam_suspect)?;
        d.set_item("lru_del", nb.lru_del.collect::<Vec<_>>())?;
        d.set_item("install", nb.install.collect::<Vec<_>>())?;
        Ok(d.into_any().unbind())
    }

    /// `binder_alloc_free_buf()`: returns the page indices put back on the LRU path.
    fn free_buf(&mut self, offset: usize) -> PyResult<Vec<usize>> {
        Ok(self
            .inner
            .free_buf(offset)
            .map_err(os_error)?
            .iter()
            .collect())
    }

    /// `binder_alloc_prepare_to_free()`: the buffer's offset, `None`, or `OSError(EPERM)`.
    fn prepare_to_free(&mut self, offset: usize) -> PyResult<Option<usize>> {
        Ok(self
            .inner
            .prepare_to_free(offset)
            .map_err(os_error)?
            .map(|b| b.offset))
    }

    /// Sets `allow_user_free` of the allocated buffer at `offset`.
    #[pyo3(signature = (offset, allow=true))]
    fn set_allow_user_free(&mut self, offset: usize, allow: bool) -> PyResult<()> {
        self.inner
            .set_allow_user_free(offset, allow)
            .map_err(os_error)
    }

    /// `binder_alloc_get_free_async_space()`.
    fn free_async_space(&self) -> usize {
        self.inner.free_async_space()
    }

    /// `binder_alloc_get_allocated_count()`.
    fn allocated_count(&self) -> usize {
        self.inner.allocated_count()
    }

    /// The mapping size.
    #[getter]
    fn buffer_size(&self) -> usize {
        self.inner.buffer_size()
    }

    /// `alloc->pages_high`.
    fn pages_high(&self) -> usize {
        self.inner.pages_high()
    }

    /// `(active, lru, free)` as printed by `binder_alloc_print_pages()`.
    fn page_counts(&self) -> (usize, usize, usize) {
        let c = self.inner.page_counts();
        (c.active, c.lru, c.free)
    }

    /// Every buffer in address order as `(offset, size, free, async, pid)`.
    fn buffers(&self) -> Vec<(usize, usize, bool, bool, i32)> {
        self.inner
            .buffers()
            .map(|b| (b.offset, b.size, b.free, b.async_transaction, b.pid))
            .collect()
    }

    /// Page states by index (`"Absent"`, `"InUse"`, `"Lru"`, `"Reclaiming"`).
    fn page_states(&self) -> Vec<&'static str> {
        self.inner
            .page_states()
            .iter()
            .map(|s| state_name(*s))
            .collect()
    }

    /// Applies a page event by name; returns the action names or raises `OSError`.
    fn page_event(&mut self, index: usize, event: &str) -> PyResult<Vec<String>> {
        let e = parse_event(event)?;
        Ok(action_names(
            self.inner.page_event(index, e).map_err(os_error)?,
        ))
    }

    /// The fault handler's decision: `["MapIntoVma"]` or `["SigBus"]`.
    #[pyo3(signature = (index, write=false))]
    fn fault(&mut self, index: usize, write: bool) -> Vec<String> {
        action_names(self.inner.fault(index, write))
    }

    /// `binder_alloc_vma_close()`.
    fn vma_close(&mut self) {
        self.inner.vma_close()
    }

    /// Frees every allocated buffer (teardown); returns how many there were.
    fn release_buffers(&mut self) -> PyResult<usize> {
        self.inner.release_buffers().map_err(os_error)
    }

    /// Raises `AssertionError` naming the first broken structural invariant.
    fn check_invariants(&self) -> PyResult<()> {
        self.inner
            .check_invariants()
            .map_err(pyo3::exceptions::PyAssertionError::new_err)
    }
}

/// `pytools._core`: the binder allocator core.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Allocator>()?;
    m.add("PAGE_SIZE", PAGE_SIZE)?;
    m.add("MAX_BUFFER_SIZE", range::MAX_BUFFER_SIZE)?;
    Ok(())
}
