//! Each format parsed, with every construct of its grammar; writers round
//! trip; chunking never changes the result; the generator is deterministic.

use proptest::prelude::*;
use serde_json::json;
use synod::history::generate::{generate_kv, GenOptions};
use synod::history::{
    read_file, read_reader_chunked, read_str, read_str_chunked, write_edn, write_jsonl, Chunking,
    Event, EventKind, Format, History, HistoryError, Process, ReadOptions, Value,
};

fn opts(format: Format) -> ReadOptions {
    ReadOptions {
        format,
        ..ReadOptions::default()
    }
}

fn read(text: &str, format: Format) -> History {
    read_str(text, &opts(format)).unwrap_or_else(|e| panic!("{e}"))
}

/// The events without their line numbers (which depend on the layout).
fn unlined(h: &History) -> Vec<Event> {
    h.events
        .iter()
        .cloned()
        .map(|mut e| {
            e.line = 0;
            e
        })
        .collect()
}

#[test]
fn jsonl_reads_every_field_and_ignores_unknown_ones() {
    let text = r#"{"process":0,"type":"invoke","f":"write","value":3,"time":10,"index":0,"extra":[1]}

{"process":"nemesis","type":"info","f":"start","value":null}
{"process":0,"type":"ok","f":"write","key":"k1","value":{"a":[1,2.5]},"time":20,"index":1}
{"process":"p7","type":"fail","f":"cas","value":[1,2]}
"#;
    let h = read(text, Format::Jsonl);
    assert_eq!(h.events.len(), 4);
    let e = &h.events[0];
    assert_eq!(
        (
            e.process.clone(),
            e.kind,
            e.f.as_str(),
            e.value.clone(),
            e.time,
            e.index,
            e.line
        ),
        (
            Process::Client(0),
            EventKind::Invoke,
            "write",
            json!(3),
            Some(10),
            Some(0),
            1
        )
    );
    assert_eq!(h.events[1].process, Process::Nemesis);
    assert_eq!(h.events[1].line, 3);
    assert_eq!(h.events[2].key, Some(json!("k1")));
    assert_eq!(h.events[2].value, json!({"a": [1, 2.5]}));
    assert_eq!(h.events[3].process, Process::Named("p7".to_string()));
    assert_eq!(h.events[3].kind, EventKind::Fail);
}

const OPS: [&str; 3] = [
    "{:process 0, :type :invoke, :f :read, :value nil}",
    "{:process 0, :type :ok, :f :read, :value 3}",
    "{:process :nemesis, :type :info, :f :start, :value \"partition\"}",
];

#[test]
fn edn_vector_list_and_stream_of_maps_read_the_same() {
    let vector = format!("[{}\n {}\n {}]\n", OPS[0], OPS[1], OPS[2]);
    let list = format!("({}\n {}\n {})", OPS[0], OPS[1], OPS[2]);
    let stream = format!("{}\n{}\n{}\n", OPS[0], OPS[1], OPS[2]);
    let v = read(&vector, Format::Edn);
    assert_eq!(v.events.len(), 3);
    assert_eq!(v.events[1].value, json!(3));
    assert_eq!(v.events[2].process, Process::Nemesis);
    assert_eq!(v, read(&list, Format::Edn));
    assert_eq!(v, read(&stream, Format::Edn));
    assert_eq!(read("[]", Format::Edn).events.len(), 0);
    assert_eq!(read("  ; only a comment\n", Format::Edn).events.len(), 0);
}

#[test]
fn edn_tagged_maps_are_operations() {
    let text = "#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 1, :f :write, :value 2}\n\
                #jepsen.history.Op {:index 1, :time 9, :type :ok, :process 1, :f :write, :value 2}\n";
    let h = read(text, Format::Edn);
    assert_eq!(h.events.len(), 2);
    assert_eq!(h.events[1].index, Some(1));
    assert_eq!(h.events[1].time, Some(9));
    assert_eq!(h.events[1].kind, EventKind::Ok);
}

