//! Small filesystem helpers with the durability steps POSIX requires.

use std::fs::File;
use std::path::Path;

use super::StorageError;

/// fsyncs a directory, so that files created, renamed or removed in it
/// survive a crash (a file's own fsync does not persist its directory entry).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let handle = File::open(dir).map_err(|e| StorageError::io("open directory", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| StorageError::io("fsync directory", dir, e))
}

/// Writes `bytes` to `path` atomically and durably: a temp file in the same
/// directory, fsynced, renamed over `path`, then the directory fsynced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = File::create(&tmp).map_err(|e| StorageError::io("create", &tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| StorageError::io("write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| StorageError::io("fsync", &tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| StorageError::io("rename", &tmp, e))?;
    sync_dir(dir)
}
