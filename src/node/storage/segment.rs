//! Reading a WAL segment back, and telling a torn unsynced tail from damage
//! to synced data (the rule: never recover with less than was promised).
//!
//! Only the group being written when the node stopped can be unsynced, and
//! only the last group of the live segment can be that one: a group is
//! written after the previous group's fdatasync returned. So:
//! - the segment header was synced at creation: a segment shorter than it,
//!   or with a damaged one, is corruption;
//! - a damaged group that has any byte after its end was synced (a later
//!   write exists): corruption;
//! - the last group may be cut as a torn write only if the damage has the
//!   shape a lost write leaves: the file ends inside it (its size cut), or a
//!   whole sector of it ([`SECTOR_BYTES`], clipped to where the group starts
//!   and the file ends) is zero (a sector that never reached the disk). A
//!   complete last group with a bad frame and no zero sector (a flipped bit)
//!   is corruption;
//! - a damaged group header is a torn write only if no intact group header
//!   follows it and a sector it overlaps is zero.
//!
//! What this cannot see: a file truncated exactly at a group boundary, or a
//! zeroed region that starts exactly at the last group's header and runs to
//! the end of the file, looks like a crash before that group's write.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::de::DeserializeOwned;

use super::frame::{
    self, BodyError, SegmentHeaderError, FORMAT_VERSION, FRAME_HEADER_BYTES, GROUP_HEADER_BYTES,
    SEGMENT_HEADER_BYTES,
};
use super::{StorageError, MAX_PENDING_BYTES};

/// The unit a torn write loses: a sector either reached the disk whole or
/// not at all (then it reads as zeros in an appended file).
pub const SECTOR_BYTES: u64 = 512;

/// What a segment holds.
pub(crate) struct Scanned<R> {
    /// The records of its complete groups, in order.
    pub records: Vec<R>,
    /// Where a torn last group starts (the length to truncate to), if any.
    pub torn: Option<u64>,
    /// The seq of the next group to write.
    pub next_group: u64,
}

/// The largest group body a writer with these limits produces.
pub(crate) fn max_group_body(max_record_bytes: u32) -> u64 {
    (MAX_PENDING_BYTES as u64).max(FRAME_HEADER_BYTES as u64 + u64::from(max_record_bytes))
}

fn corrupt(path: &Path, offset: u64, reason: String) -> StorageError {
    StorageError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    }
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<(), StorageError> {
    reader
        .read_exact(buf)
        .map_err(|e| StorageError::io("read", path, e))
}

/// Reads and checks the header of segment `seq`.
fn read_segment_header(
    path: &Path,
    reader: &mut impl Read,
    file_len: u64,
    seq: u64,
) -> Result<(), StorageError> {
    if file_len < SEGMENT_HEADER_BYTES as u64 {
        return Err(corrupt(
            path,
            0,
            format!(
                "WAL segment of {file_len} bytes is shorter than its {SEGMENT_HEADER_BYTES}-byte \
                 header, which was synced when it was created: emptied or truncated"
            ),
        ));
    }
    let mut header = [0u8; SEGMENT_HEADER_BYTES];
    read_exact(reader, &mut header, path)?;
    match frame::check_segment_header(&header, seq) {
        Ok(()) => Ok(()),
        Err(SegmentHeaderError::Damaged(why)) => Err(corrupt(path, 0, why)),
        Err(SegmentHeaderError::Version(found)) => Err(StorageError::UnsupportedFormat {
            path: path.to_path_buf(),
            offset: 8,
            found,
            supported: FORMAT_VERSION,
        }),
    }
}

/// Reads every record of segment `seq` at `path`.
pub(crate) fn scan<R: DeserializeOwned>(
    path: &Path,
    seq: u64,
    max_record_bytes: u32,
) -> Result<Scanned<R>, StorageError> {
    let file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| StorageError::io("stat", path, e))?
        .len();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    read_segment_header(path, &mut reader, file_len, seq)?;
    let max_body = max_group_body(max_record_bytes);
    let mut scanned = Scanned {
        records: Vec::new(),
        torn: None,
        next_group: 1,
    };
    let mut offset = SEGMENT_HEADER_BYTES as u64;
    let mut body = Vec::new();
    while offset < file_len {
        if file_len - offset < GROUP_HEADER_BYTES as u64 {
            scanned.torn = Some(offset); // the file ends inside the header
            return Ok(scanned);
        }
        let mut header = [0u8; GROUP_HEADER_BYTES];
        read_exact(&mut reader, &mut header, path)?;
        let parsed = frame::parse_group_header(&header, seq)
            .filter(|&(_, group_seq)| group_seq == scanned.next_group);
        let Some((body_len, _)) = parsed else {
            damaged_group_header(path, offset, file_len, seq, scanned.next_group)?;
            scanned.torn = Some(offset);
            return Ok(scanned);
        };
        if u64::from(body_len) > max_body {
            let why = format!("group of {body_len} bytes exceeds the largest group ({max_body})");
            return Err(corrupt(path, offset, why));
        }
        let end = offset + (GROUP_HEADER_BYTES as u64) + u64::from(body_len);
        if end > file_len {
            scanned.torn = Some(offset); // the file ends inside the group
            return Ok(scanned);
        }
        body.resize(body_len as usize, 0);
        read_exact(&mut reader, &mut body, path)?;
        match frame::decode_body::<R>(&body, max_record_bytes) {
            Ok(mut records) => scanned.records.append(&mut records),
            Err(e) => {
                damaged_group_body(path, offset, end, file_len, e)?;
                scanned.torn = Some(offset);
                return Ok(scanned);
            }
        }
        offset = end;
        scanned.next_group += 1;
    }
    Ok(scanned)
}

