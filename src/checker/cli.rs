//! The `synod check` command: argument handling, one line (or JSON object)
//! per file, exit codes, progress bar and HTML timelines.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{check_history, html, CheckOptions, ModelKind, NilRead, Report, Verdict};
use crate::history::{parse_edn_value, read_source, Format, Header, ReadOptions, Value};

/// `synod check`: is each history linearizable?
#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = "\
Exit codes: 0 every file valid; 1 some file invalid; 2 some file undecided (a \
limit reached), none invalid; 3 some file unusable (unreadable, not a history, \
bad arguments), which takes precedence.")]
pub struct CheckArgs {
    /// The model; inferred from the functions present when omitted.
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// The initial value: a JSON or EDN literal (e.g. `0`, `""`, `{:x 0 :y 0}`).
    #[arg(long)]
    pub init: Option<String>,
    /// A read returning nil matches any state (Jepsen's convention) or means
    /// absent. Default: any for EDN and txt input, absent for JSONL.
    #[arg(long, value_enum)]
    pub nil_read: Option<NilReadArg>,
    /// The input format: `jsonl` (one JSON object per line), `edn`
    /// (Jepsen's and Knossos's), `txt` (`jepsen.log` columns), or `auto`:
    /// from the extension (`.jsonl`/`.json`, `.edn`, `.txt`/`.log`), else
    /// from the first characters.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: Format,
    /// Jepsen "independent" histories: values are `[key value]` tuples.
    #[arg(long)]
    pub independent: bool,
    /// Give up (verdict unknown) after this many seconds per file.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub time_limit: Option<f64>,
    /// Give up (verdict unknown) when the search caches exceed this many MiB.
    /// The caches are most of the memory a hard search takes; the whole
    /// process was measured at up to 2.5 times this figure (hash-table slack,
    /// the history itself). The default keeps a runaway search from taking
    /// the machine down: without it, one 50-client history grew to 24 GB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    pub memory_limit: u64,
    /// Write one self-contained HTML timeline per file into this directory.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    /// One JSON object per file, one per line.
    #[arg(long)]
    pub json: bool,
    /// The history files: paths, pipes (`/dev/stdin`, `<(...)`), or `-` for
    /// standard input; each is read once.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `--nil-read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NilReadArg {
    /// A nil read matches any state.
    Any,
    /// A nil read means the value is absent.
    Absent,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1e9).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a number of seconds between 0 and 1e9, got {s:?}"
        )),
    }
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Exit codes (DESIGN.md): unusable input or bad arguments.
pub const EXIT_UNUSABLE: u8 = 3;
/// Some history is not linearizable.
pub const EXIT_INVALID: u8 = 1;
/// Some history is undecided.
pub const EXIT_UNKNOWN: u8 = 2;

/// Parses `--init`: JSON first, else an EDN literal (read as the history
/// reader reads values, so keywords and maps convert as they do in
/// histories).
pub fn parse_init(text: &str) -> Result<Value, String> {
    if let Ok(v) = crate::history::parse_json_value(text) {
        return Ok(v);
    }
    parse_edn_value(text).map_err(|e| format!("--init {text:?} is neither JSON nor EDN: {e}"))
}

/// The outcome for one file.
enum FileResult {
    /// The report, the time in all, the time spent reading, and what was
    /// assumed for want of a header and flags.
    Checked(Report, Duration, Duration, Option<Assumed>),
    Unusable(String),
}

