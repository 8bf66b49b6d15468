//! Self-contained HTML timelines of checked histories: a lane per process,
//! operations as bars, the linearization's order on each bar, the failing
//! operation highlighted, the state after each operation on hover. No
//! network resources; inline CSS only.
//!
//! Size is bounded: at most [`MAX_RENDERED_OPS`] operations are drawn (the
//! neighbourhood of the first failure, else the start of the history), and
//! the rest is summarized per partition.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::op::{Operation, Status};
use super::report::{Report, Verdict};
use crate::history::{Process, Value};

/// The most operations drawn in one timeline.
pub const MAX_RENDERED_OPS: usize = 3000;

/// Longest rendering of one value in a tooltip.
const MAX_VALUE_CHARS: usize = 200;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn short(v: &Value) -> String {
    let s = crate::history::value::display(v);
    if s.chars().count() > MAX_VALUE_CHARS {
        let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn lane_name(p: &Process) -> String {
    match p {
        Process::Client(n) => n.to_string(),
        Process::Nemesis => "nemesis".into(),
        Process::Named(s) => s.clone(),
    }
}

/// Which operations to draw: indices into `ops`, by call order.
fn window(ops: &[Operation], report: &Report) -> Vec<usize> {
    let failing = report
        .partitions
        .iter()
        .find_map(|p| p.failure.as_ref().map(|f| (p.key.clone(), f.op)));
    match failing {
        Some((key, op)) => {
            let part: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].key == key).collect();
            let at = part.iter().position(|&i| ops[i].id == op).unwrap_or(0);
            let half = MAX_RENDERED_OPS / 2;
            let lo = at.saturating_sub(half);
            let hi = (at + half).min(part.len());
            part[lo..hi].to_vec()
        }
        None => (0..ops.len().min(MAX_RENDERED_OPS)).collect(),
    }
}

