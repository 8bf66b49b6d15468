//! Every reference history under `histories/reference/knossos` reads, with
//! its event count pinned (a changed count is a changed reader). Each count
//! equals the file's number of `:type` fields, counted independently with
//! `grep -o :type FILE | wc -l`.

use std::path::{Path, PathBuf};

use synod::history::{read_file, EventKind, Process, ReadOptions};

/// (path under `histories/reference/knossos/`, events).
const EVENT_COUNTS: &[(&str, usize)] = &[
    ("cas-register/bad/bad-analysis.edn", 16),
    ("cas-register/bad/cas-failure.edn", 590),
    ("cas-register/bad/immediate-failure.edn", 4),
    ("cas-register/bad/mongodb-v0-ack-rollback-6.edn", 1492),
    ("cas-register/bad/rethink-fail-minimal.edn", 8),
    ("cas-register/bad/rethink-fail-smaller.edn", 500),
    ("cas-register/bad/rethink-fail.edn", 500),
    ("cas-register/good/cas-register-bug.edn", 11),
    ("cas-register/good/memstress3-0.edn", 634),
    ("cas-register/good/memstress3-1.edn", 610),
    ("cas-register/good/memstress3-10.edn", 592),
    ("cas-register/good/memstress3-11.edn", 640),
    ("cas-register/good/memstress3-12.edn", 608),
    ("cas-register/good/memstress3-13.edn", 608),
    ("cas-register/good/memstress3-14.edn", 610),
    ("cas-register/good/memstress3-15.edn", 616),
    ("cas-register/good/memstress3-16.edn", 566),
    ("cas-register/good/memstress3-17.edn", 622),
    ("cas-register/good/memstress3-18.edn", 596),
    ("cas-register/good/memstress3-19.edn", 612),
    ("cas-register/good/memstress3-2.edn", 598),
    ("cas-register/good/memstress3-20.edn", 200),
    ("cas-register/good/memstress3-21.edn", 208),
    ("cas-register/good/memstress3-22.edn", 212),
    ("cas-register/good/memstress3-23.edn", 226),
    ("cas-register/good/memstress3-24.edn", 186),
    ("cas-register/good/memstress3-25.edn", 200),
    ("cas-register/good/memstress3-26.edn", 194),
    ("cas-register/good/memstress3-27.edn", 190),
    ("cas-register/good/memstress3-28.edn", 210),
    ("cas-register/good/memstress3-29.edn", 206),
    ("cas-register/good/memstress3-3.edn", 592),
    ("cas-register/good/memstress3-30.edn", 101),
    ("cas-register/good/memstress3-31.edn", 103),
    ("cas-register/good/memstress3-32.edn", 93),
    ("cas-register/good/memstress3-33.edn", 88),
    ("cas-register/good/memstress3-34.edn", 95),
    ("cas-register/good/memstress3-35.edn", 92),
    ("cas-register/good/memstress3-36.edn", 113),
    ("cas-register/good/memstress3-37.edn", 101),
    ("cas-register/good/memstress3-38.edn", 103),
    ("cas-register/good/memstress3-39.edn", 112),
    ("cas-register/good/memstress3-4.edn", 600),
    ("cas-register/good/memstress3-40.edn", 280),
    ("cas-register/good/memstress3-41.edn", 282),
    ("cas-register/good/memstress3-42.edn", 284),
    ("cas-register/good/memstress3-43.edn", 274),
    ("cas-register/good/memstress3-44.edn", 272),
    ("cas-register/good/memstress3-45.edn", 312),
    ("cas-register/good/memstress3-46.edn", 264),
    ("cas-register/good/memstress3-47.edn", 290),
    ("cas-register/good/memstress3-48.edn", 278),
    ("cas-register/good/memstress3-49.edn", 258),
    ("cas-register/good/memstress3-5.edn", 606),
    ("cas-register/good/memstress3-50.edn", 218),
    ("cas-register/good/memstress3-51.edn", 217),
    ("cas-register/good/memstress3-52.edn", 221),
    ("cas-register/good/memstress3-53.edn", 230),
    ("cas-register/good/memstress3-54.edn", 220),
    ("cas-register/good/memstress3-55.edn", 214),
    ("cas-register/good/memstress3-56.edn", 215),
    ("cas-register/good/memstress3-57.edn", 212),
    ("cas-register/good/memstress3-58.edn", 219),
    ("cas-register/good/memstress3-59.edn", 224),
    ("cas-register/good/memstress3-6.edn", 588),
    ("cas-register/good/memstress3-60.edn", 183),
    ("cas-register/good/memstress3-61.edn", 171),
    ("cas-register/good/memstress3-62.edn", 177),
    ("cas-register/good/memstress3-63.edn", 189),
    ("cas-register/good/memstress3-64.edn", 179),
    ("cas-register/good/memstress3-65.edn", 169),
    ("cas-register/good/memstress3-66.edn", 193),
    ("cas-register/good/memstress3-67.edn", 197),
    ("cas-register/good/memstress3-68.edn", 200),
    ("cas-register/good/memstress3-69.edn", 188),
    ("cas-register/good/memstress3-7.edn", 632),
    ("cas-register/good/memstress3-70.edn", 594),
    ("cas-register/good/memstress3-71.edn", 614),
    ("cas-register/good/memstress3-72.edn", 570),
    ("cas-register/good/memstress3-73.edn", 592),
    ("cas-register/good/memstress3-74.edn", 588),
    ("cas-register/good/memstress3-75.edn", 572),
    ("cas-register/good/memstress3-76.edn", 588),
    ("cas-register/good/memstress3-77.edn", 626),
    ("cas-register/good/memstress3-78.edn", 586),
    ("cas-register/good/memstress3-79.edn", 608),
    ("cas-register/good/memstress3-8.edn", 634),
    ("cas-register/good/memstress3-80.edn", 309),
    ("cas-register/good/memstress3-81.edn", 278),
    ("cas-register/good/memstress3-82.edn", 284),
    ("cas-register/good/memstress3-83.edn", 292),
    ("cas-register/good/memstress3-84.edn", 309),
    ("cas-register/good/memstress3-85.edn", 289),
    ("cas-register/good/memstress3-86.edn", 300),
    ("cas-register/good/memstress3-87.edn", 271),
    ("cas-register/good/memstress3-88.edn", 285),
    ("cas-register/good/memstress3-89.edn", 322),
    ("cas-register/good/memstress3-9.edn", 632),
    ("cas-register/good/memstress3-90.edn", 160),
    ("cas-register/good/memstress3-91.edn", 154),
    ("cas-register/good/memstress3-92.edn", 153),
    ("cas-register/good/memstress3-93.edn", 156),
    ("cas-register/good/memstress3-94.edn", 149),
    ("cas-register/good/memstress3-95.edn", 154),
    ("cas-register/good/memstress3-96.edn", 146),
    ("cas-register/good/memstress3-97.edn", 153),
    ("cas-register/good/memstress3-98.edn", 147),
    ("cas-register/good/memstress3-99.edn", 140),
    ("cas-register/good/mongodb-v0-ack-rollback-.edn", 28),
    ("cas-register/good/mongodb-v0-ack-rollback-0.edn", 1404),
    ("cas-register/good/mongodb-v0-ack-rollback-1.edn", 1406),
    ("cas-register/good/mongodb-v0-ack-rollback-10.edn", 12),
    ("cas-register/good/mongodb-v0-ack-rollback-11.edn", 6),
    ("cas-register/good/mongodb-v0-ack-rollback-2.edn", 1432),
    ("cas-register/good/mongodb-v0-ack-rollback-3.edn", 1408),
    ("cas-register/good/mongodb-v0-ack-rollback-4.edn", 1466),
    ("cas-register/good/mongodb-v0-ack-rollback-5.edn", 1422),
    ("cas-register/good/mongodb-v0-ack-rollback-7.edn", 1470),
    ("cas-register/good/mongodb-v0-ack-rollback-8.edn", 1478),
    ("cas-register/good/mongodb-v0-ack-rollback-9.edn", 14),
    ("multi-register/good/multi-register.edn", 250),
    ("mutex/bad/etcd.edn", 1135),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("histories/reference/knossos")
}

