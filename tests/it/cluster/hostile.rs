//! Hostile bytes on a running node's peer and client ports: a frame from a
//! non-member, a frame of another cluster, an oversized frame and garbage are
//! refused (the connection is closed, or a handshake refused), and the
//! cluster keeps serving.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use synod::kv::{Command, Response};
use synod::node::config::Tuning;
use synod::node::proto::{ClientMessage, ServerMessage};
use synod::node::transport::peer::{Hello, HelloReply};
use synod::node::transport::{FrameCodec, FrameError};

use super::support::{client, start3, Acked, STATUS_WAIT};

/// How long a node may take to close a connection it refuses (above the
/// default handshake timeout of 2 s, so a node that just lets the handshake
/// time out passes too: that is also a refusal).
const REFUSE_WAIT: Duration = Duration::from_secs(8);

/// Sends `bytes` to `addr` and reads until the node closes the connection;
/// returns what it sent back. Panics if it keeps the connection open.
fn send_and_expect_close(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(REFUSE_WAIT)).unwrap();
    // The node may close before reading everything: a failed write is fine.
    let _ = stream.write_all(bytes);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("{addr} kept a hostile connection open for {REFUSE_WAIT:?}")
            }
            // Reset by the node: refused.
            Err(_) => return got,
        }
    }
}

/// Garbage: no valid prefix, no valid checksum.
fn garbage() -> Vec<u8> {
    (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// A prefix announcing a body of almost 4 GiB, then a few bytes.
fn oversized() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 0, 0];
    bytes.extend_from_slice(&[7; 64]);
    bytes
}

/// A peer handshake's answer must not be `Accepted`.
fn assert_not_accepted(codec: &FrameCodec, answer: &[u8], what: &str) {
    match codec.read(&mut &answer[..]) {
        Ok(frame) => match frame.decode::<HelloReply>() {
            Ok(HelloReply::Accepted) => panic!("{what}: handshake accepted"),
            Ok(HelloReply::Refused(_)) | Err(_) => {}
        },
        Err(FrameError::Closed | FrameError::Io(_)) => {}
        Err(e) => panic!("{what}: the node answered a malformed frame: {e}"),
    }
}

#[test]
fn non_member_oversized_and_garbage_frames_are_refused_without_harm() {
    let tuning = Tuning::default();
    let (mut c, _) = start3(tuning.clone());
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "before-", 0..5);
    let node = c.config().nodes[0].clone();
    let ours = FrameCodec::new("local", tuning.max_frame_bytes).unwrap();
    let theirs = FrameCodec::new("another-cluster", tuning.max_frame_bytes).unwrap();

    // Peer port.
    let hello = Hello { to: node.id };
    let answer = send_and_expect_close(node.peer, &ours.encode(99, &hello).unwrap());
    assert_not_accepted(&ours, &answer, "a non-member (id 99)");
    let answer = send_and_expect_close(node.peer, &theirs.encode(2, &hello).unwrap());
    assert_not_accepted(&ours, &answer, "a member id of another cluster");
    send_and_expect_close(node.peer, &oversized());
    send_and_expect_close(node.peer, &garbage());

    // Client port.
    let client_codec = FrameCodec::new("local", tuning.max_client_frame_bytes).unwrap();
    let get = ClientMessage::<Command>::Status;
    let foreign = FrameCodec::new("another-cluster", tuning.max_client_frame_bytes).unwrap();
    let answer = send_and_expect_close(node.client, &foreign.encode(7, &get).unwrap());
    if let Ok(frame) = client_codec.read(&mut &answer[..]) {
        let reply: ServerMessage<Response> = frame.decode().unwrap();
        assert!(
            matches!(reply, ServerMessage::Refused { .. }),
            "a client of another cluster got an answer: {reply:?}"
        );
    }
    send_and_expect_close(node.client, &oversized());
    send_and_expect_close(node.client, &garbage());

    // No harm: every node runs and answers, and the cluster serves.
    for id in c.ids() {
        assert!(c.is_running(id).unwrap(), "node {id} died");
        c.status(id, STATUS_WAIT).unwrap();
    }
    acked.put_range(&mut client(&c), "after-", 0..5);
    acked.check_all(&mut client(&c));
}
