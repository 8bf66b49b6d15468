//! Every Knossos reference verdict (histories/reference/knossos, provenance
//! in its README): cas-register with initial value 0, multi-register with
//! `{:x 0 :y 0}`, mutex from free; nil reads match any state.

use std::path::{Path, PathBuf};

use serde_json::json;
use synod::checker::{check_history, CheckOptions, ModelKind, NilRead, Verdict};
use synod::history::{read_file, ReadOptions, Value};

fn dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("histories/reference/knossos")
        .join(sub)
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(sub))
        .unwrap_or_else(|e| panic!("{}: {e}", dir(sub).display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "edn"))
        .collect();
    v.sort();
    v
}

fn verdict(path: &Path, kind: ModelKind, init: Option<&Value>) -> Verdict {
    let h = read_file(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let (_, report) = check_history(h, Some(kind), init, NilRead::Any, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    report.verdict
}

#[test]
fn knossos_cas_register_good_histories_are_valid() {
    let good = files("cas-register/good");
    assert_eq!(good.len(), 113);
    for f in good {
        assert_eq!(
            verdict(&f, ModelKind::CasRegister, Some(&json!(0))),
            Verdict::Valid,
            "{}",
            f.display()
        );
    }
}

#[test]
fn knossos_cas_register_bad_histories_are_invalid() {
    let bad = files("cas-register/bad");
    assert_eq!(bad.len(), 7);
    for f in bad {
        assert_eq!(
            verdict(&f, ModelKind::CasRegister, Some(&json!(0))),
            Verdict::Invalid,
            "{}",
            f.display()
        );
    }
}

#[test]
fn knossos_multi_register_and_mutex_verdicts() {
    let multi = files("multi-register/good");
    assert_eq!(multi.len(), 1);
    let init = synod::history::parse_edn_value("{:x 0 :y 0}").unwrap();
    assert_eq!(
        verdict(&multi[0], ModelKind::MultiRegister, Some(&init)),
        Verdict::Valid
    );
    let mutex = files("mutex/bad");
    assert_eq!(mutex.len(), 1);
    assert_eq!(verdict(&mutex[0], ModelKind::Mutex, None), Verdict::Invalid);
}

#[test]
fn cas_failure_names_the_read_completed_at_event_491() {
    let h = read_file(
        &dir("cas-register/bad/cas-failure.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    let (ops, report) = check_history(
        h,
        Some(ModelKind::CasRegister),
        Some(&json!(0)),
        NilRead::Any,
        &CheckOptions::default(),
    )
    .unwrap();
    let f = report.partitions[0].failure.as_ref().unwrap();
    let op = ops.iter().find(|o| o.id == f.op).unwrap();
    assert_eq!((op.f.as_str(), op.ret), ("read", Some(491)));
    assert_eq!(op.output, Some(json!(0)));
}
