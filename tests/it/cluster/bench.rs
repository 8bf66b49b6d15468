//! `synod bench` end to end: a short run of a real 3-node cluster.

use std::process::Command;

#[test]
fn bench_json_has_the_documented_shape_and_some_operations_succeed() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_synod"))
        .args([
            "bench",
            "--nodes",
            "3",
            "--duration",
            "2",
            "--clients",
            "2",
            "--json",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    let object = value.as_object().unwrap();
    // Exactly the documented keys, in the documented order.
    let order: Vec<usize> = [
        "throughput_ops_s",
        "p50_ms",
        "p99_ms",
        "p999_ms",
        "fdatasync_ms",
    ]
    .iter()
    .map(|k| {
        stdout
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} missing"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "keys out of order: {stdout}"
    );
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "fdatasync_ms",
            "p50_ms",
            "p999_ms",
            "p99_ms",
            "throughput_ops_s"
        ]
    );
    for (key, v) in object {
        let x = v
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number: {v}"));
        assert!(x.is_finite() && x >= 0.0, "{key} = {x}");
    }
    assert!(
        object["throughput_ops_s"].as_f64().unwrap() > 0.0,
        "no operation succeeded"
    );
    assert!(object["p50_ms"].as_f64().unwrap() <= object["p999_ms"].as_f64().unwrap());
    // Errors are reported, not hidden.
    assert!(
        stderr.contains("indeterminate"),
        "no error summary: {stderr}"
    );
}

#[test]
fn bench_refuses_bad_arguments_with_usage_exit() {
    for args in [
        &["bench", "--clients", "0"][..],
        &["bench", "--duration", "0"],
        &["bench", "--mix", "frob:1"],
        &["bench", "--nodes", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_synod"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
}

/// Durable-write figures from a memory file system would be a lie: the bench
/// refuses tmpfs (`/dev/shm` is tmpfs on Linux).
#[cfg(target_os = "linux")]
#[test]
fn bench_refuses_a_tmpfs_data_dir() {
    let out = Command::new(env!("CARGO_BIN_EXE_synod"))
        .args(["bench", "--duration", "1", "--data-dir", "/dev/shm"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tmpfs"), "{stderr}");
}
