//! `checker_oracle`: a thin wrapper; the body and its properties are in
//! `synod::fuzzing::checker_oracle` (replayed by `tests/it/fuzz.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| synod::fuzzing::checker_oracle::run(data));