#[test]
fn edn_full_grammar_maps_onto_json_values() {
    let text = r#"; a history
[#_{:process 9 :type :invoke :f :gone}
 {:process 0,, :type :invoke, :f :txn, :error #{:a :b}, :value [[:r :x nil] (:w y 2N) #{1}]}
 {:process 0 :type :ok :f txn ; symbols for names
  :value {:s "q\"\\\n\t\u00e9", :c [\a \newline \u0041], :f [1.5 -2e3 3M 7/2 -0 +4],
          :b [true false nil], 1 :int-key, [1 2] :vec-key, :t #inst "2020-01-01", :n 123456789012345678901234567890}}
]"#;
    let h = read(text, Format::Edn);
    assert_eq!(h.events.len(), 2);
    // The canonical form of docs/history-format.md: keywords, symbols,
    // characters, big decimals, ratios and big integers are tagged strings,
    // sets sorted one-entry objects, map keys that are not strings tagged.
    assert_eq!(
        h.events[0].value,
        json!([["\0:r", "\0:x", null], ["\0:w", "\0'y", 2], {"\0#": [1]}])
    );
    assert_eq!(h.events[1].f, "txn");
    assert_eq!(
        h.events[1].value,
        json!({
            "\0:s": "q\"\\\n\té",
            "\0:c": ["\0\\a", "\0\\\n", "\0\\A"],
            "\0:f": [1.5, -2000.0, "\0M3", "\0/7/2", 0, 4],
            "\0:b": [true, false, null],
            "\0=1": "\0:int-key",
            "\0=[1,2]": "\0:vec-key",
            "\0:t": "2020-01-01",
            "\0:n": "\0N123456789012345678901234567890"
        })
    );
    assert_eq!(h.events[1].line, 4);
}

#[test]
fn txt_lines_parse_with_and_without_a_logger_prefix() {
    let text = "3\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 3\t:ok\t:read\t[1 \"a\"]\n\
                \n\
                INFO  jepsen.util - :nemesis\t:info\t:start\t{:partition #{1 2}}\n\
                4\t:fail\t:cas\t[1 2]\t:unexpected-value\n\
                5\t:invoke\t:read\n";
    let h = read(text, Format::Txt);
    assert_eq!(h.events.len(), 5);
    assert_eq!(h.events[0].process, Process::Client(3));
    assert_eq!(h.events[1].kind, EventKind::Ok);
    assert_eq!(h.events[1].value, json!([1, "a"]));
    assert_eq!(h.events[1].line, 2);
    assert_eq!(h.events[2].process, Process::Nemesis);
    assert_eq!(h.events[2].value, json!({"\0:partition": {"\0#": [1, 2]}}));
    assert_eq!(h.events[2].line, 4);
    assert_eq!(h.events[3].value, json!([1, 2]));
    assert_eq!(h.events[4].value, Value::Null);
}

#[test]
fn independent_tuples_become_key_and_value_unless_a_key_field_wins() {
    let independent = ReadOptions {
        independent: true,
        ..opts(Format::Edn)
    };
    let text = "{:process 0 :type :invoke :f :write :value [7 3]}\n\
                {:process 0 :type :ok :f :write :key 9 :value [7 3]}\n\
                {:process :nemesis :type :info :f :start :value nil}\n\
                {:process 0 :type :info :f :write :value nil}\n";
    let h = read_str(text, &independent).unwrap();
    assert_eq!(
        (h.events[3].key.clone(), h.events[3].value.clone()),
        (None, Value::Null)
    );
    assert_eq!(
        (h.events[0].key.clone(), h.events[0].value.clone()),
        (Some(json!(7)), json!(3))
    );
    assert_eq!(
        (h.events[1].key.clone(), h.events[1].value.clone()),
        (Some(json!(9)), json!([7, 3]))
    );
    assert_eq!(h.events[2].key, None);
    let txt = ReadOptions {
        independent: true,
        ..opts(Format::Txt)
    };
    let h = read_str("1\t:invoke\t:read\t[\"k\" nil]\n", &txt).unwrap();
    assert_eq!(
        (h.events[0].key.clone(), h.events[0].value.clone()),
        (Some(json!("k")), Value::Null)
    );
    let jsonl = ReadOptions {
        independent: true,
        ..opts(Format::Jsonl)
    };
    let h = read_str(
        r#"{"process":1,"type":"invoke","f":"read","value":["k",null]}"#,
        &jsonl,
    )
    .unwrap();
    assert_eq!(h.events[0].key, Some(json!("k")));
    // Without the option the tuple is the value.
    let h = read(
        "{:process 0 :type :invoke :f :write :value [7 3]}",
        Format::Edn,
    );
    assert_eq!(
        (h.events[0].key.clone(), h.events[0].value.clone()),
        (None, json!([7, 3]))
    );
}

#[test]
fn auto_format_follows_the_extension_then_the_first_character() {
    let dir = tempfile::tempdir().unwrap();
    let edn = "{:process 0, :type :invoke, :f :read, :value nil}\n";
    let jsonl = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n";
    let txt = "0\t:invoke\t:read\tnil\n";
    for (name, text) in [
        ("a.edn", edn),
        ("a.jsonl", jsonl),
        ("a.json", jsonl),
        ("a.txt", txt),
        ("a.log", txt),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let h = read_file(&path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(h.events.len(), 1, "{name}");
    }
    // No telling extension: sniffed.
    for text in [edn, jsonl, txt, "[]", "(\n)", "; c\n"] {
        let path = dir.path().join("history.data");
        std::fs::write(&path, text).unwrap();
        read_file(&path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    let path = dir.path().join("history.data");
    std::fs::write(&path, "  @oops").unwrap();
    let err = read_file(&path, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, HistoryError::UnknownFormat { ref found, .. } if found == "@"),
        "{err}"
    );
}

#[test]
fn more_events_than_the_limit_is_an_error_naming_the_limit() {
    let text = "[{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :read}\n{:process 1 :type :invoke :f :read}]";
    let limited = ReadOptions {
        max_events: 2,
        ..opts(Format::Edn)
    };
    let err = read_str(text, &limited).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::TooManyEvents {
                line: 3,
                limit: 2,
                ..
            }
        ),
        "{err}"
    );
    let exact = ReadOptions {
        max_events: 3,
        ..opts(Format::Edn)
    };
    assert_eq!(read_str(text, &exact).unwrap().events.len(), 3);
}

fn tricky_history() -> History {
    let ev = |process, kind, f: &str, key: Option<Value>, value, time, index| Event {
        process,
        kind,
        f: f.to_string(),
        key,
        value,
        time,
        index,
        line: 0,
    };
    History {
        events: vec![
            ev(
                Process::Client(0),
                EventKind::Invoke,
                "write",
                None,
                json!("a \"q\" \\ \n\t\u{1} é"),
                Some(1),
                Some(0),
            ),
            ev(
                Process::Client(-3),
                EventKind::Ok,
                "cas",
                Some(json!("k")),
                json!([1, 2.5, -7, u64::MAX]),
                None,
                None,
            ),
            ev(
                Process::Nemesis,
                EventKind::Info,
                "start",
                None,
                json!({"x": [true, null], "a b": {}, "1": 2}),
                None,
                None,
            ),
            ev(
                Process::Named("worker-1".into()),
                EventKind::Fail,
                "odd name!",
                Some(json!([1, 2])),
                json!(null),
                None,
                None,
            ),
            ev(
                Process::Named("has space".into()),
                EventKind::Info,
                "txn",
                None,
                json!([["r", "x", null], ["w", "y", 1e300]]),
                None,
                None,
            ),
        ],
    }
}

#[test]
fn writers_round_trip_through_the_readers() {
    let generated = generate_kv(&GenOptions {
        ops: 300,
        keys: 3,
        clients: 7,
        seed: 11,
        info_share: 0.2,
        invalid: true,
    })
    .unwrap();
    for history in [tricky_history(), generated] {
        let mut jsonl = Vec::new();
        write_jsonl(&mut jsonl, &history).unwrap();
        let back = read(std::str::from_utf8(&jsonl).unwrap(), Format::Jsonl);
        assert_eq!(unlined(&back), unlined(&history));
        let mut edn = Vec::new();
        write_edn(&mut edn, &history).unwrap();
        let back = read(std::str::from_utf8(&edn).unwrap(), Format::Edn);
        assert_eq!(unlined(&back), unlined(&history));
        // One event per line in both.
        assert!(back.events.iter().enumerate().all(|(i, e)| e.line == i + 1));
    }
}

#[test]
fn edn_writer_uses_keywords_for_type_and_f() {
    let mut out = Vec::new();
    write_edn(&mut out, &tricky_history()).unwrap();
    let text = String::from_utf8(out).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(
            "{:process 0, :type :invoke, :f :write, :value \"a \\\"q\\\" \\\\ \\n\\t\\u0001 é\""
        ),
        "{first}"
    );
    assert!(text.contains(":process :nemesis, :type :info, :f :start"));
}

#[test]
fn generator_is_deterministic_and_marks_crashed_processes() {
    let options = GenOptions {
        ops: 2000,
        keys: 10,
        clients: 50,
        seed: 3,
        info_share: 0.1,
        invalid: false,
    };
    let a = generate_kv(&options).unwrap();
    assert_eq!(a, generate_kv(&options).unwrap());
    assert_eq!(a.events.len(), 4000);
    let infos = a
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Info)
        .count();
    assert!(
        (100..=300).contains(&infos),
        "{infos} info events for a 10% share of 2000"
    );
    // Each process runs one operation at a time, and never again after an info.
    let mut open = std::collections::HashMap::new();
    let mut crashed = std::collections::HashSet::new();
    for e in &a.events {
        assert!(
            !crashed.contains(&e.process),
            "crashed process reused: {e:?}"
        );
        match e.kind {
            EventKind::Invoke => assert!(open.insert(e.process.clone(), e.f.clone()).is_none()),
            kind => {
                assert_eq!(open.remove(&e.process), Some(e.f.clone()));
                if kind == EventKind::Info {
                    crashed.insert(e.process.clone());
                }
            }
        }
    }
    assert!(open.is_empty());
}

#[test]
fn invalid_generation_changes_exactly_one_get() {
    for (ops, keys, clients, seed) in [(2000, 10, 50, 1), (5000, 100, 8, 2), (4, 1, 2, 0)] {
        let mut options = GenOptions {
            ops,
            keys,
            clients,
            seed,
            info_share: 0.1,
            invalid: false,
        };
        let valid = generate_kv(&options).unwrap();
        options.invalid = true;
        let invalid = generate_kv(&options).unwrap();
        let differing: Vec<_> = valid
            .events
            .iter()
            .zip(&invalid.events)
            .filter(|(a, b)| a != b)
            .map(|(_, b)| b.clone())
            .collect();
        if invalid.events.len() == valid.events.len() {
            assert_eq!(differing.len(), 1, "{ops} {keys} {clients} {seed}");
            assert_eq!(
                (differing[0].f.as_str(), differing[0].kind),
                ("get", EventKind::Ok)
            );
        } else {
            // No get qualified: put, put and a stale get were appended.
            assert!(differing.is_empty());
            assert_eq!(invalid.events.len(), valid.events.len() + 6);
            let last = invalid.events.last().unwrap();
            assert_eq!((last.f.as_str(), last.kind), ("get", EventKind::Ok));
        }
    }
}

#[test]
fn generator_rejects_out_of_range_options() {
    let base = GenOptions {
        ops: 10,
        keys: 1,
        clients: 1,
        seed: 0,
        info_share: 0.0,
        invalid: false,
    };
    for bad in [
        GenOptions {
            keys: 0,
            ..base.clone()
        },
        GenOptions {
            clients: 0,
            ..base.clone()
        },
        GenOptions {
            info_share: 1.5,
            ..base.clone()
        },
        GenOptions {
            ops: usize::MAX,
            ..base.clone()
        },
    ] {
        assert!(generate_kv(&bad).is_err(), "{bad:?}");
    }
}

/// Lays a history out as EDN with the features that make chunk stitching
/// hard: maps over several lines, strings with newlines and brackets,
/// comments and discards between maps.
fn awkward_edn(history: &History, layout: &[u8]) -> String {
    let mut out = String::from("[\n");
    for (i, e) in history.events.iter().enumerate() {
        let mut one = Vec::new();
        synod::history::write_edn_event(&mut one, e).unwrap();
        let one = String::from_utf8(one).unwrap();
        match layout[i % layout.len()] % 4 {
            0 => out.push_str(&one),
            1 => out.push_str(&one.replacen(", ", ",\n  ", 3)),
            2 => {
                out.push_str("; a comment with } and \"\n#_ {:junk \"multi\nline\n}\"}\n");
                out.push_str(&one);
            }
            _ => {
                let one = one.trim_end().trim_end_matches('}');
                out.push_str(one);
                // A line inside a string that looks like an operation map:
                // a chunk may be cut before it, and must be stitched right.
                out.push_str(
                    ",\n :note \"a string\nover ] lines }\n{:process 1 :type :ok :f :fake}\n\"}\n",
                );
            }
        }
    }
    out.push_str("]\n");
    out
}

/// A reader that hands out a few bytes at a time, as a pipe may.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_never_changes_what_is_read(
        seed in 0u64..1000,
        layout in proptest::collection::vec(any::<u8>(), 1..8),
        chunk in 1usize..400,
        block in 1usize..2000,
    ) {
        let history = generate_kv(&GenOptions { ops: 60, keys: 3, clients: 4, seed, info_share: 0.2, invalid: false }).unwrap();
        let text = awkward_edn(&history, &layout);
        let whole = read_str(&text, &opts(Format::Edn)).unwrap();
        prop_assert_eq!(unlined(&whole), unlined(&history));
        let chunking = Chunking { block_bytes: block, chunk_bytes: chunk };
        let chunked = read_str_chunked(&text, &opts(Format::Edn), chunking).unwrap();
        prop_assert_eq!(&chunked, &whole);
        let trickle = Trickle { bytes: text.as_bytes(), step: 1 + seed as usize % 5 };
        let streamed = read_reader_chunked(trickle, "<bytes>", &opts(Format::Edn), chunking).unwrap();
        prop_assert_eq!(&streamed, &whole);
        // The same for the line formats.
        let mut jsonl = Vec::new();
        write_jsonl(&mut jsonl, &history).unwrap();
        let whole = read_reader_chunked(&jsonl[..], "<bytes>", &opts(Format::Jsonl), Chunking::default()).unwrap();
        let chunked = read_reader_chunked(&jsonl[..], "<bytes>", &opts(Format::Jsonl), chunking).unwrap();
        prop_assert_eq!(chunked, whole);
    }
}

