//! A target with a planted crash: libFuzzer must find it within seconds, or
//! the fuzzing setup (instrumentation, seeds, the runner) is broken. CI
//! requires this target to crash.

/// Panics on inputs that start with `FUZZ` (the seeds do not).
pub fn run(data: &[u8]) {
    if data.len() >= 4 && data[0] == b'F' && data[1] == b'U' && data[2] == b'Z' && data[3] == b'Z' {
        panic!("canary: the planted crash was found");
    }
}
