//! The sender thread of one peer: connect, handshake, write batches.

use std::io::{BufWriter, Write};
use std::net::{Shutdown, TcpStream};

use super::{bump, lock, ms, Hello, HelloReply, Link, Shared};
use crate::node::config::NodeId;
use crate::node::transport::frame::FrameError;

/// Why an outbound connection failed.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("refused by peer: {0}")]
    Refused(String),
    #[error("reached node {got}, expected node {expected}")]
    WrongPeer { expected: NodeId, got: NodeId },
}

fn connect(shared: &Shared, link: &Link) -> Result<TcpStream, LinkError> {
    let t = shared.tuning();
    let stream = TcpStream::connect_timeout(&link.addr, ms(t.connect_timeout_ms))?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(ms(t.write_timeout_ms)))?;
    stream.set_read_timeout(Some(ms(t.handshake_timeout_ms)))?;
    let hello = shared.codec.encode(shared.me, &Hello { to: link.to })?;
    (&stream).write_all(&hello)?;
    let reply = shared.codec.read(&mut &stream)?;
    match reply.decode::<HelloReply>()? {
        HelloReply::Accepted if reply.sender == link.to => Ok(stream),
        HelloReply::Accepted => Err(LinkError::WrongPeer {
            expected: link.to,
            got: reply.sender,
        }),
        HelloReply::Refused(why) => Err(LinkError::Refused(why)),
    }
}

/// The sender thread of one peer: connect (with capped exponential backoff),
/// then write queued frames in batches, one flush per batch.
pub(super) fn run_sender(shared: &Shared, link: &Link) {
    let t = shared.tuning();
    let (min_backoff, max_backoff) = (ms(t.reconnect_min_ms), ms(t.reconnect_max_ms));
    let mut backoff = min_backoff;
    let mut failures: u64 = 0;
    let mut conn: Option<BufWriter<TcpStream>> = None;
    let mut batch = Vec::new();
    // Frames are taken from the queue only once a connection exists, so while
    // the peer is down they wait there, bounded, oldest dropped first.
    while link.queue.wait_nonempty() {
        let writer = match conn.as_mut() {
            Some(w) => w,
            None => match connect(shared, link) {
                Ok(stream) => {
                    if failures > 0 {
                        tracing::info!(peer = link.to, failures, "reconnected to peer");
                    } else {
                        tracing::debug!(peer = link.to, "connected to peer");
                    }
                    failures = 0;
                    backoff = min_backoff;
                    bump(&shared.counters.connects, 1);
                    *lock(&link.current) = stream.try_clone().ok();
                    conn.insert(BufWriter::with_capacity(64 << 10, stream))
                }
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(peer = link.to, addr = %link.addr, error = %e, "cannot connect to peer; retrying with backoff");
                    } else {
                        tracing::debug!(peer = link.to, failures, error = %e, "reconnect failed");
                    }
                    failures += 1;
                    if link
                        .queue
                        .sleep_unless_closed(jittered(backoff, shared.me, link.to, failures))
                    {
                        break;
                    }
                    backoff = (backoff * 2).min(max_backoff);
                    continue;
                }
            },
        };
        batch.clear();
        let n = link.queue.drain_into(&mut batch, 256) as u64;
        let written = batch
            .iter()
            .try_for_each(|f| writer.write_all(f))
            .and_then(|()| writer.flush());
        match written {
            Ok(()) => bump(&shared.counters.frames_sent, n),
            Err(e) => {
                if !shared.closing() {
                    tracing::warn!(peer = link.to, error = %e, lost = n, "peer connection failed; reconnecting");
                }
                bump(&shared.counters.frames_lost, n);
                conn = None;
                *lock(&link.current) = None;
            }
        }
    }
    if let Some(w) = conn {
        let _ = w.get_ref().shutdown(Shutdown::Both);
    }
}

/// `delay` scaled into [delay/2, delay), varying with the link and the
/// attempt, so nodes that lost a peer together do not reconnect in lockstep.
fn jittered(
    delay: std::time::Duration,
    me: NodeId,
    to: NodeId,
    attempt: u64,
) -> std::time::Duration {
    let mut z = me.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ to.rotate_left(17)
        ^ attempt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 31;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 29;
    // A fraction in [0.5, 1.0), in thousandths.
    let per_mille = 500 + (z % 500) as u32;
    delay * per_mille / 1000
}
