//! The fuzz targets' bodies and the oracles they check against, in the
//! library so that `fuzz/` (cargo-fuzz, nightly) and `tests/it` (stable
//! `cargo test`, replaying seeds and regressions) run the same code.
//!
//! Every body takes plain bytes and panics when a property fails; each
//! drives synod's real code (see `docs/fuzzing.md`). Only the `Arbitrary`
//! impls need the `fuzzing` cargo feature.

pub mod alloc;
pub mod brute;
pub mod canary;
pub mod checker_oracle;
pub mod frame_decode;
pub mod history_parse;
pub mod input;
pub mod kv_apply;
pub mod kv_model;
pub mod wal_recover;

/// A target's body: panics when a property fails.
pub type Body = fn(&[u8]);

/// Every target by name, with its body: what `tests/it/fuzz.rs` replays.
pub const TARGETS: &[(&str, Body)] = &[
    ("frame_decode", frame_decode::run),
    ("wal_recover", wal_recover::run),
    ("history_parse", history_parse::run),
    ("checker_oracle", checker_oracle::run),
    ("kv_apply", kv_apply::run),
    ("canary", canary::run),
];
