//! The data directory: its exclusive lock and the start-mode decision.

use synod::node::identity::{
    decide_start_mode, AmnesiaReason, DataDir, DataDirError, Identity, StartFlags, StartMode,
    StartRefusal, IDENTITY_FILE, STALE_STORAGE_DIR,
};

/// `--bootstrap`.
const BOOT: StartFlags = StartFlags {
    bootstrap: true,
    recover_amnesiac: false,
};

/// No flag.
const PLAIN: StartFlags = StartFlags {
    bootstrap: false,
    recover_amnesiac: false,
};

fn me() -> Identity {
    Identity {
        cluster_id: "local".to_string(),
        node_id: 1,
    }
}

#[test]
fn the_directory_lock_refuses_a_second_user_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let first = DataDir::lock(dir.path()).unwrap();
    match DataDir::lock(dir.path()) {
        Err(err @ DataDirError::Locked { .. }) => {
            let message = err.to_string();
            assert!(
                message.contains(&dir.path().display().to_string()),
                "{message}"
            );
            assert!(message.contains("in use"), "{message}");
        }
        other => panic!("a second user got {other:?}"),
    }
    // So does `open`, before it reads or changes anything.
    assert!(matches!(
        DataDir::open(dir.path(), &me(), BOOT),
        Err(DataDirError::Locked { .. })
    ));
    drop(first);
    DataDir::lock(dir.path()).unwrap();
}

#[test]
fn start_mode_decisions_cover_every_case() {
    let other_node = Identity { node_id: 2, ..me() };
    let other_cluster = Identity {
        cluster_id: "elsewhere".to_string(),
        ..me()
    };
    let mismatch = |found: &Identity| {
        Err(StartRefusal::Mismatch {
            found: found.clone(),
            expected: me(),
        })
    };
    let amnesiac = |reason| Ok(StartMode::Amnesiac(reason));
    let cases = [
        // (found, has_state, bootstrap, recover_amnesiac) -> mode
        (None, false, true, false, Ok(StartMode::Fresh)),
        (
            None,
            true,
            true,
            false,
            Err(StartRefusal::BootstrapOverState { found: None }),
        ),
        (
            None,
            true,
            true,
            true,
            amnesiac(AmnesiaReason::StateWithoutIdentity),
        ),
        (
            None,
            false,
            false,
            false,
            amnesiac(AmnesiaReason::NoIdentity),
        ),
        (
            None,
            true,
            false,
            false,
            amnesiac(AmnesiaReason::NoIdentity),
        ),
        (Some(me()), true, false, false, Ok(StartMode::Recover)),
        (
            Some(me()),
            true,
            false,
            true,
            amnesiac(AmnesiaReason::Requested),
        ),
        // --bootstrap never resets nor silently adopts existing state.
        (
            Some(me()),
            true,
            true,
            false,
            Err(StartRefusal::BootstrapOverState { found: Some(me()) }),
        ),
        // Never start as someone else.
        (
            Some(other_node.clone()),
            true,
            false,
            false,
            mismatch(&other_node),
        ),
        (
            Some(other_cluster.clone()),
            false,
            true,
            false,
            mismatch(&other_cluster),
        ),
        (
            Some(other_node.clone()),
            true,
            false,
            true,
            amnesiac(AmnesiaReason::Mismatch {
                found: other_node.clone(),
            }),
        ),
    ];
    for (found, has_state, bootstrap, recover, expected) in cases {
        assert_eq!(
            decide_start_mode(found.as_ref(), has_state, &me(), bootstrap, recover),
            expected,
            "found {found:?}, has_state {has_state}, bootstrap {bootstrap}, recover {recover}"
        );
    }
}

#[test]
fn bootstrap_writes_the_identity_and_a_restart_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (data, mode) = DataDir::open(dir.path(), &me(), BOOT).unwrap();
    assert_eq!(mode, StartMode::Fresh);
    assert_eq!(data.read_identity().unwrap(), Some(me()));
    std::fs::create_dir_all(data.storage_dir()).unwrap();
    drop(data);
    let (_, mode) = DataDir::open(dir.path(), &me(), PLAIN).unwrap();
    assert_eq!(mode, StartMode::Recover);
}

#[test]
fn a_wiped_directory_without_bootstrap_starts_amnesiac_and_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mode) = DataDir::open(dir.path(), &me(), PLAIN).unwrap();
    assert_eq!(mode, StartMode::Amnesiac(AmnesiaReason::NoIdentity));
    // The amnesiac start wrote the identity: what it persists from now on
    // is this node's own state.
    let (_, mode) = DataDir::open(dir.path(), &me(), PLAIN).unwrap();
    assert_eq!(mode, StartMode::Recover);
}

/// A directory of node 3 given to node 1 is refused, naming both, and left
/// as it was (it used to be renamed aside and taken over amnesiac); with
/// `--recover-amnesiac` its storage is set aside and node 1 joins amnesiac.
#[test]
fn another_nodes_directory_is_refused_untouched_unless_recovering_amnesiac() {
    let dir = tempfile::tempdir().unwrap();
    let other = Identity { node_id: 3, ..me() };
    let (data, _) = DataDir::open(dir.path(), &other, BOOT).unwrap();
    std::fs::create_dir_all(data.storage_dir()).unwrap();
    std::fs::write(data.storage_dir().join("marker"), b"node 3's log").unwrap();
    drop(data);

    for start in [PLAIN, BOOT] {
        let err = DataDir::open(dir.path(), &me(), start).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, DataDirError::Refused { .. }),
            "{start:?}: {message}"
        );
        assert!(
            message.contains("node 3") && message.contains("node 1"),
            "{message}"
        );
    }
    let data = DataDir::lock(dir.path()).unwrap();
    assert_eq!(data.read_identity().unwrap(), Some(other.clone()));
    assert!(data.storage_dir().join("marker").exists(), "left untouched");
    drop(data);

    let recover = StartFlags {
        recover_amnesiac: true,
        ..PLAIN
    };
    let (data, mode) = DataDir::open(dir.path(), &me(), recover).unwrap();
    assert_eq!(
        mode,
        StartMode::Amnesiac(AmnesiaReason::Mismatch { found: other })
    );
    assert!(!data.storage_dir().exists(), "node 3's log is not used");
    assert!(dir.path().join(STALE_STORAGE_DIR).join("marker").exists());
    assert_eq!(data.read_identity().unwrap(), Some(me()));
}

/// `--bootstrap` on a directory with state is refused and changes nothing.
#[test]
fn bootstrap_over_existing_state_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open(dir.path(), &me(), BOOT).unwrap();
    std::fs::create_dir_all(data.storage_dir()).unwrap();
    drop(data);
    let err = DataDir::open(dir.path(), &me(), BOOT).unwrap_err();
    assert!(err.to_string().contains("--bootstrap"), "{err}");
    let (_, mode) = DataDir::open(dir.path(), &me(), PLAIN).unwrap();
    assert_eq!(mode, StartMode::Recover);
}

#[test]
fn a_damaged_identity_file_refuses_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(IDENTITY_FILE), b"{\"cluster_id\": \"lo").unwrap();
    match DataDir::open(dir.path(), &me(), PLAIN) {
        Err(err @ DataDirError::CorruptIdentity { .. }) => {
            assert!(err.to_string().contains(IDENTITY_FILE), "{err}");
        }
        other => panic!("expected a damaged identity error, got {other:?}"),
    }
}
