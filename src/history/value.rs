//! The canonical form of history values (docs/history-format.md, "Value
//! equality").
//!
//! Every reader produces [`Value`]s (JSON's data model) in one canonical
//! form, chosen so that two values are equal as [`Value`]s exactly when the
//! source format's own equality says they are equal (Clojure's `=` for EDN).
//! The checker then compares and hashes plain [`Value`]s, as fast as before.
//!
//! The types JSON lacks are strings with a leading NUL character (`\0`)
//! followed by a tag character; a string read from the input that begins
//! with NUL gets a second NUL in front, so it can never be taken for one:
//!
//! | source value                 | canonical form                        |
//! |------------------------------|---------------------------------------|
//! | integer (any size, `N` or not) | a JSON integer when it fits 64 bits, else `"\0N<digits>"` |
//! | keyword `:a/b`               | `"\0:a/b"`                            |
//! | symbol `foo`                 | `"\0'foo"`                            |
//! | character `\a`               | `"\0\\a"`                             |
//! | big decimal `1.50M`          | `"\0M1.5"` (trailing zeros dropped)   |
//! | ratio `2/4`                  | `"\0/1/2"` (reduced; `4/2` is `2`)    |
//! | `##Inf`, `##-Inf`, `##NaN`   | `"\0!##Inf"`, ...                     |
//! | set `#{3 1}`                 | `{"\0#": [1, 3]}` (sorted by JSON text) |
//! | map `{k v}`                  | an object keyed by [`map_key`]`(k)`   |
//! | string starting with NUL     | that string with a second NUL in front |

use std::borrow::Cow;

use super::types::Value;

/// The character that starts the strings that stand for non-JSON types.
pub const TAG: char = '\0';

/// The key of the one-entry object that stands for a set.
pub const SET_KEY: &str = "\0#";

/// A string value: itself, or with a second [`TAG`] in front when it starts
/// with one.
pub fn string(s: String) -> Value {
    if s.starts_with(TAG) {
        let mut out = String::with_capacity(s.len() + 1);
        out.push(TAG);
        out.push_str(&s);
        Value::String(out)
    } else {
        Value::String(s)
    }
}

fn tagged(tag: char, body: &str) -> Value {
    let mut out = String::with_capacity(body.len() + 2);
    out.push(TAG);
    out.push(tag);
    out.push_str(body);
    Value::String(out)
}

/// An EDN keyword, by its name without the colon.
pub fn keyword(name: &str) -> Value {
    tagged(':', name)
}

/// An EDN symbol.
pub fn symbol(name: &str) -> Value {
    tagged('\'', name)
}

/// An EDN character.
pub fn character(c: char) -> Value {
    let mut buf = [0u8; 4];
    tagged('\\', c.encode_utf8(&mut buf))
}

/// `##Inf`, `##-Inf` or `##NaN` (its text without the `##`).
pub fn special_float(name: &str) -> Value {
    tagged('!', &format!("##{name}"))
}

/// A set: its elements sorted by their JSON text, duplicates dropped.
pub fn set(items: Vec<Value>) -> Value {
    let mut keyed: Vec<(String, Value)> = items.into_iter().map(|v| (v.to_string(), v)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    let mut map = serde_json::Map::new();
    map.insert(
        SET_KEY.to_string(),
        Value::Array(keyed.into_iter().map(|(_, v)| v).collect()),
    );
    Value::Object(map)
}

/// The object key that stands for the map key `key`: a string value as it
/// is (including the tagged strings of keywords and the like), anything else
/// as `"\0="` followed by its JSON text.
pub fn map_key(key: Value) -> String {
    match key {
        Value::String(s) => s,
        other => format!("{TAG}={other}"),
    }
}

/// The map key an object key stands for (the inverse of [`map_key`]).
pub fn key_of(object_key: &str) -> Value {
    if let Some(text) = object_key.strip_prefix("\0=") {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return v;
        }
    }
    Value::String(object_key.to_string())
}

/// An integer literal (optional sign, digits): a JSON integer when it fits
/// in 64 bits, else `"\0N<digits>"` with the sign kept and leading zeros
/// dropped. `None` when `text` is not an integer.
pub fn integer(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(Value::from(0));
    }
    let signed = if negative {
        Cow::Owned(format!("-{digits}"))
    } else {
        Cow::Borrowed(digits)
    };
    if let Ok(i) = signed.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = signed.parse::<u64>() {
        return Some(Value::from(u));
    }
    Some(tagged('N', &signed))
}

/// A big decimal literal (without its `M`), normalised so that numerically
/// equal decimals are equal (Clojure compares them so): `1.50` and `1.5`,
/// `15E-1`. `None` when `text` is not a decimal number.
pub fn decimal(text: &str) -> Option<Value> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return Some(tagged('M', "0"));
    }
    let frac_len = i64::try_from(frac.len()).ok()?;
    // Java's BigDecimal keeps a 32-bit scale and refuses others; checked
    // arithmetic keeps an extreme exponent from wrapping into another value.
    let trailing = i64::try_from(digits.len() - trimmed.len()).ok()?;
    let scale = exponent.checked_sub(frac_len)?.checked_add(trailing)?;
    i32::try_from(scale).ok()?;
    let sign = if negative { "-" } else { "" };
    Some(tagged(
        'M',
        &format!("{sign}{}", plain_decimal(trimmed, scale)),
    ))
}

