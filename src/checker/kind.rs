//! The built-in models by name, and inferring one from a history.

use super::model::NilRead;
use super::op::Operation;
use crate::history::Value;

/// A built-in model, as `--model` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// read, write.
    Register,
    /// read, write, cas (Knossos's cas-register).
    CasRegister,
    /// get, put, append, cas, delete; partitioned per key.
    Kv,
    /// txn of read and write micro-ops (Knossos's multi-register).
    MultiRegister,
    /// acquire, release (Knossos's mutex).
    Mutex,
    /// synod's lock: acquire, renew, release with fencing tokens.
    Lock,
}

impl ModelKind {
    /// The name, as `--model` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Mutex => "mutex",
            ModelKind::Lock => "lock",
        }
    }

    /// Infers the model from the functions present: txn → multi-register;
    /// get/put/append/delete → kv; renew, or acquire with an owner → lock;
    /// acquire/release → mutex; cas → cas-register; read/write → register.
    pub fn infer(ops: &[Operation]) -> Result<ModelKind, String> {
        let has = |f: &str| ops.iter().any(|o| o.f == f);
        if ops.is_empty() {
            return Ok(ModelKind::Register);
        }
        let kind = if has("txn") {
            ModelKind::MultiRegister
        } else if has("get") || has("put") || has("append") || has("delete") {
            ModelKind::Kv
        } else if has("renew")
            || ops
                .iter()
                .any(|o| o.f == "acquire" && o.input.get("owner").is_some())
        {
            ModelKind::Lock
        } else if has("acquire") || has("release") {
            ModelKind::Mutex
        } else if has("cas") {
            ModelKind::CasRegister
        } else if has("read") || has("write") {
            ModelKind::Register
        } else {
            let mut fs: Vec<&str> = ops.iter().map(|o| o.f.as_str()).collect();
            fs.sort_unstable();
            fs.dedup();
            return Err(format!(
                "cannot infer a model from the functions {fs:?}; choose one with --model"
            ));
        };
        Ok(kind)
    }

    /// Whether `--init` means something for this model.
    pub fn takes_init(self) -> bool {
        !matches!(self, ModelKind::Mutex | ModelKind::Lock)
    }

    /// The default nil-read rule is the caller's; this only documents that
    /// every model reads nil the same way.
    pub fn nil_read_default(jsonl: bool) -> NilRead {
        if jsonl {
            NilRead::Absent
        } else {
            NilRead::Any
        }
    }

    /// The default initial value: nil.
    pub fn default_init(self) -> Value {
        Value::Null
    }
}