/// Runs `synod check`; returns the exit code.
pub fn run(args: &CheckArgs) -> u8 {
    let init = match args.init.as_deref().map(parse_init).transpose() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("synod check: {e}");
            return EXIT_UNUSABLE;
        }
    };
    if let Some(dir) = &args.html {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("synod check: --html {}: {e}", dir.display());
            return EXIT_UNUSABLE;
        }
    }
    let mut code = 0u8;
    // Files per exit code: valid, invalid, unknown, unusable.
    let mut tally = [0usize; 4];
    let mut worst = |c: u8| {
        tally[usize::from(c.min(3))] += 1;
        // 3 beats 1 beats 2 beats 0.
        let rank = |c: u8| match c {
            EXIT_UNUSABLE => 3,
            EXIT_INVALID => 2,
            EXIT_UNKNOWN => 1,
            _ => 0,
        };
        if rank(c) > rank(code) {
            code = c;
        }
    };
    // A closed stdout (`| head`) ends the run quietly instead of panicking.
    let mut out = std::io::stdout().lock();
    let pages = html_pages(args);
    for (path, page) in args.files.iter().zip(&pages) {
        let name = path.display().to_string();
        let result = check_file(path, args, init.as_ref(), page.as_deref());
        match &result {
            FileResult::Unusable(e) => {
                worst(EXIT_UNUSABLE);
                if args.json {
                    println!(
                        "{}",
                        json!({"file": name, "verdict": "unusable", "error": e})
                    );
                } else {
                    println!("{name}: unusable: {e}");
                }
            }
            FileResult::Checked(report, elapsed, read, assumed) => {
                worst(match report.verdict {
                    Verdict::Valid => 0,
                    Verdict::Invalid => EXIT_INVALID,
                    Verdict::Unknown => EXIT_UNKNOWN,
                });
                let secs = elapsed.as_secs_f64();
                let written = if args.json {
                    let line = json!({
                        "file": name,
                        "verdict": report.verdict,
                        "model": report.model,
                        "ops": report.ops,
                        "seconds": secs,
                        "read_seconds": read.as_secs_f64(),
                        "partitions": report.partitions,
                        "html": page,
                        "assumed": assumed.as_ref().map(Assumed::json),
                    });
                    writeln!(out, "{line}")
                } else {
                    let note = assumed.as_ref().map(Assumed::text).unwrap_or_default();
                    writeln!(
                        out,
                        "{name}: {} (model {}, {} ops, {} partition{}, {secs:.3} s{note})",
                        report.verdict,
                        report.model,
                        report.ops,
                        report.partitions.len(),
                        if report.partitions.len() == 1 {
                            ""
                        } else {
                            "s"
                        }
                    )
                    .and_then(|()| {
                        // Valid, but vacuously: say so rather than let a
                        // drained pipe or a wrong file pass unnoticed.
                        if report.ops == 0 {
                            writeln!(out, "  {name}: no client operation in the input")?;
                        }
                        if let Some(page) = page {
                            writeln!(out, "  html: {}", page.display())?;
                        }
                        write!(out, "{}", report.evidence_text())
                    })
                };
                if written.is_err() {
                    return code;
                }
            }
        }
    }
    if args.files.len() > 1 && !args.json {
        let [valid, invalid, unknown, unusable] = tally;
        println!(
            "{} files: {valid} valid, {invalid} invalid, {unknown} unknown, {unusable} unusable",
            args.files.len()
        );
    }
    code
}

/// Where `--html` writes each file's page: `DIR/NAME.html`, or, when
/// several inputs share a file name (`a/h.edn`, `b/h.edn`), `DIR/NAME.K.html`
/// with K the input's position (1-based), so that none overwrites another.
fn html_pages(args: &CheckArgs) -> Vec<Option<PathBuf>> {
    let Some(dir) = &args.html else {
        return vec![None; args.files.len()];
    };
    let names: Vec<String> = args
        .files
        .iter()
        .map(|p| match p.file_name() {
            _ if p.as_os_str() == "-" => "stdin".to_string(),
            Some(n) => n.to_string_lossy().into_owned(),
            None => "history".to_string(),
        })
        .collect();
    let shared = |n: &String| names.iter().filter(|m| *m == n).count() > 1;
    (names.iter().enumerate())
        .map(|(i, n)| match shared(n) {
            true => Some(dir.join(format!("{n}.{}.html", i + 1))),
            false => Some(dir.join(format!("{n}.html"))),
        })
        .collect()
}