/// `digits * 10^scale` written out: plainly when short, else as `dE<scale>`.
fn plain_decimal(digits: &str, scale: i64) -> String {
    let len = digits.len() as i64;
    if (0..=30).contains(&scale) {
        format!("{digits}{}", "0".repeat(scale as usize))
    } else if scale < 0 && -scale < len {
        let point = (len + scale) as usize;
        format!("{}.{}", &digits[..point], &digits[point..])
    } else if scale < 0 && -scale - len <= 30 {
        format!("0.{}{digits}", "0".repeat((-scale - len) as usize))
    } else {
        format!("{digits}E{scale}")
    }
}

/// A ratio `n/d`, reduced (an integer when `d` divides `n`). `None` when
/// either side is not an integer or `d` is zero. Sides beyond 128 bits are
/// kept as written.
pub fn ratio(n: &str, d: &str) -> Option<Value> {
    integer(n)?;
    integer(d)?;
    let (Ok(n128), Ok(d128)) = (
        n.trim_start_matches('+').parse::<i128>(),
        d.trim_start_matches('+').parse::<i128>(),
    ) else {
        return Some(tagged('/', &format!("{n}/{d}")));
    };
    if d128 == 0 {
        return None;
    }
    let g = gcd(n128.unsigned_abs(), d128.unsigned_abs()).max(1);
    let sign: i128 = if (n128 < 0) != (d128 < 0) { -1 } else { 1 };
    let (n, d) = (n128.unsigned_abs() / g, d128.unsigned_abs() / g);
    if d == 1 {
        let text = if sign < 0 {
            format!("-{n}")
        } else {
            n.to_string()
        };
        return integer(&text);
    }
    let minus = if sign < 0 { "-" } else { "" };
    Some(tagged('/', &format!("{minus}{n}/{d}")))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The text of a string value, without the escaping [`TAG`]; `None` for
/// other values, the tagged types included.
pub fn text(v: &Value) -> Option<&str> {
    let s = v.as_str()?;
    match s.strip_prefix(TAG) {
        None => Some(s),
        Some(rest) if rest.starts_with(TAG) => Some(rest),
        Some(_) => None,
    }
}

/// A name: the text of a string, or the name of a keyword or symbol (how
/// `f`, micro-op functions and process names are read).
pub fn name(v: &Value) -> Option<&str> {
    let s = v.as_str()?;
    match s.strip_prefix(TAG) {
        None => Some(s),
        Some(rest) if rest.starts_with(TAG) => Some(rest),
        Some(rest) => rest.strip_prefix([':', '\'']),
    }
}

/// [`name`], taking the value: its string without the tag, moved rather
/// than copied (every event's `f` goes through here). `Err` gives back a
/// value that is no name.
pub fn into_name(v: Value) -> Result<String, Value> {
    let Value::String(mut s) = v else {
        return Err(v);
    };
    let mut chars = s.chars();
    let cut = match (chars.next(), chars.next()) {
        (Some(TAG), Some(TAG)) => 1,
        (Some(TAG), Some(':' | '\'')) => 2,
        (Some(TAG), _) => return Err(Value::String(s)),
        _ => 0,
    };
    s.drain(..cut);
    Ok(s)
}

/// What a tagged string stands for, to write it back as EDN: its tag
/// character and body. `None` for plain strings.
pub(crate) fn untag(s: &str) -> Option<(char, &str)> {
    let rest = s.strip_prefix(TAG)?;
    let mut chars = rest.chars();
    let tag = chars.next()?;
    (tag != TAG).then_some((tag, chars.as_str()))
}

/// A value as reports show it: JSON, except that the canonical forms of
/// EDN's other types are shown as EDN (`:foo`, `#{1 2}`, `1.5M`, `\a`) and
/// integers beyond 64 bits as their digits.
pub fn display(v: &Value) -> String {
    let mut out = String::new();
    show(v, &mut out);
    out
}

fn show(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => match untag(s) {
            Some((':', body)) => {
                out.push(':');
                out.push_str(body);
            }
            Some(('\\', body)) => {
                out.push('\\');
                out.push_str(body);
            }
            Some(('M', body)) => {
                out.push_str(body);
                out.push('M');
            }
            Some((_, body)) => out.push_str(body),
            None => out.push_str(&Value::String(text(v).unwrap_or(s).to_string()).to_string()),
        },
        Value::Array(items) => show_all(items.iter(), "[", "]", out),
        Value::Object(map) if map.len() == 1 && map.contains_key(SET_KEY) => {
            let items = map.values().filter_map(Value::as_array).flatten();
            show_all(items, "#{", "}", out);
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                show(&key_of(k), out);
                out.push(':');
                show(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn show_all<'a>(items: impl Iterator<Item = &'a Value>, open: &str, close: &str, out: &mut String) {
    out.push_str(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        show(item, out);
    }
    out.push_str(close);
}
