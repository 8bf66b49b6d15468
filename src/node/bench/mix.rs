//! The operation mix of `synod bench`: `put:50,get:50`.

use crate::kv::Command;

/// An operation kind the bench can issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `get K`.
    Get,
    /// `put K V`.
    Put,
    /// `append K V`.
    Append,
    /// `cas K OLD NEW` with a guessed old value (often a mismatch: a
    /// definite, counted failure, still a full round through the log).
    Cas,
    /// `delete K`.
    Delete,
}

impl OpKind {
    fn parse(name: &str) -> Option<OpKind> {
        Some(match name {
            "get" => OpKind::Get,
            "put" => OpKind::Put,
            "append" => OpKind::Append,
            "cas" => OpKind::Cas,
            "delete" => OpKind::Delete,
            _ => return None,
        })
    }
}

/// Weighted operation kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// Each kind with its weight (nonzero), in the order given.
    pub weights: Vec<(OpKind, u32)>,
    total: u32,
}

/// The largest weight of one kind (so the sum cannot overflow).
pub const MAX_WEIGHT: u32 = 1_000_000;

/// Parses `kind:weight,...`, e.g. `put:50,get:50`.
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut weights = Vec::new();
    for part in s.split(',') {
        let (name, weight) = part
            .split_once(':')
            .ok_or_else(|| format!("mix entry {part:?}: expected kind:weight"))?;
        let kind = OpKind::parse(name.trim()).ok_or_else(|| {
            format!("mix entry {part:?}: unknown kind {name:?} (get, put, append, cas, delete)")
        })?;
        let weight: u32 = weight
            .trim()
            .parse()
            .map_err(|e| format!("mix entry {part:?}: weight: {e}"))?;
        if weight > MAX_WEIGHT {
            return Err(format!(
                "mix entry {part:?}: weight over the limit of {MAX_WEIGHT}"
            ));
        }
        if weights.iter().any(|&(k, _)| k == kind) {
            return Err(format!("mix entry {part:?}: {name} given twice"));
        }
        if weight > 0 {
            weights.push((kind, weight));
        }
    }
    let total = weights.iter().map(|&(_, w)| w).sum();
    if total == 0 {
        return Err(format!("mix {s:?} has no operation with a nonzero weight"));
    }
    Ok(Mix { weights, total })
}

impl Mix {
    /// The kind for a uniform random `r`.
    pub fn pick(&self, r: u64) -> OpKind {
        let mut x = (r % u64::from(self.total)) as u32;
        for &(kind, w) in &self.weights {
            if x < w {
                return kind;
            }
            x -= w;
        }
        // Unreachable by construction (x < total); the last kind is a safe answer.
        self.weights[self.weights.len() - 1].0
    }
}

/// The command of `kind` on `key`, with `value` for writes.
pub fn command(kind: OpKind, key: String, value: String) -> Command {
    match kind {
        OpKind::Get => Command::Get { key },
        OpKind::Put => Command::Put { key, value },
        OpKind::Append => Command::Append { key, value },
        OpKind::Cas => Command::Cas {
            key,
            expected: Some(value.clone()),
            new: value,
        },
        OpKind::Delete => Command::Delete { key },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let mix = parse_mix("put:50,get:50").unwrap();
        assert_eq!(mix.weights, vec![(OpKind::Put, 50), (OpKind::Get, 50)]);
        assert_eq!(mix.pick(0), OpKind::Put);
        assert_eq!(mix.pick(49), OpKind::Put);
        assert_eq!(mix.pick(50), OpKind::Get);
        assert_eq!(mix.pick(199), OpKind::Get);
        let only_get = parse_mix("put:0,get:1").unwrap();
        assert!((0..100).all(|r| only_get.pick(r) == OpKind::Get));
    }

    #[test]
    fn bad_mixes_are_refused_with_the_entry() {
        for (bad, word) in [
            ("put", "expected kind:weight"),
            ("put:x", "weight"),
            ("frob:1", "unknown kind"),
            ("put:1,put:2", "twice"),
            ("put:0", "nonzero"),
            ("put:99999999", "limit"),
        ] {
            let err = parse_mix(bad).unwrap_err();
            assert!(err.contains(word), "{bad}: {err}");
        }
    }
}