fn check_file(
    path: &Path,
    args: &CheckArgs,
    init: Option<&Value>,
    page: Option<&Path>,
) -> FileResult {
    let start = Instant::now();
    let read_opts = ReadOptions {
        format: args.format,
        independent: args.independent,
        ..ReadOptions::default()
    };
    let (history, format, header) = match read_source(path, &read_opts) {
        Ok(read) => read,
        Err(e) => return FileResult::Unusable(e.to_string()),
    };
    let read_time = start.elapsed();
    let settings = match Settings::new(args, init, format, header) {
        Ok(s) => s,
        Err(e) => return FileResult::Unusable(format!("{}: {e}", path.display())),
    };
    let (init, nil) = (settings.init.as_ref(), settings.nil);
    let bar: OnceLock<ProgressBar> = OnceLock::new();
    let progress = |total: usize| {
        // Only for long checks, and only on a terminal.
        if start.elapsed() < Duration::from_secs(1) && bar.get().is_none() {
            return;
        }
        if !std::io::stderr().is_terminal() {
            return;
        }
        let b = bar.get_or_init(|| {
            let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} partitions")
            {
                b.set_style(style);
            }
            b.set_message(path.display().to_string());
            b
        });
        b.inc(1);
    };
    let opts = CheckOptions {
        time_limit: args.time_limit.map(Duration::from_secs_f64),
        memory_limit_bytes: Some((args.memory_limit as usize).saturating_mul(1 << 20)),
        progress: Some(&progress),
        record_states: args.html.is_some(),
        ..CheckOptions::default()
    };
    let result = check_history(history, settings.model, init, nil, &opts);
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    let (ops, report) = match result {
        Ok(r) => r,
        Err(e) => return FileResult::Unusable(format!("{}: {e}", path.display())),
    };
    if let Some(out) = page {
        let page = html::render(&path.display().to_string(), &ops, &report);
        if let Err(e) = std::fs::write(out, page) {
            return FileResult::Unusable(format!("--html {}: {e}", out.display()));
        }
    }
    // Freeing a million operations' values takes a noticeable share of a
    // run: do it beside the next file's work (or the process's exit, which
    // frees everything anyway). If no thread can be made, the closure is
    // dropped here, freeing them in place.
    let _ = std::thread::Builder::new().spawn(move || drop(ops));
    let assumed = settings.assumed(&report.model);
    FileResult::Checked(report, start.elapsed(), read_time, assumed)
}

/// What one file is checked with: the flags, else its header, else the
/// defaults (docs/history-format.md, "The header").
struct Settings {
    model: Option<ModelKind>,
    init: Option<Value>,
    nil: NilRead,
    /// Whether the init and the nil-read rule are defaults (neither a flag
    /// nor a header gave them).
    init_default: bool,
    nil_default: bool,
    /// Whether the file has a header.
    header: bool,
}

impl Settings {
    fn new(
        args: &CheckArgs,
        init: Option<&Value>,
        format: Format,
        header: Option<Header>,
    ) -> Result<Self, String> {
        let had_header = header.is_some();
        let header = header.unwrap_or_default();
        let model = match (args.model, header.model.as_deref()) {
            (Some(m), _) => Some(m),
            (None, Some(name)) => Some(
                <ModelKind as clap::ValueEnum>::from_str(name, false)
                    .map_err(|_| format!("the header names an unknown model {name:?}"))?,
            ),
            (None, None) => None,
        };
        let nil = match (args.nil_read, header.nil_read.as_deref()) {
            (Some(NilReadArg::Any), _) | (None, Some("any")) => Some(NilRead::Any),
            (Some(NilReadArg::Absent), _) | (None, Some(_)) => Some(NilRead::Absent),
            (None, None) => None,
        };
        let init = init.cloned().or(header.init);
        Ok(Settings {
            model,
            init_default: init.is_none(),
            nil_default: nil.is_none(),
            header: had_header,
            init,
            nil: nil.unwrap_or(ModelKind::nil_read_default(format == Format::Jsonl)),
        })
    }

    /// What was assumed, for the verdict line; `None` when nothing was.
    fn assumed(&self, model: &str) -> Option<Assumed> {
        let kind = <ModelKind as clap::ValueEnum>::from_str(model, false).ok()?;
        let init = (self.init_default && kind.takes_init()).then(|| kind.default_init());
        let reads = kind.takes_init();
        let nil = (self.nil_default && reads).then_some(self.nil);
        (init.is_some() || nil.is_some()).then_some(Assumed {
            init,
            nil,
            header: self.header,
        })
    }
}

/// The initial value and nil-read rule a check assumed, neither a flag nor
/// the file's header giving them.
struct Assumed {
    init: Option<Value>,
    nil: Option<NilRead>,
    header: bool,
}

impl Assumed {
    /// `; no header: assumed --init null --nil-read any`.
    fn text(&self) -> String {
        let mut s = match self.header {
            true => "; assumed".to_string(),
            false => "; no header: assumed".to_string(),
        };
        if let Some(init) = &self.init {
            s += &format!(" --init {init}");
        }
        if let Some(nil) = self.nil {
            s += match nil {
                NilRead::Any => " --nil-read any",
                NilRead::Absent => " --nil-read absent",
            };
        }
        s
    }

    fn json(&self) -> Value {
        json!({"init": self.init, "nil_read": self.nil})
    }
}