#[test]
fn edn_literals_parse_as_values_and_junk_after_them_is_an_error() {
    use synod::history::parse_edn_value;
    assert_eq!(
        parse_edn_value(" {:x 0 :y 0} ; init").unwrap(),
        json!({"\0:x": 0, "\0:y": 0})
    );
    assert_eq!(parse_edn_value("nil").unwrap(), Value::Null);
    assert_eq!(
        parse_edn_value("[1 2] 3").unwrap_err().to_string(),
        "<value>:1:7: expected the end of the value, found `3`"
    );
    assert_eq!(
        parse_edn_value("").unwrap_err().to_string(),
        "<value>:1:1: expected a value, found end of input"
    );
}

#[test]
fn file_format_follows_the_flag_then_the_extension_then_the_content() {
    use synod::history::file_format;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("h.data");
    std::fs::write(&data, "\n  {\"process\":0}").unwrap();
    assert_eq!(file_format(&data, Format::Auto).unwrap(), Format::Jsonl);
    assert_eq!(file_format(&data, Format::Txt).unwrap(), Format::Txt);
    std::fs::write(&data, "{:process 0}").unwrap();
    assert_eq!(file_format(&data, Format::Auto).unwrap(), Format::Edn);
    std::fs::write(&data, "INFO x - 1\t:invoke\t:read\tnil").unwrap();
    assert_eq!(file_format(&data, Format::Auto).unwrap(), Format::Txt);
    assert_eq!(
        file_format(&dir.path().join("absent.edn"), Format::Auto).unwrap(),
        Format::Edn
    );
    assert!(matches!(
        file_format(&dir.path().join("absent"), Format::Auto),
        Err(HistoryError::Io { .. })
    ));
}

