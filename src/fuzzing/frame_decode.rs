//! `frame_decode`: arbitrary bytes into the node's frame decoders (the peer
//! codec under the peer frame limit, the client codec under the client
//! limit, both by `decode` on a slice and by `read` on a stream, which must
//! agree) and into the message decoders (peer `Message<KvStore>`, the
//! handshake's `Hello`/`HelloReply`, client `ClientMessage`/`ServerMessage`).
//! Properties: no panic; no single allocation above the frame limit (with
//! [`super::alloc::Tracking`] installed); every message that decodes
//! re-encodes, through the codec, to a frame that decodes to the same
//! message and sender.
//!
//! Input: a mode byte. Even: the rest is a byte stream of frames. Odd: the
//! rest is a payload, wrapped in a correct frame header (length, checksum,
//! version, cluster, sender) built here, so the message decoders see
//! arbitrary payloads past the checksum.

use std::fmt::Debug;
use std::io::Cursor;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::alloc;
use crate::kv::{Command, KvStore, Response};
use crate::node::proto::{ClientMessage, ServerMessage};
use crate::node::transport::peer::{Hello, HelloReply};
use crate::node::transport::{FrameCodec, FrameError, FRAME_VERSION};
use crate::paxos::Message;

/// The cluster id of the codecs under test.
pub const CLUSTER: &str = "fuzz";
/// The peer frame limit (the default `max_frame_bytes`).
pub const PEER_LIMIT: u32 = 16 << 20;
/// The client frame limit (the default `max_client_frame_bytes`).
pub const CLIENT_LIMIT: u32 = 1 << 20;

/// The peer codec under test.
pub fn peer_codec() -> FrameCodec {
    FrameCodec::new(CLUSTER, PEER_LIMIT).expect("valid codec")
}

/// The client codec under test.
pub fn client_codec() -> FrameCodec {
    FrameCodec::new(CLUSTER, CLIENT_LIMIT).expect("valid codec")
}

/// A frame around `payload` from `sender`, built by hand from the format's
/// spec (not by the codec).
pub fn wrap(sender: u64, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![FRAME_VERSION, CLUSTER.len() as u8];
    body.extend_from_slice(CLUSTER.as_bytes());
    body.extend_from_slice(&sender.to_le_bytes());
    body.extend_from_slice(payload);
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    frame.extend_from_slice(&body);
    frame
}

fn same_error(a: &FrameError, b: &FrameError) -> bool {
    match (a, b) {
        (FrameError::Io(x), FrameError::Io(y)) => x.kind() == y.kind(),
        // A stream that ends before any byte is `Closed` for `read`, an
        // incomplete prefix for `decode`.
        (FrameError::Closed, FrameError::Io(_)) | (FrameError::Io(_), FrameError::Closed) => true,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// Decodes `frame`'s payload as a `T`; if it decodes, re-encodes it through
/// `codec` and checks the round trip.
fn message<T>(codec: &FrameCodec, frame: &crate::node::transport::Frame)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let Ok(m) = frame.decode::<T>() else {
        return;
    };
    let again = codec
        .encode(frame.sender, &m)
        .expect("a decoded message re-encodes within the limit");
    let (decoded, used) = codec.decode(&again).expect("a re-encoded frame decodes");
    assert_eq!(used, again.len());
    assert_eq!(decoded.sender, frame.sender);
    let m2: T = decoded.decode().expect("a re-encoded message decodes");
    assert_eq!(m2, m, "decode(encode(m)) != m");
}

/// Every frame at the front of `bytes` under `codec`, by slice and by
/// stream; each frame's payload through the message decoders `check`.
fn frames(
    codec: &FrameCodec,
    bytes: &[u8],
    check: fn(&FrameCodec, &crate::node::transport::Frame),
) {
    let limit = codec.max_frame_bytes() as usize;
    let mut at = 0;
    let mut stream = Cursor::new(bytes);
    loop {
        alloc::reset();
        let by_slice = codec.decode(&bytes[at..]);
        let by_stream = codec.read(&mut stream);
        assert!(
            alloc::largest() <= limit,
            "allocated {} bytes, over the frame limit {limit}",
            alloc::largest()
        );
        match (by_slice, by_stream) {
            (Ok((f, used)), Ok(g)) => {
                assert_eq!(f, g, "decode and read disagree");
                assert!(used <= limit, "a frame over the limit was accepted");
                alloc::reset();
                check(codec, &f);
                assert!(
                    alloc::largest() <= limit,
                    "decoding a payload allocated {} bytes, over the frame limit {limit}",
                    alloc::largest()
                );
                at += used;
            }
            (Err(a), Err(b)) => {
                assert!(same_error(&a, &b), "decode says {a:?}, read says {b:?}");
                return;
            }
            (a, b) => panic!("decode and read disagree: {a:?} / {b:?}"),
        }
    }
}

fn peer_messages(codec: &FrameCodec, f: &crate::node::transport::Frame) {
    message::<Message<KvStore>>(codec, f);
    message::<Hello>(codec, f);
    message::<HelloReply>(codec, f);
}

fn client_messages(codec: &FrameCodec, f: &crate::node::transport::Frame) {
    message::<ClientMessage<Command>>(codec, f);
    message::<ServerMessage<Response>>(codec, f);
}

/// The body.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let owned;
    let bytes = if mode % 2 == 0 {
        rest
    } else {
        owned = wrap(u64::from(mode), rest);
        &owned[..]
    };
    frames(&peer_codec(), bytes, peer_messages);
    frames(&client_codec(), bytes, client_messages);
}
