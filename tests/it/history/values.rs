//! Value equality as each format defines it (docs/history-format.md, "Value
//! equality"): JSON's for JSONL (integers exact at any size), Clojure's `=`
//! for EDN. Each case is a write and a later read that must (or must not)
//! see the same value.

use synod::checker::{check_history, CheckOptions, ModelKind, NilRead, Verdict};
use synod::history::{parse_edn_value, parse_json_value, read_str, Format, ReadOptions, Value};

fn verdict_of(text: &str, format: Format, kind: ModelKind, init: Option<&Value>) -> Verdict {
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let h = read_str(text, &opts).unwrap_or_else(|e| panic!("{e}"));
    let (_, report) = check_history(h, Some(kind), init, NilRead::Any, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    report.verdict
}

/// An EDN register history: a write of `written`, then a read of `read`.
fn edn_register(written: &str, read: &str) -> Verdict {
    let text = format!(
        "{{:process 0 :type :invoke :f :write :value {written}}}\n\
         {{:process 0 :type :ok :f :write :value {written}}}\n\
         {{:process 0 :type :invoke :f :read :value nil}}\n\
         {{:process 0 :type :ok :f :read :value {read}}}\n"
    );
    verdict_of(&text, Format::Edn, ModelKind::Register, None)
}

fn jsonl_line(f: &str, kind: &str, value: &str) -> String {
    format!(
        "{{\"process\": 0, \"type\": \"{kind}\", \"f\": \"{f}\", \"key\": 1, \"value\": {value}}}\n"
    )
}

/// A JSONL history of one process: `(f, value)` pairs, each invoked and ok.
fn jsonl_history(ops: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (f, v) in ops {
        let invoke = if *f == "read" || *f == "get" {
            "null"
        } else {
            v
        };
        text += &jsonl_line(f, "invoke", invoke);
        text += &jsonl_line(f, "ok", v);
    }
    text
}

const BIG: &str = "100000000000000000000";
const BIG_PLUS_ONE: &str = "100000000000000000001";

#[test]
fn jsonl_integers_beyond_64_bits_are_exact_for_the_register() {
    let stale = jsonl_history(&[("write", BIG), ("read", BIG_PLUS_ONE)]);
    let kind = ModelKind::Register;
    assert_eq!(
        verdict_of(&stale, Format::Jsonl, kind, None),
        Verdict::Invalid
    );
    let same = jsonl_history(&[("write", BIG), ("read", BIG)]);
    assert_eq!(verdict_of(&same, Format::Jsonl, kind, None), Verdict::Valid);
    let negative = jsonl_history(&[
        ("write", "-100000000000000000000"),
        ("read", "-100000000000000000001"),
    ]);
    assert_eq!(
        verdict_of(&negative, Format::Jsonl, kind, None),
        Verdict::Invalid
    );
}

#[test]
fn jsonl_integers_beyond_64_bits_are_exact_for_cas_and_kv() {
    let cas = format!("[{BIG_PLUS_ONE}, 1]");
    let text = jsonl_history(&[("write", BIG), ("cas", &cas)]);
    let verdict = verdict_of(&text, Format::Jsonl, ModelKind::CasRegister, None);
    assert_eq!(verdict, Verdict::Invalid, "cas of a value never written");
    let text = jsonl_history(&[("put", BIG), ("get", BIG_PLUS_ONE)]);
    let verdict = verdict_of(&text, Format::Jsonl, ModelKind::Kv, None);
    assert_eq!(verdict, Verdict::Invalid, "kv get of a value never put");
}

#[test]
fn jsonl_big_integers_equal_edn_big_integers_and_not_strings_or_floats() {
    let json = parse_json_value(BIG).unwrap();
    assert_eq!(json, parse_edn_value(&format!("{BIG}N")).unwrap());
    assert_eq!(json, parse_edn_value(BIG).unwrap());
    assert_ne!(json, parse_json_value(&format!("\"{BIG}\"")).unwrap());
    assert_ne!(json, parse_json_value("1e20").unwrap());
    // Inside strings, and 64-bit integers, nothing changes.
    let v = parse_json_value(&format!(
        "[\"{BIG}\", 18446744073709551615, -9223372036854775808]"
    ));
    assert_eq!(
        v.unwrap(),
        serde_json::json!([BIG, u64::MAX, i64::MIN]),
        "64-bit bounds and strings of digits"
    );
}

#[test]
fn jsonl_strings_starting_with_nul_stay_strings() {
    let nul = parse_json_value(r#""\u0000:foo""#).unwrap();
    assert_ne!(nul, parse_edn_value(":foo").unwrap());
    assert_eq!(nul, parse_edn_value(r#""\u0000:foo""#).unwrap());
}

#[test]
fn jsonl_big_integer_errors_point_at_the_text_as_written() {
    let text =
        format!("{{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"value\": {BIG}, }}\n");
    let opts = ReadOptions {
        format: Format::Jsonl,
        ..ReadOptions::default()
    };
    let err = read_str(&text, &opts).unwrap_err().to_string();
    assert!(err.contains(":1:"), "{err}");
    assert!(err.contains("trailing comma"), "{err}");
}

#[test]
fn edn_sets_are_equal_in_any_order() {
    assert_eq!(edn_register("#{1 2 3}", "#{3 2 1}"), Verdict::Valid);
    assert_eq!(edn_register("{:a #{1 2}}", "{:a #{2 1}}"), Verdict::Valid);
    assert_eq!(edn_register("#{1 2 3}", "#{1 2}"), Verdict::Invalid);
    assert_eq!(edn_register("#{1 2}", "[1 2]"), Verdict::Invalid);
}

#[test]
fn edn_keyword_is_not_the_string_of_its_name() {
    assert_eq!(edn_register(":foo", "\"foo\""), Verdict::Invalid);
    assert_eq!(edn_register(":foo", ":foo"), Verdict::Valid);
}

#[test]
fn edn_symbol_is_not_the_keyword_nor_the_string() {
    assert_eq!(edn_register("foo", ":foo"), Verdict::Invalid);
    assert_eq!(edn_register("foo", "\"foo\""), Verdict::Invalid);
    assert_eq!(edn_register("foo", "foo"), Verdict::Valid);
}

#[test]
fn edn_character_is_not_a_one_character_string() {
    assert_eq!(edn_register("\\a", "\"a\""), Verdict::Invalid);
    assert_eq!(edn_register("\\a", "\\a"), Verdict::Valid);
    assert_eq!(edn_register("\\u0041", "\\A"), Verdict::Valid);
}

#[test]
fn edn_map_keys_keep_their_types() {
    assert_eq!(edn_register("{1 2}", "{\"1\" 2}"), Verdict::Invalid);
    assert_eq!(edn_register("{:a 2}", "{\"a\" 2}"), Verdict::Invalid);
    assert_eq!(edn_register("{1 2 :a 3}", "{:a 3, 1N 2}"), Verdict::Valid);
}

#[test]
fn edn_big_decimal_is_not_a_double_but_equals_itself_at_any_scale() {
    assert_eq!(edn_register("1.5M", "1.5"), Verdict::Invalid);
    assert_eq!(edn_register("1.5M", "1.50M"), Verdict::Valid);
    assert_eq!(edn_register("1M", "1"), Verdict::Invalid);
    assert_eq!(edn_register("150M", "1.5E2M"), Verdict::Valid);
}

#[test]
fn edn_big_integer_is_not_its_string_and_equals_its_long() {
    assert_eq!(
        edn_register("100000000000000000000N", "\"100000000000000000000\""),
        Verdict::Invalid
    );
    assert_eq!(
        edn_register("100000000000000000000N", "100000000000000000000"),
        Verdict::Valid
    );
    assert_eq!(
        edn_register("100000000000000000000N", "100000000000000000001N"),
        Verdict::Invalid
    );
    assert_eq!(edn_register("1", "1N"), Verdict::Valid);
}

#[test]
fn edn_integer_is_not_the_double() {
    assert_eq!(edn_register("1", "1.0"), Verdict::Invalid);
    assert_eq!(edn_register("1.0", "1.0"), Verdict::Valid);
}

#[test]
fn edn_ratios_reduce_and_are_not_doubles() {
    assert_eq!(edn_register("2/4", "1/2"), Verdict::Valid);
    assert_eq!(edn_register("4/2", "2"), Verdict::Valid);
    assert_eq!(edn_register("1/2", "0.5"), Verdict::Invalid);
}

#[test]
fn edn_vectors_and_lists_are_equal() {
    assert_eq!(edn_register("[1 2]", "(1 2)"), Verdict::Valid);
}

#[test]
fn edn_strings_starting_with_nul_stay_strings() {
    assert_eq!(edn_register(":foo", "\"\\u0000:foo\""), Verdict::Invalid);
    assert_eq!(edn_register("\"\\u0000x\"", "\"\\u0000x\""), Verdict::Valid);
}

/// A multi-register history reading keys 1 and "1" as 0 and nil.
const KEYS: &str = "{:process 0 :type :invoke :f :txn :value [[:r 1 nil] [:r \"1\" nil]]}\n\
                    {:process 0 :type :ok :f :txn :value [[:r 1 0] [:r \"1\" nil]]}\n";

fn multi(init: &Value) -> Verdict {
    verdict_of(KEYS, Format::Edn, ModelKind::MultiRegister, Some(init))
}

#[test]
fn multi_register_edn_init_keys_keep_their_types() {
    assert_eq!(multi(&parse_edn_value("{1 0}").unwrap()), Verdict::Valid);
    assert_eq!(
        multi(&parse_edn_value("{\"1\" 0}").unwrap()),
        Verdict::Invalid
    );
}

#[test]
fn multi_register_json_init_keys_are_strings_and_pairs_give_other_keys() {
    assert_eq!(
        multi(&parse_json_value("{\"1\": 0}").unwrap()),
        Verdict::Invalid
    );
    assert_eq!(
        multi(&parse_json_value("[[1, 0]]").unwrap()),
        Verdict::Valid
    );
    let opts = CheckOptions::default();
    let h = read_str(KEYS, &ReadOptions::default()).unwrap();
    let bad = parse_json_value("[[1]]").unwrap();
    let err = check_history(
        h,
        Some(ModelKind::MultiRegister),
        Some(&bad),
        NilRead::Any,
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("[key, value] pairs"), "{err}");
}

#[test]
fn edn_writer_writes_back_what_the_reader_read() {
    let text = "[:a b \\c \"d\" \"\\u0000e\" 1N 100000000000000000000N 1.50M 2/4 #{3 1} {1 :x, \"1\" y} ##Inf]";
    let v = parse_edn_value(text).unwrap();
    let mut out = Vec::new();
    synod::history::write_edn_value(&mut out, &v).unwrap();
    let written = String::from_utf8(out).unwrap();
    assert_eq!(parse_edn_value(&written).unwrap(), v, "{written}");
}

#[test]
fn strings_starting_with_nul_round_trip_through_both_writers() {
    let text = "{:process 0 :type :invoke :f :write :value [\"\\u0000x\" {\"\\u0000k\" 1}]}\n";
    let h = read_str(text, &ReadOptions::default()).unwrap();
    for format in [Format::Jsonl, Format::Edn] {
        let mut out = Vec::new();
        match format {
            Format::Jsonl => synod::history::write_jsonl(&mut out, &h).unwrap(),
            _ => synod::history::write_edn(&mut out, &h).unwrap(),
        }
        let opts = ReadOptions {
            format,
            ..ReadOptions::default()
        };
        let back = read_str(std::str::from_utf8(&out).unwrap(), &opts).unwrap();
        assert_eq!(back.events[0].value, h.events[0].value, "{format:?}");
    }
}
