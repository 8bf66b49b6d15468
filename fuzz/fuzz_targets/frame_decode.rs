//! `frame_decode`: a thin wrapper; the body and its properties are in
//! `synod::fuzzing::frame_decode` (replayed by `tests/it/fuzz.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

// Notes the largest allocation, so the body can check the frame limit.
#[global_allocator]
static ALLOC: synod::fuzzing::alloc::Tracking = synod::fuzzing::alloc::Tracking;

fuzz_target!(|data: &[u8]| synod::fuzzing::frame_decode::run(data));
