//! Length-prefixed, checksummed frames: the unit of every byte stream between
//! peers and between clients and nodes.
//!
//! ```text
//! u32 LE  body_len   bytes after this 8-byte prefix; checked against the limit
//!                    before anything is allocated
//! u32 LE  crc32c     CRC32C (Castagnoli) of the body
//! body:
//!   u8      version      FRAME_VERSION
//!   u8      cluster_len
//!   [u8]    cluster_id   UTF-8, at most MAX_CLUSTER_ID_BYTES
//!   u64 LE  sender       node id, or client id on the client port
//!   [u8]    payload      postcard-encoded message
//! ```
//!
//! The checksum comes before the fields it covers so that nothing in a corrupt
//! body is trusted. The cluster id travels in full rather than as a hash: it is
//! a few bytes, and a collision would silently join two clusters.
//!
//! Payloads use postcard: compact (varints, no field names), a documented
//! stable wire format since 1.0, serde-native, and no `deserialize_any`, so a
//! malformed payload is an error, never a guess. The same property means a
//! message type must not rely on self-describing formats (untagged enums,
//! `serde_json::Value`).

use std::io::{self, Read};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::node::config::{NodeId, MAX_CLUSTER_ID_BYTES};

/// The frame format version this build speaks.
pub const FRAME_VERSION: u8 = 1;

/// Bytes before the body: its length and its checksum.
pub const PREFIX_BYTES: usize = 8;

/// The smallest body: version, cluster length, empty cluster id, sender.
const MIN_BODY_BYTES: usize = 1 + 1 + 8;

/// Why a frame was refused. Any of these closes the connection it came on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended cleanly between two frames.
    #[error("connection closed")]
    Closed,
    /// The stream failed, or ended inside a frame.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The announced frame exceeds the limit; nothing was allocated for it.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced frame length, prefix included.
        len: u64,
        /// The limit in force.
        max: u32,
    },
    /// The announced body is shorter than its fixed fields.
    #[error("frame body of {len} bytes is shorter than its header")]
    TooShort {
        /// The announced body length.
        len: u32,
    },
    /// The body does not match its checksum.
    #[error("checksum mismatch: frame says {expected:#010x}, body has {actual:#010x}")]
    Checksum {
        /// The checksum in the prefix.
        expected: u32,
        /// The checksum of the body received.
        actual: u32,
    },
    /// The sender speaks another frame version.
    #[error("frame version {got}, this build speaks {FRAME_VERSION}")]
    Version {
        /// The version in the frame.
        got: u8,
    },
    /// The frame belongs to another cluster.
    #[error("frame from cluster {got:?}, this is cluster {expected:?}")]
    Cluster {
        /// The cluster id in the frame (lossily decoded).
        got: String,
        /// This node's cluster id.
        expected: String,
    },
    /// The header's fields are inconsistent.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// A message could not be encoded.
    #[error("cannot encode payload: {0}")]
    Encode(postcard::Error),
    /// The payload is not a valid message.
    #[error("cannot decode payload: {0}")]
    Decode(postcard::Error),
}

/// A frame that passed every check: its sender and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The sender id from the header (a node id, or a client id).
    pub sender: NodeId,
    body: Vec<u8>,
    payload_start: usize,
}

impl Frame {
    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.body[self.payload_start..]
    }

    /// Decodes the payload as a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, FrameError> {
        postcard::from_bytes(self.payload()).map_err(FrameError::Decode)
    }
}

/// Encodes and checks frames for one cluster, under one size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameCodec {
    cluster_id: String,
    max_frame_bytes: u32,
}

impl FrameCodec {
    /// A codec for `cluster_id` (at most [`MAX_CLUSTER_ID_BYTES`], else
    /// `None`) that refuses frames over `max_frame_bytes` (prefix included).
    pub fn new(cluster_id: &str, max_frame_bytes: u32) -> Option<FrameCodec> {
        if cluster_id.len() > MAX_CLUSTER_ID_BYTES
            || (max_frame_bytes as usize) < PREFIX_BYTES + MIN_BODY_BYTES + cluster_id.len()
        {
            return None;
        }
        Some(FrameCodec {
            cluster_id: cluster_id.to_string(),
            max_frame_bytes,
        })
    }

    /// The size limit in force.
    pub fn max_frame_bytes(&self) -> u32 {
        self.max_frame_bytes
    }

