//! `synod client`: one command against a cluster, with exit codes a script
//! (or the harness) can act on.
//!
//! Exit codes: 0 ok; 1 definite failure (cas mismatch, lock held, key not
//! found, request never sent, ...), with a word on stderr; 2 indeterminate
//! (timed out: it may or may not have happened); 3 usage (bad arguments,
//! unreadable config).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as Json;

use super::{Client, ClientError, ClientOptions};
use crate::kv::{Command, MicroOp, Response};
use crate::node::config::ClusterConfig;
use crate::node::proto::{parse_read_mode, ReadMode};

/// Exit code: the command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command definitely did not succeed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the outcome is unknown (it may or may not have taken effect).
pub const EXIT_INDETERMINATE: u8 = 2;
/// Exit code: the arguments or the config are wrong.
pub const EXIT_USAGE: u8 = 3;

/// Arguments of `synod client`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The cluster config file.
    #[arg(long)]
    pub config: PathBuf,
    /// How reads are served: `linearizable` (the default), `log`, or `local`
    /// (UNSAFE: any node answers from its own, possibly stale, state).
    #[arg(long, default_value = "linearizable", value_parser = parse_read_mode)]
    pub read_mode: ReadMode,
    /// Give up after this long; the outcome is then indeterminate (exit 2).
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// The operation.
    #[command(subcommand)]
    pub op: ClientOp,
}

/// One operation of `synod client`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum ClientOp {
    /// Print the value of KEY (exit 1 "not found" if absent).
    Get {
        /// The key.
        key: String,
    },
    /// Set KEY to VALUE.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Set KEY to NEW if its value is OLD (exit 1 "cas mismatch" otherwise).
    Cas {
        /// The key.
        key: String,
        /// The value it must have.
        old: String,
        /// Its new value.
        new: String,
    },
    /// Append VALUE to the value of KEY (an absent key counts as empty).
    Append {
        /// The key.
        key: String,
        /// The suffix.
        value: String,
    },
    /// Remove KEY (exit 1 "not found" if it was absent).
    Delete {
        /// The key.
        key: String,
    },
    /// Run a transaction: a JSON list of ["r", key, null] and ["w", key, value];
    /// prints the completed list.
    Txn {
        /// The micro-ops as JSON.
        json: String,
    },
    /// Take LOCK for OWNER for TTL_MS; prints the fencing token (exit 1 "held").
    Acquire {
        /// The lock.
        lock: String,
        /// Who takes it.
        owner: String,
        /// The lease, in milliseconds (rounded up to whole ticks).
        ttl_ms: u64,
    },
    /// Extend OWNER's lease on LOCK under TOKEN.
    Renew {
        /// The lock.
        lock: String,
        /// Its holder.
        owner: String,
        /// The fencing token from the acquire.
        token: u64,
    },
    /// Give LOCK up.
    Release {
        /// The lock.
        lock: String,
        /// Its holder.
        owner: String,
        /// The fencing token from the acquire.
        token: u64,
    },
    /// Print each node's leader, ballot, and chosen and applied slots.
    Status,
}

