//! `synod sim` end to end: the seed line, exit codes, the replay command it
//! prints, and the history it writes, checked by `synod check`.

use std::process::{Command, Output};

fn synod(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synod"))
        .args(args)
        .output()
        .expect("synod runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn one_seed_prints_its_draw_and_passes() {
    let o = synod(&["sim", "--seed", "3", "--steps", "2000"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("SEED=3 replicas="), "{first}");
    assert!(
        first.contains("read_mode=") && first.contains("disk_delay="),
        "{first}"
    );
    assert!(text.contains("seed 3: passed"), "{text}");
}

#[test]
fn bad_arguments_exit_3() {
    for args in [
        &["sim"][..],
        &["sim", "--seeds", "5..5"],
        &["sim", "--seeds", "x..9"],
        &["sim", "--seed", "1", "--read-mode", "fast"],
        &["sim", "--seed", "1", "--steps", "0"],
        &["sim", "--seeds", "0..2", "--history", "/tmp/h.jsonl"],
    ] {
        let o = synod(args);
        assert_eq!(
            o.status.code(),
            Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Reads served from a replica's local state (no quorum) are stale under
/// partitions: the history check catches them, and the printed replay
/// command fails the same way.
#[test]
fn local_reads_are_caught_and_the_replay_reproduces() {
    let o = synod(&[
        "sim",
        "--seeds",
        "0..20",
        "--steps",
        "5000",
        "--read-mode",
        "local",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let failed = text
        .lines()
        .find(|l| l.contains(": FAILED "))
        .expect("a failed seed");
    assert!(failed.contains("not linearizable"), "{failed}");
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: synod "))
        .expect("a replay command");
    let args: Vec<&str> = replay.split_whitespace().collect();
    let again = synod(&args);
    let again_text = stdout(&again);
    assert_eq!(again.status.code(), Some(1), "{again_text}");
    assert!(again_text.contains(failed), "{failed}\n{again_text}");
    assert!(again_text.contains("trace"), "the replay prints a trace");
}

/// The history `--history` writes is a kv history `synod check` reads:
/// valid for a passing seed, invalid for a stale-read one.
#[test]
fn the_written_history_gets_the_same_verdict_from_synod_check() {
    let dir = tempfile::tempdir().unwrap();
    for (args, verdict) in [
        (&["--seed", "0", "--steps", "3000"][..], 0),
        (
            &["--seed", "4", "--steps", "5000", "--read-mode", "local"],
            1,
        ),
    ] {
        let path = dir.path().join("h.jsonl");
        let path = path.to_str().unwrap();
        let sim = synod(&[&["sim", "--history", path][..], args].concat());
        assert_eq!(sim.status.code(), Some(verdict), "{}", stdout(&sim));
        let check = synod(&["check", "--model", "kv", path]);
        assert_eq!(check.status.code(), Some(verdict), "{}", stdout(&check));
    }
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synod"))
        .args(["sim", "--seed", "1", "--steps", "2000", "--trace"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0));
}