    /// The cluster id frames must carry.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Encodes `payload` from `sender` into one frame; a frame that would
    /// exceed the limit is an error, so the receiver would never refuse it.
    pub fn encode<T: Serialize + ?Sized>(
        &self,
        sender: NodeId,
        payload: &T,
    ) -> Result<Vec<u8>, FrameError> {
        let cluster = self.cluster_id.as_bytes();
        let mut frame = Vec::with_capacity(PREFIX_BYTES + MIN_BODY_BYTES + cluster.len() + 64);
        frame.extend_from_slice(&[0; PREFIX_BYTES]);
        frame.push(FRAME_VERSION);
        // `new` bounds the cluster id at MAX_CLUSTER_ID_BYTES (< 256).
        frame.push(cluster.len() as u8);
        frame.extend_from_slice(cluster);
        frame.extend_from_slice(&sender.to_le_bytes());
        let mut frame = postcard::to_extend(payload, frame).map_err(FrameError::Encode)?;
        if frame.len() > self.max_frame_bytes as usize {
            return Err(FrameError::TooLarge {
                len: frame.len() as u64,
                max: self.max_frame_bytes,
            });
        }
        let body_len = (frame.len() - PREFIX_BYTES) as u32;
        let crc = crc32c::crc32c(&frame[PREFIX_BYTES..]);
        frame[0..4].copy_from_slice(&body_len.to_le_bytes());
        frame[4..8].copy_from_slice(&crc.to_le_bytes());
        Ok(frame)
    }

    /// Checks a prefix and returns the body length it announces, refusing it
    /// if the frame would exceed the limit.
    fn body_len(&self, prefix: &[u8; PREFIX_BYTES]) -> Result<(usize, u32), FrameError> {
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let crc = u32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
        let total = u64::from(len) + PREFIX_BYTES as u64;
        if total > u64::from(self.max_frame_bytes) {
            return Err(FrameError::TooLarge {
                len: total,
                max: self.max_frame_bytes,
            });
        }
        if (len as usize) < MIN_BODY_BYTES {
            return Err(FrameError::TooShort { len });
        }
        Ok((len as usize, crc))
    }

    /// Checks a body against its checksum, version and cluster.
    fn check_body(&self, body: Vec<u8>, crc: u32) -> Result<Frame, FrameError> {
        let actual = crc32c::crc32c(&body);
        if actual != crc {
            return Err(FrameError::Checksum {
                expected: crc,
                actual,
            });
        }
        if body[0] != FRAME_VERSION {
            return Err(FrameError::Version { got: body[0] });
        }
        let cluster_len = body[1] as usize;
        let sender_start = 2 + cluster_len;
        let payload_start = sender_start + 8;
        if payload_start > body.len() {
            return Err(FrameError::Malformed("cluster id runs past the frame"));
        }
        let cluster = &body[2..sender_start];
        if cluster != self.cluster_id.as_bytes() {
            return Err(FrameError::Cluster {
                got: String::from_utf8_lossy(cluster).into_owned(),
                expected: self.cluster_id.clone(),
            });
        }
        let mut sender = [0u8; 8];
        sender.copy_from_slice(&body[sender_start..payload_start]);
        Ok(Frame {
            sender: u64::from_le_bytes(sender),
            body,
            payload_start,
        })
    }

    /// Reads one frame from `r`. The body is allocated only after its length
    /// passed the limit. [`FrameError::Closed`] means the stream ended cleanly
    /// before a new frame.
    pub fn read<R: Read>(&self, r: &mut R) -> Result<Frame, FrameError> {
        let mut prefix = [0u8; PREFIX_BYTES];
        let mut got = 0;
        while got < PREFIX_BYTES {
            match r.read(&mut prefix[got..]) {
                Ok(0) if got == 0 => return Err(FrameError::Closed),
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (len, crc) = self.body_len(&prefix)?;
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        self.check_body(body, crc)
    }

    /// Decodes one frame from the front of `bytes`; returns it and the bytes
    /// it used. Incomplete input is an `UnexpectedEof` I/O error.
    pub fn decode(&self, bytes: &[u8]) -> Result<(Frame, usize), FrameError> {
        let eof = || FrameError::Io(io::Error::from(io::ErrorKind::UnexpectedEof));
        let prefix: &[u8; PREFIX_BYTES] = bytes
            .get(..PREFIX_BYTES)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(eof)?;
        let (len, crc) = self.body_len(prefix)?;
        let body = bytes
            .get(PREFIX_BYTES..PREFIX_BYTES + len)
            .ok_or_else(eof)?;
        Ok((self.check_body(body.to_vec(), crc)?, PREFIX_BYTES + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> FrameCodec {
        FrameCodec::new("local", 4096).expect("valid codec")
    }

    #[test]
    fn encoded_frame_decodes_to_same_sender_and_payload() {
        let frame = codec().encode(7, &(1u64, "x".to_string())).unwrap();
        let (decoded, used) = codec().decode(&frame).unwrap();
        assert_eq!(used, frame.len());
        assert_eq!(decoded.sender, 7);
        assert_eq!(decoded.decode::<(u64, String)>().unwrap(), (1, "x".into()));
    }

    #[test]
    fn every_single_bit_flip_in_the_body_is_caught() {
        let frame = codec().encode(7, &[1u8, 2, 3]).unwrap();
        for bit in PREFIX_BYTES * 8..frame.len() * 8 {
            let mut bad = frame.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(codec().decode(&bad), Err(FrameError::Checksum { .. })),
                "bit {bit} not caught"
            );
        }
    }
}
