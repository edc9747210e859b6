// SPDX-License-Identifier: GPL-2.0-only

//! Replays traces recorded from the C allocator (Linux 7.3) against the Rust core and asserts
//! that every operation gives the same result: offsets, error names and spam flags, plus the
//! checkpointed async space and allocated count.

#[path = "support/trace.rs"]
mod trace;

use binder_alloc_core::flags::GFP_KERNEL;
use binder_alloc_core::range::{Allocator, BufferRequest, NodeReserve};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use trace::{NewResult, Op, Trace};

#[derive(Debug, Default)]
struct Counts {
    new_ok: usize,
    new_err: usize,
    free: usize,
    state: usize,
}

/// Replays `t`; the error names the file, line and mismatch.
fn replay(name: &str, t: &Trace) -> Result<Counts, String> {
    let mut alloc = Allocator::new(t.header.buffer_size, GFP_KERNEL)
        .map_err(|e| format!("{name}: Allocator::new: {e:?}"))?;
    let mut offsets: HashMap<u64, usize> = HashMap::new();
    let mut counts = Counts::default();
    for (line, op) in &t.ops {
        let at = format!("{name}:{line}");
        match op {
            Op::New {
                id,
                data,
                offsets: off_size,
                extra,
                is_async,
                pid,
                result,
            } => {
                let req = BufferRequest {
                    data_size: *data,
                    offsets_size: *off_size,
                    extra_buffers_size: *extra,
                    is_async: *is_async,
                };
                let mut reserve = NodeReserve::for_hint(alloc.reserve_hint(&req), GFP_KERNEL)
                    .map_err(|_| format!("{at}: reserve"))?;
                let got = alloc.new_buf(&req, *pid, &mut reserve);
                let got = match got {
                    Ok(nb) => NewResult::Ok {
                        offset: nb.offset,
                        spam: nb.oneway_spam_suspect,
                    },
                    Err(e) => NewResult::Err(e.name().unwrap_or("E?").to_string()),
                };
                if &got != result {
                    return Err(format!(
                        "{at}: new {id}: C gave {result:?}, Rust gave {got:?}"
                    ));
                }
                match got {
                    NewResult::Ok { offset, .. } => {
                        offsets.insert(*id, offset);
                        counts.new_ok += 1;
                    }
                    NewResult::Err(_) => counts.new_err += 1,
                }
            }
            Op::Free { id } => {
                let off = offsets
                    .remove(id)
                    .ok_or_else(|| format!("{at}: free of unknown id {id}"))?;
                alloc
                    .free_buf(off)
                    .map_err(|e| format!("{at}: free {id}: {e:?}"))?;
                counts.free += 1;
            }
            Op::State {
                free_async_space,
                allocated,
            } => {
                let got = (alloc.free_async_space(), alloc.allocated_count());
                if got != (*free_async_space, *allocated) {
                    return Err(format!(
                        "{at}: state: C gave free_async_space={free_async_space} allocated={allocated}, Rust gave {got:?}"
                    ));
                }
                counts.state += 1;
            }
        }
        alloc
            .check_invariants()
            .map_err(|e| format!("{at}: invariant: {e}"))?;
    }
    Ok(counts)
}

fn load(path: &Path) -> Trace {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    trace::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/traces")
}

#[test]
fn parser_reads_the_handwritten_example() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/example.trace");
    let t = load(&path);
    assert_eq!(t.header.buffer_size, 16384);
    assert_eq!(t.header.seed, 0);
    assert_eq!(t.ops.len(), 10);
    assert!(matches!(
        t.ops[3].1,
        Op::New {
            result: NewResult::Err(ref e),
            ..
        } if e == "ENOSPC"
    ));
    let counts = replay("example.trace", &t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (counts.new_ok, counts.new_err, counts.free, counts.state),
        (3, 2, 3, 2)
    );
}

#[test]
fn parser_rejects_malformed_traces() {
    let bad = [
        "",
        "new 1 data=1 offsets=0 extra=0 async=0 pid=1 -> ok offset=0 spam=0",
        "# binder_alloc trace v1 seed=1\n",
        "# binder_alloc trace v1 seed=1 buffer_size=4096\nnew 1 data=1 offsets=0 extra=0 async=2 pid=1 -> ok offset=0 spam=0",
        "# binder_alloc trace v1 seed=1 buffer_size=4096\nfree 3 -> ok",
        "# binder_alloc trace v1 seed=1 buffer_size=4096\nnew 1 data=1 offsets=0 extra=0 async=0 pid=1 -> err enospc",
        "# binder_alloc trace v1 seed=1 buffer_size=4096\nstate free_async_space=1",
        "# binder_alloc trace v1 seed=1 buffer_size=4096\nbogus",
    ];
    for text in bad {
        assert!(trace::parse(text).is_err(), "accepted {text:?}");
    }
}

/// Traces from C 7.3's range-allocator functions compiled in userspace on the kernel's own
/// `tools/lib/rbtree.c` (`tests/cref/gen_traces.py`): a cross-check of placement among
/// equal-size free buffers, independent of the kernel-recorded fixtures.
#[test]
fn replay_matches_userspace_c_reference() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cref");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/cref")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "trace"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no userspace C reference traces in {}",
        dir.display()
    );
    let mut new_ok = 0;
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let c = replay(&name, &load(path)).unwrap_or_else(|e| panic!("{e}"));
        new_ok += c.new_ok;
    }
    println!(
        "replayed {} userspace C reference traces, {new_ok} allocations",
        files.len()
    );
}

#[test]
fn replay_matches_c_traces() {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "trace"));
    files.sort();
    assert!(
        !files.is_empty(),
        "C allocator trace fixtures are missing: no *.trace files in {} \
         (they are recorded from the kernel's C allocator; see tests/fixtures/README.md)",
        dir.display()
    );
    let mut total = Counts::default();
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match replay(&name, &load(path)) {
            Ok(c) => {
                println!(
                    "{name}: {} new ok, {} new err, {} free, {} state",
                    c.new_ok, c.new_err, c.free, c.state
                );
                total.new_ok += c.new_ok;
                total.new_err += c.new_err;
                total.free += c.free;
                total.state += c.state;
            }
            Err(e) => failures.push(e),
        }
    }
    println!(
        "replayed {} traces: {} new ok, {} new err, {} free, {} state checkpoints",
        files.len(),
        total.new_ok,
        total.new_err,
        total.free,
        total.state
    );
    assert!(
        failures.is_empty(),
        "{} of {} traces diverge from C:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
