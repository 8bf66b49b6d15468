//! Measures this disk's `fdatasync` latency, the floor under every
//! acknowledged write (`synod bench` reports it beside its latencies).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::StorageError;

/// The most samples [`probe_fdatasync`] takes.
pub const MAX_PROBE_SAMPLES: u32 = 100_000;

/// `fdatasync` latencies of small appends, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdatasyncProbe {
    /// Every sample, shortest first.
    pub samples: Vec<Duration>,
}

impl FdatasyncProbe {
    /// The latency at quantile `q` (0.0 to 1.0, clamped), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let Some(last) = self.samples.len().checked_sub(1) else {
            return Duration::ZERO;
        };
        let rank = (q.clamp(0.0, 1.0) * last as f64).round() as usize;
        self.samples[rank.min(last)]
    }

    /// The median latency.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }
}

/// Appends 100 bytes and `fdatasync`s, `samples` times, in a scratch file in
/// `dir` (removed afterwards). `samples` must be 1 to [`MAX_PROBE_SAMPLES`].
pub fn probe_fdatasync(dir: &Path, samples: u32) -> Result<FdatasyncProbe, StorageError> {
    if samples == 0 || samples > MAX_PROBE_SAMPLES {
        return Err(StorageError::Io {
            op: "probe fdatasync",
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("samples must be 1 to {MAX_PROBE_SAMPLES}, not {samples}"),
            ),
        });
    }
    let path = dir.join(format!("fdatasync-probe-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .map_err(|e| StorageError::io("create", &path, e))?;
    let payload = [0x5Au8; 100];
    let mut taken = Vec::with_capacity(samples as usize);
    let result = (0..samples).try_for_each(|_| {
        let start = Instant::now();
        file.write_all(&payload)
            .map_err(|e| StorageError::io("write", &path, e))?;
        file.sync_data()
            .map_err(|e| StorageError::io("fdatasync", &path, e))?;
        taken.push(start.elapsed());
        Ok(())
    });
    drop(file);
    let removed = std::fs::remove_file(&path).map_err(|e| StorageError::io("remove", &path, e));
    result?;
    removed?;
    taken.sort_unstable();
    Ok(FdatasyncProbe { samples: taken })
}
