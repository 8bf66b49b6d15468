//! Histories from the shared `gen_kv.py` (vendored in `tools/`; needs
//! `python3`): linearizable ones are valid, and
//! `--stale` ones, with one get of an overwritten value, are invalid.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use synod::checker::{check_history, CheckOptions, ModelKind, NilRead, Verdict};
use synod::history::{read_file, ReadOptions};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/gen_kv.py")
}

fn generate(args: &[&str]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let out = dir.join("history.edn");
    let result = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("this test needs python3 to run gen_kv.py");
    assert!(
        result.status.success(),
        "gen_kv.py {args:?}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::write(&out, result.stdout).unwrap();
    out
}

fn verdict(args: &[&str]) -> Verdict {
    let path = generate(args);
    let h = read_file(&path, &ReadOptions::default()).unwrap();
    let (_, report) = check_history(
        h,
        Some(ModelKind::Kv),
        Some(&json!("")),
        NilRead::Any,
        &CheckOptions::default(),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    report.verdict
}

#[test]
fn gen_kv_linearizable_histories_are_valid() {
    assert_eq!(verdict(&["2000", "10", "50", "3"]), Verdict::Valid);
    assert_eq!(verdict(&["20000", "100", "32", "7"]), Verdict::Valid);
}

#[test]
fn gen_kv_stale_histories_are_invalid() {
    assert_eq!(
        verdict(&["2000", "10", "50", "1", "--stale"]),
        Verdict::Invalid
    );
    assert_eq!(
        verdict(&["20000", "100", "32", "7", "--stale"]),
        Verdict::Invalid
    );
}
