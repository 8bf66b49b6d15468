//! Malformed input of every format is rejected with the file, line, column,
//! and what was expected versus found; no input makes a reader panic.

use proptest::prelude::*;
use synod::history::{
    read_file, read_str, read_str_chunked, Chunking, Format, HistoryError, ReadOptions,
};

fn error(format: Format, text: &str) -> String {
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    match read_str(text, &opts) {
        Ok(h) => panic!("accepted {text:?} as {} events", h.events.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_edn_is_rejected_with_line_and_column() {
    let op = "{:process 0 :type :invoke :f :read :value nil}";
    let cases = [
        (
            format!("[{op}\n }}"),
            "<string>:2:2: expected an operation map or `]`, found `}`",
        ),
        (
            format!("[{op}\n {{:process 0, :type :frobnicate, :f :read}}]"),
            "<string>:2:21: expected :invoke, :ok, :fail or :info for :type, found `:frobnicate`",
        ),
        (
            "[{:process 0 :type :invoke :f :read :value \"abc}]\n".to_string(),
            "<string>:1:44: expected `\"` to end this string, found end of input",
        ),
        (
            format!("[{op}\n"),
            "<string>:2:1: expected an operation map or `]`, found end of input",
        ),
        (
            format!("({op}\n"),
            "<string>:2:1: expected an operation map or `)`, found end of input",
        ),
        (
            format!("[{op}] x"),
            "<string>:1:50: expected the end of input after the closing bracket, found `x`",
        ),
        (
            "[{:type :invoke :f :read :value nil}]".to_string(),
            "<string>:1:2: operation without a process field",
        ),
        (
            "[{:process 0 :f :read}]".to_string(),
            "<string>:1:2: operation without a type field",
        ),
        (
            "[{:process 0 :type :ok}]".to_string(),
            "<string>:1:2: operation without an f field",
        ),
        (
            "[{:process 0 :type :invoke :f 5 :value nil}]".to_string(),
            "<string>:1:31: expected a name (keyword, symbol or string) for f, found 5",
        ),
        (
            "[{:process 0 :type :invoke :f :read :value [1 2}]".to_string(),
            "<string>:1:48: expected a value or `]`, found `}`",
        ),
        (
            "[{:process 0 :type :invoke :f :read :value 12abc}]".to_string(),
            "<string>:1:44: invalid number `12abc`",
        ),
        (
            "[{:process 0 :type :invoke :f :read :value \"\\q\"}]".to_string(),
            "<string>:1:45: unknown escape `\\q` in string",
        ),
        (
            "[{:process 0 :type :invoke :f :read :value}]".to_string(),
            "<string>:1:43: expected a value for `:value`, found `}`",
        ),
        (
            "[1 2]".to_string(),
            "<string>:1:2: expected an operation map or `]`, found `1`",
        ),
        (
            format!("{op}\n[1]"),
            "<string>:2:1: expected an operation map, found `[`",
        ),
        (
            "é".to_string(),
            "<string>:1:1: expected `[`, `(` or an operation map, found `é`",
        ),
        (
            "[{:process 0 :type :invoke :f :read :index -1}]".to_string(),
            "<string>:1:44: expected a non-negative :index, found -1",
        ),
        (
            format!("[{{:process 0 :type :invoke :f :read :time [\"soon\" {}]}}]", "1 ".repeat(40)),
            "<string>:1:43: expected an integer for :time, found [\"soon\" 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 ...",
        ),
        (
            "[#_]".to_string(),
            "<string>:1:4: expected a value, found `]`",
        ),
        (
            format!("[{}]", "[".repeat(300)),
            "<string>:1:2: expected an operation map or `]`, found `[`",
        ),
        (
            format!(
                "[{{:process 0 :type :invoke :f :read :value {}}}]",
                "[".repeat(300)
            ),
            "<string>:1:243: nesting deeper than 200 levels (the parser's limit)",
        ),
    ];
    for (text, expected) in &cases {
        assert_eq!(&error(Format::Edn, text), expected, "{text:?}");
    }
}

#[test]
fn independent_history_without_tuples_is_rejected_at_the_value() {
    let opts = ReadOptions {
        format: Format::Edn,
        independent: true,
        ..ReadOptions::default()
    };
    let err = read_str("{:process 0 :type :invoke :f :read :value 5}", &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<string>:1:43: expected a [key value] tuple (independent history), found 5"
    );
    // A nil is no tuple either, except on a fail or info completion.
    let err = read_str("{:process 0 :type :ok :f :read :value nil}", &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<string>:1:39: expected a [key value] tuple (independent history), found nil"
    );
}

#[test]
fn malformed_jsonl_is_rejected_with_line_and_column() {
    let ok = r#"{"process":0,"type":"invoke","f":"read"}"#;
    let cases = [
        (
            format!("{ok}\n{{\"process\":0,\"type\":\"frobnicate\",\"f\":\"read\"}}"),
            "<string>:2:32: unknown variant `frobnicate`, expected one of `invoke`, `ok`, `fail`, `info`",
        ),
        (format!("{ok}\n  {{\"process\":0,\"type\":\"ok\",,}}"), "<string>:2:28: key must be a string"),
        (r#"{"process":0,"type":"invoke"}"#.to_string(), "<string>:1:1: operation without an f field"),
        (
            r#"{"process":1.5,"type":"invoke","f":"x"}"#.to_string(),
            "<string>:1:14: invalid type: floating point `1.5`, expected an integer process or \"nemesis\"",
        ),
        (format!("{ok}\n\n[1]"), "<string>:3:1: expected a JSON object, found `[`"),
    ];
    for (text, expected) in &cases {
        assert_eq!(&error(Format::Jsonl, text), expected, "{text:?}");
    }
}

#[test]
fn malformed_txt_is_rejected_with_line_and_column() {
    let cases = [
        (
            "3\t:invoke\t:read\tnil\n3\t:frobnicate\t:read\tnil",
            "<string>:2:3: expected :invoke, :ok, :fail or :info, found `:frobnicate`",
        ),
        (
            "3 :invoke :read nil",
            "<string>:1:1: expected tab-separated `process type f value`, found 1 field(s)",
        ),
        (
            "3\t:invoke\t:read\t[1 2",
            "<string>:1:21: expected a value or `]`, found end of input",
        ),
        (
            "3\t:invoke\t:read\t1 2",
            "<string>:1:19: expected a tab or the end of the line after a value, found `2`",
        ),
        (
            "INFO jepsen - x\t:invoke\t:read\tnil",
            "<string>:1:15: expected a process (an integer or a keyword), found `x`",
        ),
        (
            "3\t:invoke\t\tnil",
            "<string>:1:11: expected a function name, found an empty field",
        ),
    ];
    for (text, expected) in &cases {
        assert_eq!(&error(Format::Txt, text), *expected, "{text:?}");
    }
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.edn");
    std::fs::write(
        &path,
        "[{:process 0 :type :invoke :f :read}\n\n      {:process 0 :type :ok :f :read}}",
    )
    .unwrap();
    let err = read_file(&path, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:38: expected an operation map or `]`, found `}}`",
            path.display()
        )
    );
    let missing = dir.path().join("absent.jsonl");
    let err = read_file(&missing, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, HistoryError::Io { ref file, .. } if file.ends_with("absent.jsonl")),
        "{err}"
    );
}

/// Valid inputs of each format, for mutation.
fn seeds() -> Vec<(Format, String)> {
    vec![
        (
            Format::Edn,
            "; c\n[{:process 0, :type :invoke, :f :cas, :value [1 #{2} (3)] :k {\"a\" 1.5e3}}\n \
             #jepsen.history.Op{:process :nemesis :type :info :f :start :value \"x\\ny\" :time 12N}\n #_ {} \\a]"
                .to_string(),
        ),
        (
            Format::Jsonl,
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"x\",\"value\":[1,{\"a\":2}]}\n"
                .to_string(),
        ),
        (
            Format::Txt,
            "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n3\t:ok\t:read\t[1 \"a\\tb\" {:x 2}]\t:err\n".to_string(),
        ),
    ]
}

fn read_any(format: Format, text: &str, independent: bool) {
    let opts = ReadOptions {
        format,
        independent,
        ..ReadOptions::default()
    };
    // Ok or Err are both fine; a panic fails the test. Tiny chunks exercise
    // the stitching of speculative parses too.
    let whole = read_str(text, &opts);
    let tiny = Chunking {
        block_bytes: 7,
        chunk_bytes: 3,
    };
    let chunked = read_str_chunked(text, &opts, tiny);
    assert_eq!(whole.is_ok(), chunked.is_ok(), "{text:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), independent: bool) {
        let text = String::from_utf8_lossy(&bytes);
        for format in [Format::Auto, Format::Edn, Format::Jsonl, Format::Txt] {
            read_any(format, &text, independent);
        }
    }

    #[test]
    fn random_edn_like_text_never_panics(text in "[\\[\\](){}#_:;\"\\\\ \n,a-z0-9.+-]{0,200}", independent: bool) {
        for format in [Format::Edn, Format::Txt] {
            read_any(format, &text, independent);
        }
    }

    #[test]
    fn mutated_valid_files_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        independent: bool,
    ) {
        let (format, text) = seeds().swap_remove(which);
        let mut bytes = text.into_bytes();
        for (at, byte, action) in edits {
            let i = at.index(bytes.len() + 1);
            match action {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        read_any(format, &text, independent);
        read_any(Format::Auto, &text, independent);
    }
}
