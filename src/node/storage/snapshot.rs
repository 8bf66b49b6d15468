//! The snapshot file, which is also the WAL's manifest: `magic "SYNODSNP" |
//! version: u32 LE | first_segment: u64 LE | len: u64 LE | crc32c: u32 LE |
//! payload` (the checksum over the fields after the magic and the payload).
//!
//! `first_segment` names the live WAL segment, whose records come after the
//! snapshot; older segments are covered by it and deleted. The file exists
//! from the storage's creation on (with an empty base until the first
//! compaction), so a missing live segment is detected. It is replaced only
//! by an atomic rename, so it is never torn: any damage is corruption.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::StorageError;

use super::frame::FORMAT_VERSION;

const MAGIC: &[u8; 8] = b"SYNODSNP";
/// The magic of format 1, which had no version field.
const MAGIC_FORMAT_1: &[u8; 8] = b"SYNSNAP1";
const HEADER_BYTES: usize = 8 + 4 + 8 + 8 + 4;

/// The snapshot file's name in the storage directory.
pub(crate) const SNAPSHOT_FILE: &str = "snapshot";

fn checksum(first_segment: u64, len: u64, payload: &[u8]) -> u32 {
    let mut crc = crc32c::crc32c(&FORMAT_VERSION.to_le_bytes());
    crc = crc32c::crc32c_append(crc, &first_segment.to_le_bytes());
    crc = crc32c::crc32c_append(crc, &len.to_le_bytes());
    crc32c::crc32c_append(crc, payload)
}

/// The bytes of a snapshot file.
pub(crate) fn encode(first_segment: u64, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u64;
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
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
    let mut magic = [0u8; 8];
    if file_len >= 8 {
        file.read_exact(&mut magic)
            .map_err(|e| StorageError::io("read", path, e))?;
        if &magic == MAGIC_FORMAT_1 {
            return Err(unsupported(path, 0, 1));
        }
    }
    if file_len < HEADER_BYTES as u64 {
        return Err(corrupt(
            0,
            format!("snapshot file of {file_len} bytes is shorter than its header"),
        ));
    }
    let mut header = [0u8; HEADER_BYTES];
    header[..8].copy_from_slice(&magic);
    file.read_exact(&mut header[8..])
        .map_err(|e| StorageError::io("read", path, e))?;
    if &header[..8] != MAGIC {
        return Err(corrupt(0, "bad snapshot magic".to_string()));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != FORMAT_VERSION {
        return Err(unsupported(path, 8, version));
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let first_segment = word(12);
    let len = word(20);
    let stored_crc = u32::from_le_bytes([header[28], header[29], header[30], header[31]]);
    if len > max_snapshot_bytes {
        return Err(corrupt(
            20,
            format!("snapshot length {len} exceeds max_snapshot_bytes {max_snapshot_bytes}"),
        ));
    }
    if HEADER_BYTES as u64 + len != file_len {
        return Err(corrupt(
            20,
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

fn unsupported(path: &Path, offset: u64, found: u32) -> StorageError {
    StorageError::UnsupportedFormat {
        path: path.to_path_buf(),
        offset,
        found,
        supported: FORMAT_VERSION,
    }
}