#[test]
fn batched_reading_delivers_every_event_in_order_and_counts_toward_the_limit() {
    use synod::history::{read_file_batched, read_reader_batched};
    let history = generate_kv(&GenOptions {
        ops: 400,
        keys: 5,
        clients: 6,
        seed: 5,
        info_share: 0.1,
        invalid: false,
    })
    .unwrap();
    let mut edn = Vec::new();
    write_edn(&mut edn, &history).unwrap();
    let whole = read_str(std::str::from_utf8(&edn).unwrap(), &opts(Format::Edn)).unwrap();
    let small = Chunking {
        block_bytes: 4096,
        chunk_bytes: 512,
    };
    let mut batches = Vec::new();
    let n = read_reader_batched(&edn[..], "<bytes>", &opts(Format::Edn), small, |b| {
        batches.push(b)
    })
    .unwrap();
    assert_eq!(n, 800);
    assert!(batches.len() > 10, "{} batches", batches.len());
    assert_eq!(batches.concat(), whole.events);
    // The limit counts delivered events too.
    let limited = ReadOptions {
        max_events: 500,
        ..opts(Format::Edn)
    };
    let err = read_reader_batched(&edn[..], "<bytes>", &limited, small, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::TooManyEvents {
                line: 501,
                limit: 500,
                ..
            }
        ),
        "{err}"
    );
    // From a file, by extension.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.edn");
    std::fs::write(&path, &edn).unwrap();
    let mut all = Vec::new();
    let n = read_file_batched(&path, &ReadOptions::default(), |b| all.extend(b)).unwrap();
    assert_eq!((n, all), (800, whole.events));
}

/// Found by fuzzing `history_parse`: with `Format::Auto`, a first block of
/// blank lines settled the format before any content was seen, so the same
/// input read differently with a small block size.
#[test]
fn leading_blank_lines_do_not_decide_the_format() {
    let mut text = "\n".repeat(300);
    text.push_str("{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1}\n");
    text.push_str("{\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 1}\n");
    let whole = read_reader_chunked(
        text.as_bytes(),
        "<bytes>",
        &opts(Format::Auto),
        Chunking::default(),
    )
    .unwrap();
    assert_eq!(whole.events.len(), 2);
    for block in [1, 7, 64, 299, 300, 301] {
        let chunking = Chunking {
            block_bytes: block,
            chunk_bytes: 16,
        };
        let small = read_reader_chunked(text.as_bytes(), "<bytes>", &opts(Format::Auto), chunking);
        assert_eq!(
            small.as_ref().ok(),
            Some(&whole),
            "block {block}: {small:?}"
        );
    }
}
