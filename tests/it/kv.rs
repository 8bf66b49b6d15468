//! `synod::kv`, the replicated key-value and lock state machine.

mod gen;
mod kv_ops;
mod locks;
mod reference;
mod snapshot;
mod txn;
