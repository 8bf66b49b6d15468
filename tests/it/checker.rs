//! The linearizability checker: against a brute-force checker, the Knossos
//! reference verdicts, gen_kv.py histories, limits, and each model's
//! known-bad history.

mod build;
mod cli;
mod gen_kv;
mod knossos;
mod known_bad;
mod limits;
mod random;
