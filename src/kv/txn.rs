//! Transactions: a list of read and write micro-ops applied atomically.
//!
//! A transaction is planned against the current data without changing it: the
//! writes collect in an overlay that later reads see, and every limit is checked
//! on the way. Only a plan that passed every check is committed, so a rejected
//! transaction changes nothing (atomicity does not rest on undoing anything).

use std::collections::BTreeMap;

use super::command::MicroOp;
use super::limits::KvLimits;
use super::response::Rejection;

/// A transaction that passed every check: what it read, and what to write.
pub(crate) struct TxnPlan<'a> {
    /// One entry per micro-op: the key's value just after it.
    pub(crate) results: Vec<Option<String>>,
    /// The final value of every key written, in key order.
    pub(crate) writes: BTreeMap<&'a str, &'a str>,
}

/// Plans `ops` against `data`: checks every limit and computes the results,
/// or says which micro-op crossed which limit.
pub(crate) fn plan<'a>(
    limits: &KvLimits,
    data: &BTreeMap<String, String>,
    ops: &'a [MicroOp],
) -> Result<TxnPlan<'a>, Rejection> {
    if ops.len() > limits.max_txn_ops {
        return Err(Rejection::TxnTooLong {
            len: ops.len(),
            max: limits.max_txn_ops,
        });
    }
    let mut writes: BTreeMap<&'a str, &'a str> = BTreeMap::new();
    let mut new_keys = 0usize;
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let in_txn = |cause| Rejection::InTxn {
            index,
            cause: Box::new(cause),
        };
        limits.check_key(op.key()).map_err(in_txn)?;
        match op {
            MicroOp::Read { key } => {
                let value = match writes.get(key.as_str()) {
                    Some(written) => Some((*written).to_owned()),
                    None => data.get(key).cloned(),
                };
                results.push(value);
            }
            MicroOp::Write { key, value } => {
                limits.check_value_len(value.len()).map_err(in_txn)?;
                if !data.contains_key(key) && !writes.contains_key(key.as_str()) {
                    new_keys += 1;
                    if data.len() + new_keys > limits.max_keys {
                        return Err(in_txn(Rejection::TooManyKeys {
                            max: limits.max_keys,
                        }));
                    }
                }
                writes.insert(key, value);
                results.push(Some(value.clone()));
            }
        }
    }
    Ok(TxnPlan { results, writes })
}
