//! `synod sim`: the command, the exact append-order check behind its
//! verdicts, and its teeth against planted bugs.
mod cli;
mod order;
mod review;
mod seeds;
#[cfg(feature = "faults")]
mod teeth;
