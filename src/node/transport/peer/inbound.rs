//! The inbound side: the acceptor and one reader per connection, which
//! checks the handshake and then delivers messages.

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{bump, ms, Deliver, Hello, HelloReply, Shared};
use crate::node::config::NodeId;
use crate::node::transport::frame::FrameError;
use crate::sync::{thread, Arc};

pub(super) fn run_acceptor<M>(shared: &Arc<Shared>, listener: &TcpListener, deliver: &Deliver<M>)
where
    M: DeserializeOwned + Send + 'static,
{
    for stream in listener.incoming() {
        if shared.closing() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "peer accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer_addr = stream.peer_addr().ok();
        // Join readers that returned, outside the lock: a reader may still
        // be on its way out, and must not wait on the acceptor.
        let done: Vec<_> = {
            let mut inbound = shared.inbound();
            let ids = std::mem::take(&mut inbound.finished);
            ids.iter()
                .filter_map(|id| inbound.readers.remove(id))
                .collect()
        };
        for h in done {
            let _ = h.join();
        }
        let mut inbound = shared.inbound();
        if inbound.conns.len() >= shared.tuning().max_peer_connections {
            bump(&shared.counters.connections_refused, 1);
            tracing::warn!(addr = ?peer_addr, limit = shared.tuning().max_peer_connections, "peer port at its connection limit; refusing");
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let id = inbound.next_conn;
        inbound.next_conn += 1;
        inbound.conns.insert(id, (None, handle));
        let (shared2, deliver) = (shared.clone(), deliver.clone());
        let spawned = thread::Builder::new()
            .name(format!("peer-read-{}", shared.me))
            .spawn(move || run_reader(&shared2, id, stream, &deliver));
        match spawned {
            Ok(h) => {
                inbound.readers.insert(id, h);
            }
            Err(e) => {
                inbound.conns.remove(&id);
                tracing::error!(error = %e, "cannot spawn peer reader; connection dropped");
            }
        }
    }
}

/// Why an inbound connection ended.
#[derive(Debug, thiserror::Error)]
enum InboundEnd {
    #[error("handshake refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("frame claims sender {got} on the connection of node {peer}")]
    SenderChanged { peer: NodeId, got: NodeId },
}

fn run_reader<M>(shared: &Shared, conn: u64, stream: TcpStream, deliver: &Deliver<M>)
where
    M: DeserializeOwned,
{
    let addr = stream.peer_addr().ok();
    let mut peer = None;
    let end = serve_inbound(shared, conn, &stream, deliver, &mut peer);
    match (&end, peer) {
        (InboundEnd::Frame(FrameError::Closed), _) => {
            tracing::debug!(?addr, ?peer, "peer connection closed")
        }
        _ if shared.closing() => {}
        (InboundEnd::Refused(_), _) | (_, None) => {
            bump(&shared.counters.connections_refused, 1);
            tracing::warn!(?addr, error = %end, "refused inbound peer connection");
        }
        (_, Some(p)) => {
            bump(&shared.counters.connections_rejected, 1);
            tracing::warn!(?addr, peer = p, error = %end, "closed peer connection");
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    let mut inbound = shared.inbound();
    inbound.conns.remove(&conn);
    inbound.finished.push(conn);
}

fn serve_inbound<M>(
    shared: &Shared,
    conn: u64,
    stream: &TcpStream,
    deliver: &Deliver<M>,
    peer_out: &mut Option<NodeId>,
) -> InboundEnd
where
    M: DeserializeOwned,
{
    let t = shared.tuning();
    if let Err(e) = stream
        .set_read_timeout(Some(ms(t.handshake_timeout_ms)))
        .and_then(|()| stream.set_write_timeout(Some(ms(t.handshake_timeout_ms))))
    {
        return e.into();
    }
    let mut out = stream;
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let peer = match handshake(shared, &mut reader) {
        Ok(peer) => peer,
        Err(end) => {
            if let InboundEnd::Refused(why) = &end {
                if let Ok(f) = shared
                    .codec
                    .encode(shared.me, &HelloReply::Refused(why.clone()))
                {
                    let _ = out.write_all(&f);
                }
            }
            return end;
        }
    };
    *peer_out = Some(peer);
    {
        // A newer connection from the same peer replaces the old one (the peer
        // restarted or reconnected); the old reader ends on its closed socket.
        let mut inbound = shared.inbound();
        for (id, (p, s)) in inbound.conns.iter_mut() {
            if *id != conn && *p == Some(peer) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        if let Some(entry) = inbound.conns.get_mut(&conn) {
            entry.0 = Some(peer);
        }
    }
    let accepted = shared.codec.encode(shared.me, &HelloReply::Accepted);
    if let Err(e) = accepted
        .map_err(InboundEnd::from)
        .and_then(|f| Ok(out.write_all(&f)?))
    {
        return e;
    }
    // Past the handshake a peer may be quiet for long (no leader, no load).
    if let Err(e) = stream.set_read_timeout(None) {
        return e.into();
    }
    loop {
        let frame = match shared.codec.read(&mut reader) {
            Ok(f) => f,
            Err(e) => return e.into(),
        };
        if frame.sender != peer {
            return InboundEnd::SenderChanged {
                peer,
                got: frame.sender,
            };
        }
        let msg = match frame.decode::<M>() {
            Ok(m) => m,
            Err(e) => return e.into(),
        };
        bump(&shared.counters.frames_received, 1);
        deliver(peer, msg);
    }
}

fn handshake(shared: &Shared, reader: &mut BufReader<&TcpStream>) -> Result<NodeId, InboundEnd> {
    let frame = shared.codec.read(reader)?;
    let hello: Hello = frame.decode()?;
    let from = frame.sender;
    if from == shared.me {
        return Err(InboundEnd::Refused(format!(
            "sender claims this node's own id {from}"
        )));
    }
    if shared.config.node(from).is_none() {
        return Err(InboundEnd::Refused(format!(
            "node {from} is not a member of cluster {:?}",
            shared.config.cluster_id
        )));
    }
    if hello.to != shared.me {
        return Err(InboundEnd::Refused(format!(
            "hello addressed to node {}, this is node {}",
            hello.to, shared.me
        )));
    }
    Ok(from)
}