/// A group at `offset` whose body is damaged: `Ok` if it is a torn write
/// (the caller cuts it), else the corruption.
fn damaged_group_body(
    path: &Path,
    offset: u64,
    end: u64,
    file_len: u64,
    error: BodyError,
) -> Result<(), StorageError> {
    let body_at = offset + GROUP_HEADER_BYTES as u64;
    let (at, why) = match error {
        BodyError::Undecodable(at, why) => return Err(corrupt(path, body_at + at as u64, why)),
        BodyError::Damaged(at, why) => (body_at + at as u64, why),
    };
    if end < file_len {
        return Err(corrupt(
            path,
            at,
            format!(
                "{why}, in the group at offset {offset}, which a later write follows \
                 (at offset {end}): it was synced, so this is damage, not a torn write"
            ),
        ));
    }
    if has_zero_sector(path, offset, end, file_len)? {
        return Ok(());
    }
    Err(corrupt(
        path,
        at,
        format!(
            "{why}, in the complete last group (at offset {offset}), which has no zero-filled \
             sector: damage, not a torn write"
        ),
    ))
}

/// A damaged or misplaced group header at `offset`: `Ok` if it is a torn
/// write, else the corruption.
fn damaged_group_header(
    path: &Path,
    offset: u64,
    file_len: u64,
    segment_seq: u64,
    group_seq: u64,
) -> Result<(), StorageError> {
    if let Some(at) = intact_group_after(path, offset + 1, file_len, segment_seq, group_seq)? {
        return Err(corrupt(
            path,
            offset,
            format!(
                "damaged header of group {group_seq}, but an intact later group follows at \
                 offset {at}: damage to synced data, not a torn write"
            ),
        ));
    }
    let header_end = (offset + GROUP_HEADER_BYTES as u64).min(file_len);
    if has_zero_sector(path, offset, header_end, file_len)? {
        return Ok(());
    }
    Err(corrupt(
        path,
        offset,
        format!(
            "damaged header of group {group_seq} (bad checksum or sequence) with no zero-filled \
             sector: damage, not a torn write"
        ),
    ))
}

/// Whether a sector overlapping `from..to`, clipped to start no earlier
/// than `from` and end no later than `file_len`, is all zero.
fn has_zero_sector(path: &Path, from: u64, to: u64, file_len: u64) -> Result<bool, StorageError> {
    let mut file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    file.seek(SeekFrom::Start(from))
        .map_err(|e| StorageError::io("seek", path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut sector = [0u8; SECTOR_BYTES as usize];
    let mut start = from;
    while start < to {
        let end = ((start / SECTOR_BYTES + 1) * SECTOR_BYTES).min(file_len);
        let chunk = &mut sector[..(end - start) as usize];
        read_exact(&mut reader, chunk, path)?;
        if chunk.iter().all(|&b| b == 0) {
            return Ok(true);
        }
        start = end;
    }
    Ok(false)
}

/// The offset of the first intact group header (checksum valid for this
/// segment, group seq at least `group_seq`) starting in `from..file_len`.
/// Only on damage: it reads the rest of the file.
fn intact_group_after(
    path: &Path,
    from: u64,
    file_len: u64,
    segment_seq: u64,
    group_seq: u64,
) -> Result<Option<u64>, StorageError> {
    const WINDOW: usize = 1 << 20;
    let mut file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let mut buf = vec![0u8; WINDOW + GROUP_HEADER_BYTES];
    let mut start = from;
    while start + GROUP_HEADER_BYTES as u64 <= file_len {
        let len = ((file_len - start) as usize).min(buf.len());
        file.seek(SeekFrom::Start(start))
            .map_err(|e| StorageError::io("seek", path, e))?;
        read_exact(&mut file, &mut buf[..len], path)?;
        for at in 0..=len - GROUP_HEADER_BYTES {
            let found = frame::parse_group_header(&buf[at..], segment_seq);
            if found.is_some_and(|(_, seq)| seq >= group_seq) {
                return Ok(Some(start + at as u64));
            }
        }
        start += (len - GROUP_HEADER_BYTES + 1) as u64;
    }
    Ok(None)
}
