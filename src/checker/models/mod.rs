//! The built-in models.

mod kv;
mod lock;
mod multi_register;
mod mutex;
mod register;

pub use kv::{Kv, KvOp};
pub use lock::{Lock, LockOp, LockState};
pub use multi_register::{Micro, MultiRegister, MultiState};
pub use mutex::{Mutex, MutexOp};
pub use register::{Register, RegisterOp};
