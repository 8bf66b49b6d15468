//! `history_parse`: a thin wrapper; the body and its properties are in
//! `synod::fuzzing::history_parse` (replayed by `tests/it/fuzz.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| synod::fuzzing::history_parse::run(data));
