//! The WAL's on-disk layout (format [`FORMAT_VERSION`]): headers and frames.
//!
//! A segment is `segment header | group*`:
//! - segment header ([`SEGMENT_HEADER_BYTES`]): `magic "SYNODWAL" | version:
//!   u32 LE | segment seq: u64 LE | crc32c: u32 LE` (over the bytes before
//!   it). Written and fsynced when the segment is created, before the
//!   manifest names it: a segment shorter than its header, or with a damaged
//!   one, lost synced data.
//! - group ([`GROUP_HEADER_BYTES`] + body): everything one
//!   [`super::Storage::sync`] wrote, in ONE write followed by one fdatasync:
//!   `body_len: u32 LE | group seq: u64 LE | crc32c: u32 LE` (over the
//!   segment seq, `body_len` and the group seq, so a group from another
//!   segment or position does not pass), then the body: record frames.
//! - record frame ([`FRAME_HEADER_BYTES`] + payload): `len: u32 LE | crc32c:
//!   u32 LE | payload`, the checksum over the length bytes *and* the payload
//!   (an all-zero header never passes as an empty record).
//!
//! A group is written only after the previous group's fdatasync returned
//! (and recovery fsyncs what it read before anything is appended), so any
//! byte of the file after a group's end proves that group was synced. The
//! classification of damage lives in [`super::segment`].

use serde::de::DeserializeOwned;

use super::StorageError;

/// The WAL and snapshot format this build writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 2;
/// Bytes of a record frame's header (length and checksum).
pub const FRAME_HEADER_BYTES: usize = 8;
/// Bytes of a segment's header.
pub const SEGMENT_HEADER_BYTES: usize = 24;
/// Bytes of a group's header.
pub const GROUP_HEADER_BYTES: usize = 16;

const SEGMENT_MAGIC: &[u8; 8] = b"SYNODWAL";

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

/// The header of segment `seq`.
pub(crate) fn segment_header(seq: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut out = [0u8; SEGMENT_HEADER_BYTES];
    out[..8].copy_from_slice(SEGMENT_MAGIC);
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[12..20].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c(&out[..20]);
    out[20..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// What is wrong with a segment header, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SegmentHeaderError {
    /// Not a format-2 segment header, or damaged.
    Damaged(String),
    /// A well-formed header of another format version.
    Version(u32),
}

/// Checks the header of segment `seq`.
pub(crate) fn check_segment_header(
    header: &[u8; SEGMENT_HEADER_BYTES],
    seq: u64,
) -> Result<(), SegmentHeaderError> {
    let damaged = |why: &str| Err(SegmentHeaderError::Damaged(why.to_string()));
    if header.iter().all(|&b| b == 0) {
        return damaged("the segment header is zero-filled");
    }
    if &header[..8] != SEGMENT_MAGIC {
        return damaged(
            "bad segment magic: not a synod WAL segment, or one of format 1 \
             (written before format versions)",
        );
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != FORMAT_VERSION {
        return Err(SegmentHeaderError::Version(version));
    }
    let stored = u32::from_le_bytes([header[20], header[21], header[22], header[23]]);
    if crc32c::crc32c(&header[..20]) != stored {
        return damaged("segment header checksum mismatch");
    }
    let mut word = [0u8; 8];
    word.copy_from_slice(&header[12..20]);
    let found = u64::from_le_bytes(word);
    if found != seq {
        return Err(SegmentHeaderError::Damaged(format!(
            "the segment header names segment {found}, not {seq}"
        )));
    }
    Ok(())
}

fn group_checksum(segment_seq: u64, body_len: u32, group_seq: u64) -> u32 {
    let mut crc = crc32c::crc32c(&segment_seq.to_le_bytes());
    crc = crc32c::crc32c_append(crc, &body_len.to_le_bytes());
    crc32c::crc32c_append(crc, &group_seq.to_le_bytes())
}

/// The header of group `group_seq` of segment `segment_seq`.
pub(crate) fn group_header(
    segment_seq: u64,
    body_len: u32,
    group_seq: u64,
) -> [u8; GROUP_HEADER_BYTES] {
    let mut out = [0u8; GROUP_HEADER_BYTES];
    out[..4].copy_from_slice(&body_len.to_le_bytes());
    out[4..12].copy_from_slice(&group_seq.to_le_bytes());
    let crc = group_checksum(segment_seq, body_len, group_seq);
    out[12..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A group header's body length and group seq, if its checksum holds.
pub(crate) fn parse_group_header(bytes: &[u8], segment_seq: u64) -> Option<(u32, u64)> {
    if bytes.len() < GROUP_HEADER_BYTES {
        return None;
    }
    let body_len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[4..12]);
    let group_seq = u64::from_le_bytes(word);
    let stored = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    (group_checksum(segment_seq, body_len, group_seq) == stored).then_some((body_len, group_seq))
}

/// Why a group's body did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// A frame is damaged or partial (possibly a torn write): at its offset
    /// in the body.
    Damaged(usize, String),
    /// A frame with a valid checksum does not decode: never a torn write.
    Undecodable(usize, String),
}

/// Decodes every frame of a group's body, which they must fill exactly.
pub(crate) fn decode_body<R: DeserializeOwned>(
    body: &[u8],
    max_record_bytes: u32,
) -> Result<Vec<R>, BodyError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        let rest = &body[at..];
        if rest.len() < FRAME_HEADER_BYTES {
            let why = format!(
                "{} bytes left in the group, less than a frame header",
                rest.len()
            );
            return Err(BodyError::Damaged(at, why));
        }
        let len_le = [rest[0], rest[1], rest[2], rest[3]];
        let len = u32::from_le_bytes(len_le);
        let stored = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > max_record_bytes {
            let why = format!("record length {len} exceeds max_record_bytes {max_record_bytes}");
            return Err(BodyError::Damaged(at, why));
        }
        let payload = &rest[FRAME_HEADER_BYTES..];
        if len as usize > payload.len() {
            let why = format!("record length {len} runs past the end of its group");
            return Err(BodyError::Damaged(at, why));
        }
        let payload = &payload[..len as usize];
        if checksum(len_le, payload) != stored {
            let why = format!("checksum mismatch in a record of {len} bytes");
            return Err(BodyError::Damaged(at, why));
        }
        let record = postcard::from_bytes(payload).map_err(|e| {
            BodyError::Undecodable(
                at,
                format!("record with a valid checksum does not decode: {e}"),
            )
        })?;
        records.push(record);
        at += FRAME_HEADER_BYTES + len as usize;
    }
    Ok(records)
}