/// Parses `txn`'s JSON: a list of `[f, key, value]` with `f` one of `r`
/// (value null) or `w` (value a string, or a number taken as its text).
pub fn parse_txn(json: &str) -> Result<Vec<MicroOp>, String> {
    let parsed: Json = serde_json::from_str(json).map_err(|e| format!("txn JSON: {e}"))?;
    let Json::Array(ops) = parsed else {
        return Err("txn JSON: expected a list of [f, key, value]".into());
    };
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let at = |msg: &str| format!("txn micro-op #{i} ({op}): {msg}");
            let Some([f, key, value]) = op
                .as_array()
                .map(Vec::as_slice)
                .filter(|a| a.len() == 3)
                .map(|a| [&a[0], &a[1], &a[2]])
            else {
                return Err(at("expected [f, key, value]"));
            };
            let key = key
                .as_str()
                .ok_or_else(|| at("key must be a string"))?
                .to_string();
            match (f.as_str(), value) {
                (Some("r" | ":r" | "read" | ":read"), Json::Null) => Ok(MicroOp::Read { key }),
                (Some("r" | ":r" | "read" | ":read"), _) => Err(at("a read's value must be null")),
                (Some("w" | ":w" | "write" | ":write"), Json::String(v)) => Ok(MicroOp::Write {
                    key,
                    value: v.clone(),
                }),
                (Some("w" | ":w" | "write" | ":write"), Json::Number(n)) => Ok(MicroOp::Write {
                    key,
                    value: n.to_string(),
                }),
                (Some("w" | ":w" | "write" | ":write"), _) => {
                    Err(at("a write's value must be a string or a number"))
                }
                _ => Err(at("f must be \"r\" or \"w\"")),
            }
        })
        .collect()
}

/// The kv command for `op`; `tick_ms` converts a lock's ttl to ticks.
/// `None` for [`ClientOp::Status`], which is not a command.
pub fn command_for(op: &ClientOp, tick_ms: u64) -> Result<Option<Command>, String> {
    let s = |x: &String| x.clone();
    Ok(Some(match op {
        ClientOp::Get { key } => Command::Get { key: s(key) },
        ClientOp::Put { key, value } => Command::Put {
            key: s(key),
            value: s(value),
        },
        ClientOp::Cas { key, old, new } => Command::Cas {
            key: s(key),
            expected: Some(s(old)),
            new: s(new),
        },
        ClientOp::Append { key, value } => Command::Append {
            key: s(key),
            value: s(value),
        },
        ClientOp::Delete { key } => Command::Delete { key: s(key) },
        ClientOp::Txn { json } => Command::Txn(parse_txn(json)?),
        ClientOp::Acquire {
            lock,
            owner,
            ttl_ms,
        } => {
            if *ttl_ms == 0 {
                return Err("acquire: TTL_MS must be positive".into());
            }
            Command::Acquire {
                lock: s(lock),
                owner: s(owner),
                ttl_ticks: ttl_ms.div_ceil(tick_ms.max(1)),
            }
        }
        ClientOp::Renew { lock, owner, token } => Command::Renew {
            lock: s(lock),
            owner: s(owner),
            token: *token,
        },
        ClientOp::Release { lock, owner, token } => Command::Release {
            lock: s(lock),
            owner: s(owner),
            token: *token,
        },
        ClientOp::Status => return Ok(None),
    }))
}

/// What to print and the exit code for `response` to `command`.
pub fn render(command: &Command, response: &Response) -> (u8, String, String) {
    let ok = |out: String| (EXIT_OK, out, String::new());
    let fail = |err: String| (EXIT_FAILED, String::new(), err);
    match response {
        Response::Value(v) => ok(format!("{v}\n")),
        Response::Ok => ok(String::new()),
        Response::NotFound => fail("not found\n".into()),
        Response::CasMismatch { current } => fail(match current {
            Some(v) => format!("cas mismatch: current value {v:?}\n"),
            None => "cas mismatch: key absent\n".into(),
        }),
        Response::Txn(values) => {
            let Command::Txn(ops) = command else {
                return ok(format!("{values:?}\n"));
            };
            let done: Vec<Json> = ops
                .iter()
                .zip(values)
                .map(|(op, v)| {
                    let f = if matches!(op, MicroOp::Read { .. }) {
                        "r"
                    } else {
                        "w"
                    };
                    serde_json::json!([f, op.key(), v])
                })
                .collect();
            ok(format!("{}\n", Json::Array(done)))
        }
        Response::Token(t) => ok(format!("{t}\n")),
        Response::Held { owner, token } => fail(format!("held by {owner:?} (token {token})\n")),
        Response::NotHeld => fail("not held\n".into()),
        Response::NotOwner { owner } => fail(format!("not owner: held by {owner:?}\n")),
        Response::StaleToken { current } => fail(format!("stale token: current token {current}\n")),
        Response::Expired => ok("expired\n".into()),
        Response::NotExpired => fail("not expired\n".into()),
        Response::Rejected(why) => fail(format!("rejected: {why}\n")),
    }
}

