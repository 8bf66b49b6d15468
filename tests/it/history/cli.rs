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
    assert_eq!(text.lines().count(), 6);
    assert!(text.starts_with("{:process "), "{text}");
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