/// Renders the timeline of one checked history.
pub fn render(name: &str, ops: &[Operation], report: &Report) -> String {
    let shown = window(ops, report);
    let shown_ids: HashMap<u64, usize> = shown.iter().map(|&i| (ops[i].id, i)).collect();
    // Order in the linearization (or failing prefix) and state after, by id.
    let mut order: HashMap<u64, (usize, Option<&Value>)> = HashMap::new();
    let mut failing: Option<u64> = None;
    for p in &report.partitions {
        let seq = p
            .linearization
            .as_deref()
            .or(p.failure.as_ref().map(|f| f.prefix.as_slice()))
            .unwrap_or(&[]);
        for (k, id) in seq.iter().enumerate() {
            if shown_ids.contains_key(id) {
                order.insert(*id, (k, p.states_after.get(k)));
            }
        }
        if failing.is_none() {
            failing = p.failure.as_ref().map(|f| f.op);
        }
    }
    // Columns: the distinct event positions of the drawn operations.
    let mut cols: Vec<usize> = shown
        .iter()
        .flat_map(|&i| [Some(ops[i].call), ops[i].ret])
        .flatten()
        .collect();
    cols.sort_unstable();
    cols.dedup();
    let col = |pos: usize| cols.binary_search(&pos).unwrap_or_else(|e| e);
    let end_col = cols.len();
    let mut lanes: Vec<&Process> = shown.iter().map(|&i| &ops[i].process).collect();
    lanes.sort();
    lanes.dedup();
    let lane = |p: &Process| lanes.binary_search(&p).unwrap_or(0);

    const UNIT: usize = 14;
    const LANE: usize = 26;
    let mut out = String::new();
    let verdict = report.verdict;
    let _ = write!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
body{{font:13px sans-serif;margin:16px}}\
.tl{{position:relative;height:{h}px;width:{w}px}}\
.lane{{position:absolute;left:0;height:{LANE}px;border-top:1px solid #eee;width:100%;color:#999}}\
.op{{position:absolute;height:18px;border-radius:3px;font-size:11px;overflow:hidden;white-space:nowrap;padding:0 2px;box-sizing:border-box;cursor:default}}\
.lin{{background:#9fd89f}}.pend{{background:#d8d8d8;border:1px dashed #888}}.pendlin{{background:#cfe9cf;border:1px dashed #393}}\
.unlin{{background:#f3e3a8}}.fail{{background:#e55;color:#fff;font-weight:bold}}\
.op:hover{{outline:2px solid #333;z-index:2}}\
.valid{{color:#2a2}}.invalid{{color:#c22}}.unknown{{color:#c80}}\
table{{border-collapse:collapse}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}}\
</style></head><body>",
        t = esc(name),
        h = lanes.len() * LANE + 10,
        w = (end_col + 2) * UNIT + 60,
    );
    let _ = write!(
        out,
        "<h1>{} <span class=\"{verdict}\">{verdict}</span></h1><p>model {}, {} operations, {} partitions; \
showing {} operations{}. Bars: green = linearized (the number is its place in the \
linearization), dashed = pending (info or never completed), yellow = not linearized, \
red = cannot be linearized. Hover for details and the state after.</p>",
        esc(name),
        esc(&report.model),
        report.ops,
        report.partitions.len(),
        shown.len(),
        if shown.len() < report.ops {
            " (the neighbourhood of the first failure, or the start; the rest is summarized below)"
        } else {
            ""
        }
    );
    let _ = write!(out, "<div class=\"tl\">");
    for (k, p) in lanes.iter().enumerate() {
        let _ = write!(
            out,
            "<div class=\"lane\" style=\"top:{}px\">{}</div>",
            k * LANE,
            esc(&lane_name(p))
        );
    }
    for &i in &shown {
        let o = &ops[i];
        let x0 = col(o.call);
        let x1 = o.ret.map(col).unwrap_or(end_col);
        let lin = order.get(&o.id);
        let class = if Some(o.id) == failing {
            "fail"
        } else {
            match (o.status, lin.is_some()) {
                (Status::Ok, true) => "lin",
                (Status::Ok, false) => "unlin",
                (Status::Pending, true) => "pendlin",
                (Status::Pending, false) => "pend",
            }
        };
        let mut tip = format!(
            "id {} (line {}), process {}, {}",
            o.id,
            o.line,
            lane_name(&o.process),
            o.f
        );
        if let Some(k) = &o.key {
            let _ = write!(tip, ", key {}", short(k));
        }
        let _ = write!(tip, "\ninput {}", short(&o.input));
        match &o.output {
            Some(v) => {
                let _ = write!(tip, "\noutput {}", short(v));
            }
            None => tip.push_str("\npending"),
        }
        if let Some((k, state)) = lin {
            let _ = write!(tip, "\nlinearized #{k}");
            if let Some(s) = state {
                let _ = write!(tip, "\nstate after: {}", short(s));
            }
        }
        let label = match lin {
            Some((k, _)) => format!("{k} {}", o.f),
            None => o.f.clone(),
        };
        let _ = write!(
            out,
            "<div class=\"op {class}\" style=\"top:{}px;left:{}px;width:{}px\" title=\"{}\">{}</div>",
            lane(&o.process) * LANE + 4,
            x0 * UNIT + 40,
            ((x1.max(x0 + 1) - x0) * UNIT).max(UNIT),
            esc(&tip),
            esc(&label)
        );
    }
    let _ = write!(out, "</div><h2>Partitions</h2><table><tr><th>key</th><th>ops</th><th>verdict</th><th>evidence</th></tr>");
    const MAX_ROWS: usize = 1000;
    for p in report.partitions.iter().take(MAX_ROWS) {
        let key = p.key.as_ref().map(short).unwrap_or_else(|| "(all)".into());
        let evidence = match (&p.failure, p.reason) {
            (Some(f), _) => format!(
                "operation {} (line {}) cannot follow a prefix of {}; states before it: {}",
                f.op,
                f.line,
                f.prefix.len(),
                f.states
                    .iter()
                    .take(5)
                    .map(short)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, Some(r)) => r.to_string(),
            (None, None) => String::new(),
        };
        let v = p.verdict;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{v}\">{v}</td><td>{}</td></tr>",
            esc(&key),
            p.ops,
            esc(&evidence)
        );
    }
    if report.partitions.len() > MAX_ROWS {
        let count = |v: Verdict| {
            report.partitions[MAX_ROWS..]
                .iter()
                .filter(|p| p.verdict == v)
                .count()
        };
        let _ = write!(
            out,
            "<tr><td colspan=\"4\">and {} more partitions: {} valid, {} invalid, {} unknown</td></tr>",
            report.partitions.len() - MAX_ROWS,
            count(Verdict::Valid),
            count(Verdict::Invalid),
            count(Verdict::Unknown)
        );
    }
    out.push_str("</table></body></html>\n");
    out
}
