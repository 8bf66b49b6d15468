//! The data directory: its exclusive lock and the start-mode decision.

use synod::node::identity::{
    decide_start_mode, AmnesiaReason, DataDir, DataDirError, Identity, StartMode, IDENTITY_FILE,
    STALE_STORAGE_DIR,
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
        DataDir::open(dir.path(), &me(), true),
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
    let cases = [
        // (found, has_state, bootstrap) -> mode
        (None, false, true, StartMode::Fresh),
        (
            None,
            true,
            true,
            StartMode::Amnesiac(AmnesiaReason::StateWithoutIdentity),
        ),
        (
            None,
            false,
            false,
            StartMode::Amnesiac(AmnesiaReason::NoIdentity),
        ),
        (
            None,
            true,
            false,
            StartMode::Amnesiac(AmnesiaReason::NoIdentity),
        ),
        (Some(me()), true, false, StartMode::Recover),
        // A restart script that still says --bootstrap must not reset state.
        (Some(me()), true, true, StartMode::Recover),
        (
            Some(other_node.clone()),
            true,
            false,
            StartMode::Amnesiac(AmnesiaReason::Mismatch { found: other_node }),
        ),
        (
            Some(other_cluster.clone()),
            false,
            true,
            StartMode::Amnesiac(AmnesiaReason::Mismatch {
                found: other_cluster,
            }),
        ),
    ];
    for (found, has_state, bootstrap, expected) in cases {
        assert_eq!(
            decide_start_mode(found.as_ref(), has_state, &me(), bootstrap),
            expected,
            "found {found:?}, has_state {has_state}, bootstrap {bootstrap}"
        );
    }
}

#[test]
fn bootstrap_writes_the_identity_and_a_restart_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (data, mode) = DataDir::open(dir.path(), &me(), true).unwrap();
    assert_eq!(mode, StartMode::Fresh);
    assert_eq!(data.read_identity().unwrap(), Some(me()));
    std::fs::create_dir_all(data.storage_dir()).unwrap();
    drop(data);
    let (_, mode) = DataDir::open(dir.path(), &me(), false).unwrap();
    assert_eq!(mode, StartMode::Recover);
}

#[test]
fn a_wiped_directory_without_bootstrap_starts_amnesiac_and_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mode) = DataDir::open(dir.path(), &me(), false).unwrap();
    assert_eq!(mode, StartMode::Amnesiac(AmnesiaReason::NoIdentity));
    // The amnesiac start wrote the identity: what it persists from now on
    // is this node's own state.
    let (_, mode) = DataDir::open(dir.path(), &me(), false).unwrap();
    assert_eq!(mode, StartMode::Recover);
}

#[test]
fn another_nodes_directory_starts_amnesiac_with_its_storage_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let other = Identity { node_id: 3, ..me() };
    let (data, _) = DataDir::open(dir.path(), &other, true).unwrap();
    std::fs::create_dir_all(data.storage_dir()).unwrap();
    std::fs::write(data.storage_dir().join("marker"), b"node 3's log").unwrap();
    drop(data);

    let (data, mode) = DataDir::open(dir.path(), &me(), false).unwrap();
    assert_eq!(
        mode,
        StartMode::Amnesiac(AmnesiaReason::Mismatch { found: other })
    );
    assert!(!data.storage_dir().exists(), "node 3's log is not used");
    assert!(dir.path().join(STALE_STORAGE_DIR).join("marker").exists());
    assert_eq!(data.read_identity().unwrap(), Some(me()));
}

#[test]
fn a_damaged_identity_file_refuses_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(IDENTITY_FILE), b"{\"cluster_id\": \"lo").unwrap();
    match DataDir::open(dir.path(), &me(), false) {
        Err(err @ DataDirError::CorruptIdentity { .. }) => {
            assert!(err.to_string().contains(IDENTITY_FILE), "{err}");
        }
        other => panic!("expected a damaged identity error, got {other:?}"),
    }
}
