//! `synod check` end to end: verdict lines, JSON, exit codes, HTML.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn synod() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synod"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn ev(p: i64, kind: &str, f: &str, value: &str) -> String {
    format!("{{\"process\": {p}, \"type\": \"{kind}\", \"f\": \"{f}\", \"value\": {value}}}\n")
}

const VALID: &str = concat!(
    "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1}\n",
    "{\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 1}\n",
    "{\"process\": 1, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}\n",
    "{\"process\": 1, \"type\": \"ok\", \"f\": \"read\", \"value\": 1}\n",
);

const INVALID: &str = concat!(
    "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1}\n",
    "{\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 1}\n",
    "{\"process\": 1, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}\n",
    "{\"process\": 1, \"type\": \"ok\", \"f\": \"read\", \"value\": 2}\n",
);

/// 12 pending acquires by distinct owners, then a grant of token 5 and one
/// of token 1: invalid, but only after every ordered subset of the pending
/// ones (tens of thousands of configurations).
fn hard_lock_history() -> String {
    let mut s = String::new();
    for p in 0..12 {
        s.push_str(&ev(
            p,
            "invoke",
            "acquire",
            &format!("{{\"owner\": \"o{p}\"}}"),
        ));
    }
    s.push_str(&ev(50, "invoke", "acquire", "{\"owner\": \"a\"}"));
    s.push_str(&ev(50, "ok", "acquire", "{\"owner\": \"a\", \"token\": 5}"));
    s.push_str(&ev(51, "invoke", "acquire", "{\"owner\": \"b\"}"));
    s.push_str(&ev(51, "ok", "acquire", "{\"owner\": \"b\", \"token\": 1}"));
    s
}

#[test]
fn exit_codes_are_0_valid_1_invalid_2_unknown_3_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let valid = write(dir.path(), "valid.jsonl", VALID);
    let invalid = write(dir.path(), "invalid.jsonl", INVALID);
    let hard = write(dir.path(), "hard.jsonl", &hard_lock_history());
    let broken = write(
        dir.path(),
        "broken.jsonl",
        "{\"process\": 0, \"type\": \"invoke\"\n",
    );
    let code = |args: &[&Path]| {
        synod()
            .arg("check")
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&[&valid]), Some(0));
    assert_eq!(code(&[&valid, &invalid]), Some(1));
    let unknown = synod()
        .args(["check", "--time-limit", "0"])
        .arg(&hard)
        .output()
        .unwrap();
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&unknown.stdout)
    );
    assert!(String::from_utf8_lossy(&unknown.stdout).contains(": unknown"));
    assert_eq!(code(&[&valid, &invalid, &broken]), Some(3));
    let bad_args = synod()
        .args(["check", "--model", "nonsense"])
        .arg(&valid)
        .output()
        .unwrap();
    assert_eq!(bad_args.status.code(), Some(3));
}

#[test]
fn the_hard_lock_history_is_invalid_without_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let hard = write(dir.path(), "hard.jsonl", &hard_lock_history());
    let out = synod().arg("check").arg(&hard).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("model lock"), "{text}");
}

#[test]
fn json_gives_one_object_per_file_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let valid = write(dir.path(), "valid.jsonl", VALID);
    let invalid = write(dir.path(), "invalid.jsonl", INVALID);
    let out = synod()
        .args(["check", "--json"])
        .arg(&valid)
        .arg(&invalid)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], "valid");
    assert_eq!(lines[0]["model"], "register");
    assert_eq!(
        lines[0]["partitions"][0]["linearization"],
        serde_json::json!([0, 2])
    );
    assert_eq!(lines[1]["verdict"], "invalid");
    assert_eq!(lines[1]["partitions"][0]["failure"]["op"], 2);
    assert_eq!(
        lines[1]["partitions"][0]["failure"]["states"],
        serde_json::json!([1])
    );
}

#[test]
fn init_accepts_edn_and_nil_read_defaults_to_absent_for_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    // A read of nil before any write: absent under JSONL's default.
    let h = write(
        dir.path(),
        "nil.jsonl",
        &(ev(0, "invoke", "read", "null") + &ev(0, "ok", "read", "null")),
    );
    let code = |extra: &[&str]| {
        synod()
            .arg("check")
            .args(extra)
            .arg(&h)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&[]), Some(0), "nil init, nil read");
    assert_eq!(code(&["--init", "0"]), Some(1), "init 0: nil means absent");
    assert_eq!(code(&["--init", "0", "--nil-read", "any"]), Some(0));
    assert_eq!(code(&["--init", ":x"]), Some(1), "an EDN keyword init");
    assert_eq!(code(&["--init", "{:x"]), Some(3), "a malformed init");
}

