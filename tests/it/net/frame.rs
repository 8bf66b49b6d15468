//! Frames: round trip, and every way a frame can be refused.

use std::io::{self, Read};

use proptest::prelude::*;
use synod::node::transport::frame::{FrameCodec, FrameError, FRAME_VERSION, PREFIX_BYTES};

fn codec() -> FrameCodec {
    FrameCodec::new("local", 64 << 10).expect("codec")
}

/// Re-seals a tampered body with a valid checksum, so a check after the
/// checksum (version, cluster) is what must catch it.
fn reseal(frame: &mut [u8]) {
    let crc = crc32c::crc32c(&frame[PREFIX_BYTES..]);
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
}

proptest! {
    #[test]
    fn frames_round_trip_sender_and_payload(sender: u64, payload: Vec<u8>, text: String) {
        let frame = codec().encode(sender, &(payload.clone(), text.clone())).unwrap();
        let (decoded, used) = codec().decode(&frame).unwrap();
        prop_assert_eq!(used, frame.len());
        prop_assert_eq!(decoded.sender, sender);
        prop_assert_eq!(decoded.decode::<(Vec<u8>, String)>().unwrap(), (payload, text));
        // The streaming reader agrees with the slice decoder.
        let read = codec().read(&mut &frame[..]).unwrap();
        prop_assert_eq!(read, decoded);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes: Vec<u8>) {
        let _ = codec().decode(&bytes);
        let _ = codec().read(&mut &bytes[..]);
    }
}

#[test]
fn frame_with_flipped_body_bit_fails_its_checksum() {
    let mut frame = codec().encode(3, &"hello").unwrap();
    let last = frame.len() - 1;
    frame[last] ^= 0x10;
    assert!(matches!(
        codec().decode(&frame),
        Err(FrameError::Checksum { .. })
    ));
}

#[test]
fn frame_of_another_version_is_rejected() {
    let mut frame = codec().encode(3, &"hello").unwrap();
    frame[PREFIX_BYTES] = FRAME_VERSION + 1;
    reseal(&mut frame);
    match codec().decode(&frame) {
        Err(FrameError::Version { got }) => assert_eq!(got, FRAME_VERSION + 1),
        other => panic!("expected a version error, got {other:?}"),
    }
}

#[test]
fn frame_of_another_cluster_is_rejected() {
    let other = FrameCodec::new("other", 64 << 10).unwrap();
    let frame = other.encode(3, &"hello").unwrap();
    match codec().decode(&frame) {
        Err(FrameError::Cluster { got, expected }) => {
            assert_eq!((got.as_str(), expected.as_str()), ("other", "local"))
        }
        other => panic!("expected a cluster error, got {other:?}"),
    }
}

#[test]
fn frame_whose_cluster_length_runs_past_the_body_is_malformed() {
    let mut frame = codec().encode(3, &()).unwrap();
    frame[PREFIX_BYTES + 1] = 200;
    reseal(&mut frame);
    assert!(matches!(
        codec().decode(&frame),
        Err(FrameError::Malformed(_))
    ));
}

/// A stream that announces a 4 GiB frame and would then serve zeros forever,
/// counting what is read from it.
struct Huge {
    served: usize,
}

impl Read for Huge {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let prefix = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        let n = buf.len().min(4096);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = prefix.get(self.served + i).copied().unwrap_or(0);
        }
        self.served += n;
        Ok(n)
    }
}

#[test]
fn oversized_frame_is_refused_from_its_prefix_before_the_body_is_read() {
    let mut stream = Huge { served: 0 };
    match codec().read(&mut stream) {
        Err(FrameError::TooLarge { len, max }) => {
            assert_eq!(len, u64::from(u32::MAX) + PREFIX_BYTES as u64);
            assert_eq!(max, 64 << 10);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        stream.served, PREFIX_BYTES,
        "nothing past the prefix was read"
    );
}

#[test]
fn message_over_the_limit_is_refused_by_the_encoder() {
    let small = FrameCodec::new("local", 1024).unwrap();
    assert!(matches!(
        small.encode(1, &vec![7u8; 2000]),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn truncated_frame_is_an_unexpected_eof_not_a_clean_close() {
    let frame = codec().encode(3, &"hello").unwrap();
    match codec().read(&mut &frame[..frame.len() - 1]) {
        Err(FrameError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
        other => panic!("expected EOF, got {other:?}"),
    }
    assert!(matches!(
        codec().read(&mut &[][..]),
        Err(FrameError::Closed)
    ));
}
