// SPDX-License-Identifier: GPL-2.0-only

//! Parser of the `binder_alloc trace v1` text format recorded from the C allocator.
//!
//! ```text
//! # binder_alloc trace v1 seed=<N> buffer_size=<bytes>
//! new <id> data=<n> offsets=<n> extra=<n> async=<0|1> pid=<n> -> ok offset=<n> spam=<0|1>
//! new <id> data=<n> offsets=<n> extra=<n> async=<0|1> pid=<n> -> err <ERRNAME>
//! free <id> -> ok
//! state free_async_space=<n> allocated=<n>
//! ```
//!
//! The header must be the first non-empty line; other lines starting with `#` are comments.

use std::collections::HashMap;

/// The header of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) seed: u64,
    pub(crate) buffer_size: usize,
}

/// The recorded outcome of a `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NewResult {
    Ok { offset: usize, spam: bool },
    Err(String),
}

/// One operation line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    New {
        id: u64,
        data: usize,
        offsets: usize,
        extra: usize,
        is_async: bool,
        pid: i32,
        result: NewResult,
    },
    Free {
        id: u64,
    },
    State {
        free_async_space: usize,
        allocated: usize,
    },
}

/// A parsed trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Trace {
    pub(crate) header: Header,
    /// Operations with their 1-based line numbers.
    pub(crate) ops: Vec<(usize, Op)>,
}

fn kv<'a>(tok: Option<&'a str>, key: &str, line: usize) -> Result<&'a str, String> {
    let tok = tok.ok_or_else(|| format!("line {line}: missing {key}="))?;
    tok.strip_prefix(key)
        .and_then(|t| t.strip_prefix('='))
        .ok_or_else(|| format!("line {line}: expected {key}=<value>, got {tok:?}"))
}

fn num<T: std::str::FromStr>(s: &str, line: usize) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("line {line}: bad number {s:?}"))
}

fn flag(s: &str, line: usize) -> Result<bool, String> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("line {line}: expected 0 or 1, got {s:?}")),
    }
}

fn expect(tok: Option<&str>, want: &str, line: usize) -> Result<(), String> {
    match tok {
        Some(t) if t == want => Ok(()),
        other => Err(format!("line {line}: expected {want:?}, got {other:?}")),
    }
}

fn end(mut it: std::str::SplitWhitespace<'_>, line: usize) -> Result<(), String> {
    match it.next() {
        None => Ok(()),
        Some(t) => Err(format!("line {line}: trailing {t:?}")),
    }
}

fn parse_header(text: &str, line: usize) -> Result<Header, String> {
    let rest = text
        .strip_prefix('#')
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix("binder_alloc trace v1"))
        .ok_or_else(|| format!("line {line}: expected '# binder_alloc trace v1 ...' header"))?;
    let mut it = rest.split_whitespace();
    let seed = num(kv(it.next(), "seed", line)?, line)?;
    let buffer_size = num(kv(it.next(), "buffer_size", line)?, line)?;
    end(it, line)?;
    Ok(Header { seed, buffer_size })
}

fn parse_op(text: &str, line: usize) -> Result<Op, String> {
    let mut it = text.split_whitespace();
    match it.next() {
        Some("new") => {
            let id = num(it.next().unwrap_or(""), line)?;
            let data = num(kv(it.next(), "data", line)?, line)?;
            let offsets = num(kv(it.next(), "offsets", line)?, line)?;
            let extra = num(kv(it.next(), "extra", line)?, line)?;
            let is_async = flag(kv(it.next(), "async", line)?, line)?;
            let pid = num(kv(it.next(), "pid", line)?, line)?;
            expect(it.next(), "->", line)?;
            let result = match it.next() {
                Some("ok") => {
                    let offset = num(kv(it.next(), "offset", line)?, line)?;
                    let spam = flag(kv(it.next(), "spam", line)?, line)?;
                    NewResult::Ok { offset, spam }
                }
                Some("err") => {
                    let name = it
                        .next()
                        .ok_or_else(|| format!("line {line}: missing error name"))?;
                    if !name.starts_with('E') || !name.chars().all(|c| c.is_ascii_uppercase()) {
                        return Err(format!("line {line}: bad error name {name:?}"));
                    }
                    NewResult::Err(name.to_string())
                }
                other => return Err(format!("line {line}: expected ok or err, got {other:?}")),
            };
            end(it, line)?;
            Ok(Op::New {
                id,
                data,
                offsets,
                extra,
                is_async,
                pid,
                result,
            })
        }
        Some("free") => {
            let id = num(it.next().unwrap_or(""), line)?;
            expect(it.next(), "->", line)?;
            expect(it.next(), "ok", line)?;
            end(it, line)?;
            Ok(Op::Free { id })
        }
        Some("state") => {
            let free_async_space = num(kv(it.next(), "free_async_space", line)?, line)?;
            let allocated = num(kv(it.next(), "allocated", line)?, line)?;
            end(it, line)?;
            Ok(Op::State {
                free_async_space,
                allocated,
            })
        }
        other => Err(format!("line {line}: unknown operation {other:?}")),
    }
}

/// Parses a whole trace. Checks that `free` ids name an earlier successful, not yet freed `new`
/// and that ids of successful `new`s are not live twice.
pub(crate) fn parse(text: &str) -> Result<Trace, String> {
    let mut header = None;
    let mut ops = Vec::new();
    let mut live: HashMap<u64, ()> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        if header.is_none() {
            header = Some(parse_header(t, line)?);
            continue;
        }
        if t.starts_with('#') {
            continue;
        }
        let op = parse_op(t, line)?;
        match &op {
            Op::New {
                id,
                result: NewResult::Ok { .. },
                ..
            } if live.insert(*id, ()).is_some() => {
                return Err(format!("line {line}: id {id} is already live"));
            }
            Op::Free { id } if live.remove(id).is_none() => {
                return Err(format!("line {line}: free of unknown id {id}"));
            }
            _ => {}
        }
        ops.push((line, op));
    }
    let header = header.ok_or("empty trace: missing header")?;
    Ok(Trace { header, ops })
}