#[test]
fn html_timeline_is_self_contained_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 100,000 sequential operations and a stale read at the end.
    let mut s = String::new();
    for i in 0..50_000 {
        s.push_str(&ev(0, "invoke", "write", &i.to_string()));
        s.push_str(&ev(0, "ok", "write", &i.to_string()));
        let _ = write!(s, "{}", ev(1, "invoke", "read", "null"));
        s.push_str(&ev(
            1,
            "ok",
            "read",
            &(if i == 49_999 { 7 } else { i }).to_string(),
        ));
    }
    let big = write(dir.path(), "big.jsonl", &s);
    let html = dir.path().join("html");
    let out = synod()
        .args(["check", "--html"])
        .arg(&html)
        .arg(&big)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let page = std::fs::read_to_string(html.join("big.jsonl.html")).unwrap();
    assert!(page.len() < 4 << 20, "{} bytes", page.len());
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no network resources"
    );
    assert!(
        page.contains("class=\"op fail\""),
        "the failing operation is highlighted"
    );
    assert!(page.contains("state after"), "states on hover");
}

/// Runs `synod check <arg>` with `input` on its standard input.
fn check_stdin(arg: &str, input: &str) -> (Option<i32>, String) {
    use std::io::Write as _;
    let mut child = synod()
        .args(["check", arg])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
    )
}

/// Piped input was sniffed for its format by one read and parsed by a
/// second, which found the pipe drained: `cat bad | synod check /dev/stdin`
/// said valid with 0 operations. Every input is now read once, and `-`
/// names standard input.
#[test]
fn piped_input_is_read_once_and_judged_by_its_content() {
    for arg in ["/dev/stdin", "-"] {
        let (code, out) = check_stdin(arg, INVALID);
        assert_eq!(code, Some(1), "{arg}: {out}");
        assert!(
            out.contains("invalid") && out.contains("2 ops"),
            "{arg}: {out}"
        );
        let (code, out) = check_stdin(arg, VALID);
        assert_eq!(code, Some(0), "{arg}: {out}");
        assert!(out.contains("2 ops"), "{arg}: {out}");
    }
}

/// A named pipe is read once too (it used to hang or read as empty).
#[test]
fn a_named_pipe_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("history");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, INVALID).unwrap())
    };
    let out = synod().arg("check").arg(&fifo).output().unwrap();
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("2 ops"), "{text}");
}

/// An input with no client operation is valid only vacuously, and the
/// verdict says so.
#[test]
fn an_empty_input_is_reported_as_holding_no_operation() {
    let (code, out) = check_stdin("-", "");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("0 ops") && out.contains("no client operation"),
        "{out}"
    );
}

/// `synod check --help` names the formats, the default and the exit codes.
#[test]
fn help_lists_formats_and_exit_codes() {
    let out = synod().args(["check", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "jsonl",
        "edn",
        "txt",
        "[default: auto]",
        "Exit codes",
        "3 some file unusable",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

/// A run over several files ends with one line counting each verdict.
#[test]
fn a_multi_file_run_ends_with_a_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let valid = write(dir.path(), "valid.jsonl", VALID);
    let invalid = write(dir.path(), "invalid.jsonl", INVALID);
    let junk = write(dir.path(), "junk.jsonl", "[1]\n");
    let out = synod()
        .arg("check")
        .args([&valid, &invalid, &junk])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(
        last, "3 files: 1 valid, 1 invalid, 0 unknown, 1 unusable",
        "{text}"
    );
}

/// Two inputs named alike (`a/h.jsonl`, `b/h.jsonl`) get one page each in
/// `--html DIR`, not one overwriting the other, and the report says where.
#[test]
fn html_pages_of_inputs_named_alike_do_not_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let a = write(&dir.path().join("a"), "h.jsonl", VALID);
    let b = write(&dir.path().join("b"), "h.jsonl", INVALID);
    let html = dir.path().join("html");
    let out = synod()
        .args(["check", "--html"])
        .arg(&html)
        .args([&a, &b])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (k, page) in [(1, &a), (2, &b)] {
        let written = html.join(format!("h.jsonl.{k}.html"));
        let body = std::fs::read_to_string(&written).unwrap();
        assert!(body.contains(&page.display().to_string()), "{k}");
        assert!(
            text.contains(&format!("html: {}", written.display())),
            "{text}"
        );
    }
}
