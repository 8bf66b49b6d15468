//! The snapshot file: `magic | first_segment: u64 LE | len: u64 LE |
//! crc32c: u32 LE | payload`.
//!
//! `first_segment` names the first WAL segment whose records come after the
//! snapshot; older segments are covered by it and deleted. The file is
//! replaced only by an atomic rename, so it is never torn: any damage is
//! corruption.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::StorageError;

const MAGIC: &[u8; 8] = b"SYNSNAP1";
const HEADER_BYTES: usize = 8 + 8 + 8 + 4;

/// The snapshot file's name in the storage directory.
pub(crate) const SNAPSHOT_FILE: &str = "snapshot";

fn checksum(first_segment: u64, len: u64, payload: &[u8]) -> u32 {
    let mut crc = crc32c::crc32c(&first_segment.to_le_bytes());
    crc = crc32c::crc32c_append(crc, &len.to_le_bytes());
    crc32c::crc32c_append(crc, payload)
}

/// The bytes of a snapshot file.
pub(crate) fn encode(first_segment: u64, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u64;
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&first_segment.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(first_segment, len, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads the snapshot at `path`: `None` if there is none, else the first
/// segment after it and its payload.
pub(crate) fn read(
    path: &Path,
    max_snapshot_bytes: u64,
) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io("open", path, e)),
    };
    let file_len = file
        .metadata()
        .map_err(|e| StorageError::io("stat", path, e))?
        .len();
    let corrupt = |offset: u64, reason: String| StorageError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    if file_len < HEADER_BYTES as u64 {
        return Err(corrupt(
            0,
            format!("snapshot file of {file_len} bytes is shorter than its header"),
        ));
    }
    let mut header = [0u8; HEADER_BYTES];
    file.read_exact(&mut header)
        .map_err(|e| StorageError::io("read", path, e))?;
    if &header[..8] != MAGIC {
        return Err(corrupt(0, "bad snapshot magic".to_string()));
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let first_segment = word(8);
    let len = word(16);
    let stored_crc = u32::from_le_bytes([header[24], header[25], header[26], header[27]]);
    if len > max_snapshot_bytes {
        return Err(corrupt(
            16,
            format!("snapshot length {len} exceeds max_snapshot_bytes {max_snapshot_bytes}"),
        ));
    }
    if HEADER_BYTES as u64 + len != file_len {
        return Err(corrupt(
            16,
            format!("snapshot length {len} does not match the file's {file_len} bytes"),
        ));
    }
    let mut payload = vec![0u8; len as usize];
    file.read_exact(&mut payload)
        .map_err(|e| StorageError::io("read", path, e))?;
    if checksum(first_segment, len, &payload) != stored_crc {
        return Err(corrupt(0, "snapshot checksum mismatch".to_string()));
    }
    Ok(Some((first_segment, payload)))
}