/// Runs `synod client` and returns its exit code.
pub fn run(args: &ClientArgs) -> u8 {
    let config = match ClusterConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    let command = match command_for(&args.op, config.tuning.tick_ms) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    let options = ClientOptions {
        timeout: Duration::from_millis(args.timeout_ms),
        attempt_timeout: Duration::from_millis(args.timeout_ms.clamp(1, 1000)),
        read_mode: args.read_mode,
        client_id: None,
    };
    let mut client: Client<Command, Response> = match Client::new(&config, options) {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    let Some(command) = command else {
        return status(&mut client, &config);
    };
    match client.call(command.clone()) {
        Ok(response) => {
            let (code, out, err) = render(&command, &response);
            print!("{out}");
            eprint!("{err}");
            let _ = std::io::stdout().flush();
            code
        }
        Err(e @ ClientError::Indeterminate { .. }) => {
            eprintln!("indeterminate: {e}");
            EXIT_INDETERMINATE
        }
        Err(e @ ClientError::Config(_)) => usage(&e.to_string()),
        Err(e) => {
            eprintln!("failed: {e}");
            EXIT_FAILED
        }
    }
}

fn usage(message: &str) -> u8 {
    eprintln!("synod client: {message}");
    EXIT_USAGE
}

fn status(client: &mut Client<Command, Response>, config: &ClusterConfig) -> u8 {
    let mut answered = 0;
    for id in config.ids() {
        match client.status(id) {
            Ok(s) => {
                answered += 1;
                let leader = s.leader.map_or("none".to_string(), |l| l.to_string());
                println!(
                    "node {id}: leader {leader}{}, ballot {}.{}, chosen_upto {}, applied_upto {}, snapshot_upto {}, {}{}",
                    if s.is_leader { " (this node)" } else { "" },
                    s.ballot.round,
                    s.ballot.node,
                    s.chosen_upto,
                    s.applied_upto,
                    s.snapshot_upto,
                    if s.voting { "voting" } else { "not voting" },
                    if s.amnesiac { ", amnesiac" } else { "" },
                );
            }
            Err(e) => println!("node {id}: unreachable ({e})"),
        }
    }
    if answered == 0 {
        eprintln!("unreachable: no node answered");
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txn_json_parses_reads_and_writes_and_rejects_bad_ops() {
        let ops = parse_txn(r#"[["r","x",null],["w","y","1"],["w","z",2]]"#).unwrap();
        assert_eq!(
            ops,
            vec![
                MicroOp::Read { key: "x".into() },
                MicroOp::Write {
                    key: "y".into(),
                    value: "1".into()
                },
                MicroOp::Write {
                    key: "z".into(),
                    value: "2".into()
                },
            ]
        );
        for bad in [
            r#"{"r":1}"#,
            r#"[["r","x"]]"#,
            r#"[["r","x","v"]]"#,
            r#"[["q","x",null]]"#,
            r#"[["w",1,"v"]]"#,
            "[",
        ] {
            assert!(parse_txn(bad).is_err(), "{bad}");
        }
        assert!(parse_txn(r#"[["r","x",null],["x","y",null]]"#)
            .unwrap_err()
            .contains("#1"));
    }

    #[test]
    fn acquire_ttl_rounds_up_to_whole_ticks() {
        let op = ClientOp::Acquire {
            lock: "l".into(),
            owner: "o".into(),
            ttl_ms: 25,
        };
        match command_for(&op, 10).unwrap() {
            Some(Command::Acquire { ttl_ticks, .. }) => assert_eq!(ttl_ticks, 3),
            other => panic!("{other:?}"),
        }
    }
}
