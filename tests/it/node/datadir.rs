//! The amnesiac start's ordering: the amnesia mark is durable before the
//! identity that would otherwise make an empty log look recoverable.

use synod::node::identity::{
    AmnesiaReason, DataDir, Identity, StartFlags, StartMode, IDENTITY_FILE,
};
use synod::node::storage::StorageError;

/// No flag.
const PLAIN: StartFlags = StartFlags {
    bootstrap: false,
    recover_amnesiac: false,
};

fn me() -> Identity {
    Identity {
        cluster_id: "c".into(),
        node_id: 1,
    }
}

#[test]
fn a_crash_before_the_amnesia_mark_is_durable_restarts_amnesiac_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    // The mark runs before the identity exists; a "crash" inside it (an
    // error) leaves the directory without one.
    let crashed = DataDir::open_with(dir.path(), &me(), PLAIN, |storage| {
        assert_eq!(storage, root.join(synod::node::identity::STORAGE_DIR));
        assert!(
            !root.join(IDENTITY_FILE).exists(),
            "identity written before the mark"
        );
        Err(StorageError::Failed("simulated crash".into()))
    });
    assert!(crashed.is_err());
    let (data, mode) = DataDir::open_with(dir.path(), &me(), PLAIN, |_| Ok(())).unwrap();
    assert_eq!(mode, StartMode::Amnesiac(AmnesiaReason::NoIdentity));
    assert_eq!(data.read_identity().unwrap(), Some(me()));
}

#[test]
fn plain_open_writes_the_identity_first_so_a_crash_then_looks_recoverable() {
    // The hazard open_with exists for: after `open`'s amnesiac start and a
    // crash before the core's first record is durable, the directory says
    // Recover over an empty log.
    let dir = tempfile::tempdir().unwrap();
    let (data, mode) = DataDir::open(dir.path(), &me(), PLAIN).unwrap();
    assert!(matches!(mode, StartMode::Amnesiac(_)));
    drop(data); // the crash: nothing written after the identity
    let (_, mode) = DataDir::open(dir.path(), &me(), PLAIN).unwrap();
    assert_eq!(mode, StartMode::Recover);
}
