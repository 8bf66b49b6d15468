//! The history readers and writers (`synod::history`): every format parsed,
//! writers round trip, malformed input rejected with a position, no panic on
//! garbage, the Knossos reference histories read.

mod cli;
mod formats;
mod generator;
mod malformed;
mod reference;
mod review_values;
mod values;
