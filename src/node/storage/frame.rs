//! The WAL's record framing: `len: u32 LE | crc: u32 LE | payload`.
//!
//! The checksum is CRC32C over the length bytes *and* the payload, so a
//! damaged length field is detected, and an all-zero header (a zero-filled
//! tail) never passes as a valid empty record (CRC32C of four zero bytes is
//! not zero).
//!
//! Classifying the end of a segment (the rule of the node issue): only a
//! *partial last record* is a torn write, cut off on recovery:
//! - fewer than [`FRAME_HEADER_BYTES`] bytes remain, or
//! - the record's length runs past the end of the file and no intact record
//!   follows its header, or
//! - its checksum fails and the file is zero from inside this record to its
//!   end (zero-filled: the size grew but the data never reached the disk).
//!
//! A complete record with a bad checksum and anything non-zero after it is
//! corruption, as is a length above the limit (checked before allocating),
//! and a length running past the end with an intact record after it (a
//! damaged length field: cutting there would silently drop the intact,
//! possibly acknowledged, records behind it; a property test found this).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::de::DeserializeOwned;

use super::StorageError;

/// Bytes of a frame header (length and checksum).
pub const FRAME_HEADER_BYTES: usize = 8;

fn checksum(len_le: [u8; 4], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len_le), payload)
}

/// Appends the frame of `payload` to `out`.
pub(crate) fn encode(
    payload: &[u8],
    max_record_bytes: u32,
    out: &mut Vec<u8>,
) -> Result<(), StorageError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= max_record_bytes)
        .ok_or(StorageError::RecordTooLarge {
            len: payload.len(),
            limit: max_record_bytes,
        })?;
    let len_le = len.to_le_bytes();
    out.extend_from_slice(&len_le);
    out.extend_from_slice(&checksum(len_le, payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// How a segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentEnd {
    /// The last record ended exactly at the end of the file.
    Clean,
    /// A partial last record starts at `offset`: a torn write.
    Torn {
        /// Where the torn record starts (the length to truncate to).
        offset: u64,
    },
}

/// Reads every record of the segment at `path`, pushing them onto `out`.
pub(crate) fn scan<R: DeserializeOwned>(
    path: &Path,
    max_record_bytes: u32,
    out: &mut Vec<R>,
) -> Result<SegmentEnd, StorageError> {
    let file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| StorageError::io("stat", path, e))?
        .len();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let corrupt = |offset: u64, reason: String| StorageError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let mut offset = 0u64;
    let mut payload = Vec::new();
    while offset < file_len {
        let remaining = file_len - offset;
        if remaining < FRAME_HEADER_BYTES as u64 {
            return Ok(SegmentEnd::Torn { offset });
        }
        let mut header = [0u8; FRAME_HEADER_BYTES];
        reader
            .read_exact(&mut header)
            .map_err(|e| StorageError::io("read", path, e))?;
        let len_le = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes(len_le);
        let stored_crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len > max_record_bytes {
            // Checked before allocating: a flipped high bit must not become a
            // gigabyte allocation. No writer produces such a length, so this
            // is damage, not a torn write.
            return Err(corrupt(
                offset,
                format!("record length {len} exceeds max_record_bytes {max_record_bytes}"),
            ));
        }
        let end = offset + FRAME_HEADER_BYTES as u64 + u64::from(len);
        if end > file_len {
            if let Some(intact) = intact_frame_after(path, offset + 1, file_len, max_record_bytes)?
            {
                return Err(corrupt(
                    offset,
                    format!(
                        "record length {len} runs past the end of the file, but an intact \
                         record follows at offset {intact}: a damaged length, not a torn write"
                    ),
                ));
            }
            return Ok(SegmentEnd::Torn { offset });
        }
        payload.clear();
        payload.resize(len as usize, 0);
        reader
            .read_exact(&mut payload)
            .map_err(|e| StorageError::io("read", path, e))?;
        if checksum(len_le, &payload) != stored_crc {
            // Only a failed checksum needs the file's zero tail: every
            // outcome below ends the scan.
            let zeros_from = zero_tail_start(path, file_len)?;
            if zeros_from < end {
                return Ok(SegmentEnd::Torn { offset });
            }
            return Err(corrupt(
                offset,
                format!("checksum mismatch in a complete record of {len} bytes"),
            ));
        }
        let record = postcard::from_bytes(&payload).map_err(|e| {
            corrupt(
                offset,
                format!("record with a valid checksum does not decode: {e}"),
            )
        })?;
        out.push(record);
        offset = end;
    }
    Ok(SegmentEnd::Clean)
}

/// The offset of the first intact frame (its length fits and its checksum
/// holds) starting in `from..file_len`, if any. Only called on a record that
/// runs past the end, so the region is shorter than one maximal record
/// (`file_len - from < FRAME_HEADER_BYTES + max_record_bytes`): reading it
/// is bounded. A random false match needs a 32-bit checksum collision.
fn intact_frame_after(
    path: &Path,
    from: u64,
    file_len: u64,
    max_record_bytes: u32,
) -> Result<Option<u64>, StorageError> {
    let region_len = file_len.saturating_sub(from);
    if region_len < FRAME_HEADER_BYTES as u64
        || region_len > FRAME_HEADER_BYTES as u64 + u64::from(max_record_bytes)
    {
        return Ok(None);
    }
    let mut file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    file.seek(SeekFrom::Start(from))
        .map_err(|e| StorageError::io("seek", path, e))?;
    let mut region = vec![0u8; region_len as usize];
    file.read_exact(&mut region)
        .map_err(|e| StorageError::io("read", path, e))?;
    for at in 0..=region.len() - FRAME_HEADER_BYTES {
        let len_le = [region[at], region[at + 1], region[at + 2], region[at + 3]];
        let len = u32::from_le_bytes(len_le);
        let payload_at = at + FRAME_HEADER_BYTES;
        if len > max_record_bytes || len as usize > region.len() - payload_at {
            continue;
        }
        let stored = u32::from_le_bytes([
            region[at + 4],
            region[at + 5],
            region[at + 6],
            region[at + 7],
        ]);
        if checksum(len_le, &region[payload_at..payload_at + len as usize]) == stored {
            return Ok(Some(from + at as u64));
        }
    }
    Ok(None)
}

/// The offset where the file's final run of zero bytes starts (`file_len` if
/// the last byte is not zero). Reads backwards in chunks.
fn zero_tail_start(path: &Path, file_len: u64) -> Result<u64, StorageError> {
    const CHUNK: u64 = 1 << 16;
    let mut file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut end = file_len;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))
            .map_err(|e| StorageError::io("seek", path, e))?;
        file.read_exact(chunk)
            .map_err(|e| StorageError::io("read", path, e))?;
        if let Some(last_nonzero) = chunk.iter().rposition(|&b| b != 0) {
            return Ok(start + last_nonzero as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}