fn edn_files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("reference folder readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root()).expect("under the root");
                files.push(rel.display().to_string());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_reference_history_reads_with_its_pinned_event_count() {
    let on_disk = edn_files_under(&root());
    let pinned: Vec<String> = EVENT_COUNTS.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(
        on_disk, pinned,
        "the pinned list names exactly the files on disk"
    );
    assert_eq!(on_disk.len(), 122);
    for (rel, count) in EVENT_COUNTS {
        let h =
            read_file(&root().join(rel), &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.events.len(), *count, "{rel}");
    }
}

#[test]
fn cas_failure_has_291_operations_in_590_events() {
    let h = read_file(
        &root().join("cas-register/bad/cas-failure.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(h.events.len(), 590);
    let invokes = h
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Invoke)
        .count();
    assert_eq!(invokes, 291);
    // Events keep file order, and their lines grow with it.
    assert!(h.events.windows(2).all(|w| w[0].line <= w[1].line));
    assert_eq!(h.events[0].line, 1);
}

#[test]
fn nemesis_only_history_has_no_client_operation() {
    let h = read_file(
        &root().join("cas-register/good/mongodb-v0-ack-rollback-.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert!(!h.events.is_empty());
    assert!(h
        .events
        .iter()
        .all(|e| e.process == Process::Nemesis && e.kind == EventKind::Info));
}

#[test]
fn multi_register_txn_values_are_lists_of_micro_ops() {
    let h = read_file(
        &root().join("multi-register/good/multi-register.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    let first = &h.events[0];
    assert_eq!(first.f, "txn");
    // Keywords in their canonical form (docs/history-format.md).
    assert_eq!(first.value, serde_json::json!([["\0:read", "\0:x", null]]));
    // The file opens with a comment line: the first map starts on line 2.
    assert_eq!(first.line, 2);
    assert_eq!(first.time, Some(7686455705));
}
