//! `synod gen-history` on the command line: its output reads back, and bad
//! options or an unwritable output exit 3 (DESIGN.md, "Conventions").

use std::process::Command;

use synod::history::{read_file, EventKind, ReadOptions};

fn synod() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synod"))
}

#[test]
fn gen_history_writes_a_history_that_reads_back_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for (format, name) in [("jsonl", "h.jsonl"), ("edn", "h.edn")] {
        let path = dir.path().join(name);
        let status = synod()
            .args([
                "gen-history",
                "--ops",
                "500",
                "--keys",
                "4",
                "--clients",
                "6",
                "--seed",
                "9",
            ])
            .args([
                "--info-share",
                "0.1",
                "--invalid",
                "--format",
                format,
                "--out",
            ])
            .arg(&path)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "{format}");
        let h = read_file(&path, &ReadOptions::default()).unwrap();
        let invokes = h
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Invoke)
            .count();
        assert!(invokes == 500 || invokes == 503, "{invokes} operations");
    }
    let out = synod()
        .args(["gen-history", "--ops", "3", "--format", "edn"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 7, "a header and six events");
    assert!(
        text.starts_with("; {\"synod_history\":1,\"model\":\"kv\",\"init\":\"\",\"nil_read\":\"absent\"}\n{:process "),
        "{text}"
    );
}

/// `synod check` of a file with `extra` flags: its exit code and output.
fn check(path: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = synod().arg("check").args(extra).arg(path).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn gen_history_output_checks_as_generated_without_flags() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "edn"] {
        for invalid in [false, true] {
            let path = dir.path().join(format!("h{invalid}.{format}"));
            let mut gen = synod();
            gen.args(["gen-history", "--ops", "300", "--keys", "3", "--seed", "4"]);
            gen.args(["--format", format, "--out"]).arg(&path);
            if invalid {
                gen.arg("--invalid");
            }
            assert_eq!(gen.status().unwrap().code(), Some(0));
            let (code, out) = check(&path, &[]);
            let expected = if invalid { 1 } else { 0 };
            assert_eq!(code, Some(expected), "{format} invalid={invalid}: {out}");
            assert!(!out.contains("assumed"), "{out}");
            assert!(out.contains("(model kv,"), "{out}");
        }
        // A flag overrides the header: from nil, the first get of "" fails.
        let path = dir.path().join(format!("hfalse.{format}"));
        let (code, out) = check(&path, &["--init", "null"]);
        assert_eq!(code, Some(1), "{format}: {out}");
    }
}

#[test]
fn without_a_header_the_verdict_line_names_what_it_assumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let lines = [
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}"#,
        r#"{"process": 0, "type": "ok", "f": "write", "value": 1}"#,
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let (code, out) = check(&path, &[]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("; no header: assumed --init null --nil-read absent)"),
        "{out}"
    );
    let (_, out) = check(&path, &["--init", "0"]);
    assert!(
        out.contains("; no header: assumed --nil-read absent)"),
        "{out}"
    );
    let (_, out) = check(&path, &["--init", "0", "--nil-read", "any"]);
    assert!(!out.contains("assumed"), "{out}");
    // A header that gives the init but not the nil-read rule.
    let header = r#"{"synod_history": 1, "init": 1}"#;
    std::fs::write(&path, format!("{header}\n{}", lines.join("\n"))).unwrap();
    let (code, out) = check(&path, &[]);
    assert_eq!(code, Some(0));
    assert!(out.contains("; assumed --nil-read absent)"), "{out}");
}

#[test]
fn a_malformed_header_is_unusable_input_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("v2.jsonl", "{\"synod_history\": 2}\n"),
        (
            "nil.jsonl",
            "\n{\"synod_history\": 1, \"nil_read\": \"maybe\"}\n",
        ),
        (
            "model.edn",
            "; {\"synod_history\": 1, \"model\": \"queue\"}\n",
        ),
        ("json.edn", "; {\"synod_history\": 1, \"init\": }\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let (code, out) = check(&path, &[]);
        assert_eq!(code, Some(3), "{name}: {out}");
        assert!(out.contains("unusable"), "{name}: {out}");
    }
    let (_, out) = check(&dir.path().join("nil.jsonl"), &[]);
    assert!(out.contains(":2:1: invalid synod_history header"), "{out}");
}

#[test]
fn gen_history_exits_3_on_bad_options_and_io_errors() {
    let cases: &[&[&str]] = &[
        &["gen-history"],
        &["gen-history", "--ops", "x"],
        &["gen-history", "--ops", "5", "--keys", "0"],
        &["gen-history", "--ops", "5", "--info-share", "2"],
        &["gen-history", "--ops", "5", "--format", "txt"],
        &[
            "gen-history",
            "--ops",
            "5",
            "--out",
            "/nonexistent-dir/h.jsonl",
        ],
    ];
    for args in cases {
        let out = synod().args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
}
