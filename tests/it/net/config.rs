//! The cluster config file: every error names the file, with line and column
//! where the parser knows them.

use std::path::Path;

use synod::node::config::{ClusterConfig, ConfigError};

const GOOD: &str = r#"cluster_id = "local"
[[node]]
id = 1
peer = "127.0.0.1:7001"
client = "127.0.0.1:8001"
[[node]]
id = 2
peer = "127.0.0.1:7002"
client = "127.0.0.1:8002"
[tuning]
tick_ms = 5
"#;

fn parse(text: &str) -> Result<ClusterConfig, ConfigError> {
    ClusterConfig::parse(text, Path::new("cluster.toml"))
}

#[test]
fn config_example_parses_with_defaults_for_unset_tuning() {
    let config = parse(GOOD).expect("valid");
    assert_eq!(config.cluster_id, "local");
    assert_eq!(config.ids(), vec![1, 2]);
    assert_eq!(config.node(2).unwrap().client.port(), 8002);
    assert_eq!(config.tuning.tick_ms, 5);
    assert_eq!(
        config.tuning.max_frame_bytes,
        synod::node::config::Tuning::default().max_frame_bytes
    );
    // The renderer writes what the parser reads.
    assert_eq!(
        parse(&config.to_toml().unwrap()).expect("round trip"),
        config
    );
}

fn syntax_position(text: &str) -> (Option<usize>, Option<usize>, String) {
    match parse(text) {
        Err(ConfigError::Syntax {
            line,
            column,
            message,
            file,
        }) => {
            assert_eq!(file, Path::new("cluster.toml"));
            (line, column, message)
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn config_unknown_top_level_key_is_rejected_with_line_and_column() {
    let text = GOOD.replace("[tuning]", "clusterid = \"typo\"\n[tuning]");
    let (line, column, message) = syntax_position(&text);
    assert_eq!((line, column), (Some(10), Some(1)), "{message}");
    assert!(message.contains("clusterid"), "{message}");
    let shown = parse(&text).unwrap_err().to_string();
    assert!(shown.starts_with("cluster.toml:10:1: "), "{shown}");
}

#[test]
fn config_unknown_key_in_tuning_and_node_is_rejected_with_position() {
    let (line, column, message) =
        syntax_position(&GOOD.replace("tick_ms = 5", "tick_ms = 5\n  tik_ms = 5"));
    assert_eq!((line, column), (Some(12), Some(3)), "{message}");
    let (line, column, message) = syntax_position(&GOOD.replace("id = 2\n", "id = 2\nport = 3\n"));
    assert_eq!((line, column), (Some(8), Some(1)), "{message}");
}

#[test]
fn config_malformed_address_is_rejected_with_position() {
    let (line, column, message) = syntax_position(&GOOD.replace("127.0.0.1:8002", "localhost"));
    assert_eq!((line, column), (Some(9), Some(10)), "{message}");
}

#[test]
fn config_duplicate_node_id_is_rejected_naming_the_file() {
    let err = parse(&GOOD.replace("id = 2", "id = 1")).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("cluster.toml: "), "{shown}");
    assert!(shown.contains("duplicate node id 1"), "{shown}");
}

#[test]
fn config_duplicate_address_is_rejected() {
    let err = parse(&GOOD.replace("127.0.0.1:8002", "127.0.0.1:7001")).unwrap_err();
    assert!(
        err.to_string().contains("duplicate address 127.0.0.1:7001"),
        "{err}"
    );
}

#[test]
fn config_impossible_tuning_and_empty_cluster_are_rejected() {
    let err = parse(&GOOD.replace("tick_ms = 5", "tick_ms = 0")).unwrap_err();
    assert!(
        err.to_string().contains("tick_ms must be positive"),
        "{err}"
    );
    let err = parse("cluster_id = \"x\"\nnode = []\n").unwrap_err();
    assert!(err.to_string().contains("at least one member"), "{err}");
    let err = parse(&GOOD.replace("\"local\"", "\"\"")).unwrap_err();
    assert!(err.to_string().contains("cluster_id"), "{err}");
}

#[test]
fn config_missing_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let err = ClusterConfig::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.toml"), "{err}");
    std::fs::write(&path, GOOD).unwrap();
    assert_eq!(ClusterConfig::load(&path).unwrap().ids(), vec![1, 2]);
}
