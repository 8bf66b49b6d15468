//! `synod gen-history`: the generator on the command line.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::{generate_kv, GenOptions};
use crate::history::{write_edn, write_jsonl, Format, Header, Value};

/// The format `gen-history` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Native JSONL.
    Jsonl,
    /// Jepsen EDN, one operation map per line.
    Edn,
}

/// Arguments of `synod gen-history`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenHistoryArgs {
    /// Operations to generate (each an invoke and a completion).
    #[arg(long)]
    pub ops: usize,
    /// Keys (named "0" to "K-1"); every key starts as "".
    #[arg(long, default_value_t = 10)]
    pub keys: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// Seed of every random choice (the same seed gives the same history).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Share of operations that end `info` (indeterminate), in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub info_share: f64,
    /// Plant one stale read, so that the history is not linearizable.
    #[arg(long)]
    pub invalid: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub format: OutputFormat,
    /// Output file (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The header of a generated history: the kv model, every key starting as
/// `""`, a nil read meaning absent (docs/history-format.md, "The header").
pub fn header() -> Header {
    Header {
        model: Some("kv".to_string()),
        init: Some(Value::String(String::new())),
        nil_read: Some("absent".to_string()),
    }
}

/// Runs `gen-history`: exit code 0 when the history was written, 3 on bad
/// options or an I/O error (DESIGN.md, "Conventions").
pub fn run(args: &GenHistoryArgs) -> ExitCode {
    let opts = GenOptions {
        ops: args.ops,
        keys: args.keys,
        clients: args.clients,
        seed: args.seed,
        info_share: args.info_share,
        invalid: args.invalid,
    };
    let history = match generate_kv(&opts) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("gen-history: {e}");
            return ExitCode::from(3);
        }
    };
    let (name, sink): (String, Box<dyn Write>) = match &args.out {
        Some(path) => match File::create(path) {
            Ok(f) => (path.display().to_string(), Box::new(f)),
            Err(e) => {
                eprintln!("gen-history: {}: {e}", path.display());
                return ExitCode::from(3);
            }
        },
        None => ("<stdout>".to_string(), Box::new(io::stdout().lock())),
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    let format = match args.format {
        OutputFormat::Jsonl => Format::Jsonl,
        OutputFormat::Edn => Format::Edn,
    };
    let written = w
        .write_all(header().line(format).as_bytes())
        .and_then(|()| match args.format {
            OutputFormat::Jsonl => write_jsonl(&mut w, &history),
            OutputFormat::Edn => write_edn(&mut w, &history),
        })
        .and_then(|()| w.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-history: {name}: {e}");
            ExitCode::from(3)
        }
    }
}
