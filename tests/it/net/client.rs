//! The client library against test nodes on real client ports. The nodes here
//! are a test double of the replicated service (one shared counter with
//! exactly-once sessions, one fixed leader), so the client's own behaviour
//! can be checked: leader search, retries with the same sequence number,
//! deadlines.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use synod::node::client::{Client, ClientError, ClientOptions};
use synod::node::config::NodeId;
use synod::node::proto::{client_codec, ClientReply, Outcome, Status};
use synod::node::transport::client_port::{ClientEvent, ClientPort};
use synod::paxos::Ballot;

use super::support::{bind_cluster, quick_tuning, Ports, RefusingPort, PATIENCE};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Cmd {
    Incr,
    Blob(Vec<u8>),
}

#[derive(Default)]
struct Service {
    leader: NodeId,
    counter: u64,
    /// Responses by (client id, seq): the exactly-once session table.
    sessions: BTreeMap<(u64, u64), u64>,
    applications: u64,
    /// Lose the first reply to each request (as if the connection dropped).
    lose_first_reply: bool,
    lost: BTreeSet<(u64, u64)>,
    /// Answer the first attempt of each request `Unknown` (the leader lost
    /// its leadership with the command in flight), after applying it.
    unknown_first: bool,
    unknown: BTreeSet<(u64, u64)>,
    /// Answer nothing at all.
    mute: bool,
}

type Port = ClientPort<Cmd, u64>;

fn start_node(ports: &mut Ports, id: NodeId, service: Arc<Mutex<Service>>) -> Arc<Port> {
    let (tx, rx) = mpsc::channel::<ClientEvent<Cmd>>();
    let tx = Mutex::new(tx);
    let listener = ports.client[id as usize - 1].take().unwrap();
    let port: Arc<Port> = Arc::new(
        ClientPort::start(&ports.config, id, listener, move |ev| {
            let _ = tx.lock().unwrap().send(ev);
        })
        .unwrap(),
    );
    let weak: Weak<Port> = Arc::downgrade(&port);
    std::thread::spawn(move || {
        // Ends when the port is dropped (its handler, holding `tx`, with it).
        for ev in rx {
            let Some(port) = weak.upgrade() else { return };
            let mut s = service.lock().unwrap();
            match ev {
                ClientEvent::Request { conn, request } => {
                    if s.mute {
                        continue;
                    }
                    let (cid, seq) = (request.client_id, request.seq);
                    let reply = |outcome| ClientReply {
                        client_id: cid,
                        seq,
                        outcome,
                    };
                    if id != s.leader {
                        let hint = Some(s.leader);
                        let _ = port.reply(conn, reply(Outcome::NotLeader { hint }));
                        continue;
                    }
                    let response = match s.sessions.get(&(cid, seq)) {
                        Some(r) => *r,
                        None => {
                            s.counter += 1;
                            s.applications += 1;
                            let r = s.counter;
                            s.sessions.insert((cid, seq), r);
                            r
                        }
                    };
                    if s.lose_first_reply && s.lost.insert((cid, seq)) {
                        continue;
                    }
                    if s.unknown_first && s.unknown.insert((cid, seq)) {
                        let hint = Some(s.leader);
                        let _ = port.reply(conn, reply(Outcome::Unknown { hint }));
                        continue;
                    }
                    let _ = port.reply(conn, reply(Outcome::Ok(response)));
                }
                ClientEvent::Status { conn } => {
                    let status = Status {
                        id,
                        leader: Some(s.leader),
                        is_leader: id == s.leader,
                        ballot: Ballot {
                            round: 1,
                            node: s.leader,
                        },
                        chosen_upto: s.applications,
                        applied_upto: s.applications,
                        snapshot_upto: 0,
                        amnesiac: false,
                        voting: true,
                        read_round: 0,
                    };
                    let _ = port.status(conn, status);
                }
                ClientEvent::Closed { .. } => {}
            }
        }
    });
    port
}

fn cluster(n: usize, service: Service) -> (Ports, Vec<Arc<Port>>, Arc<Mutex<Service>>) {
    let mut ports = bind_cluster(n, quick_tuning());
    let service = Arc::new(Mutex::new(service));
    let nodes = (1..=n as NodeId)
        .map(|id| start_node(&mut ports, id, service.clone()))
        .collect();
    (ports, nodes, service)
}

fn options(client_id: u64) -> ClientOptions {
    ClientOptions {
        timeout: PATIENCE,
        attempt_timeout: Duration::from_millis(300),
        client_id: Some(client_id),
        ..ClientOptions::default()
    }
}

#[test]
fn client_follows_not_leader_hints_to_the_leader() {
    let (ports, _nodes, _service) = cluster(
        3,
        Service {
            leader: 3,
            ..Service::default()
        },
    );
    // Client id 1 starts its search at the second node, a follower.
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(1)).unwrap();
    assert_eq!(client.call(Cmd::Incr).unwrap(), 1);
    assert_eq!(client.leader(), Some(3));
    assert_eq!(client.call(Cmd::Incr).unwrap(), 2);
}

#[test]
fn retried_request_after_a_lost_reply_is_applied_once() {
    let service = Service {
        leader: 1,
        lose_first_reply: true,
        ..Service::default()
    };
    let (ports, _nodes, service) = cluster(3, service);
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(7)).unwrap();
    assert_eq!(client.call(Cmd::Incr).unwrap(), 1);
    assert_eq!(client.call(Cmd::Incr).unwrap(), 2);
    let s = service.lock().unwrap();
    // Each command was answered only on a retry, and applied once.
    assert_eq!(s.lost.len(), 2);
    assert_eq!(s.applications, 2);
    assert_eq!(
        s.sessions.keys().copied().collect::<Vec<_>>(),
        vec![(7, 1), (7, 2)]
    );
}

#[test]
fn retried_request_after_an_unknown_outcome_is_applied_once() {
    let service = Service {
        leader: 2,
        unknown_first: true,
        ..Service::default()
    };
    let (ports, _nodes, service) = cluster(3, service);
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(9)).unwrap();
    assert_eq!(client.call(Cmd::Incr).unwrap(), 1);
    let s = service.lock().unwrap();
    assert_eq!((s.unknown.len(), s.applications), (1, 1));
}

#[test]
fn unanswered_request_is_indeterminate_at_the_deadline() {
    let (ports, _nodes, _service) = cluster(
        2,
        Service {
            leader: 1,
            mute: true,
            ..Service::default()
        },
    );
    let opts = ClientOptions {
        timeout: Duration::from_millis(600),
        attempt_timeout: Duration::from_millis(100),
        ..options(3)
    };
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, opts).unwrap();
    let err = client.call(Cmd::Incr).unwrap_err();
    assert!(err.is_indeterminate(), "{err:?}");
}

#[test]
fn request_never_sent_is_a_definite_unavailable() {
    let mut ports = bind_cluster(2, quick_tuning());
    // No node listens: every connect is refused.
    let dead: Vec<RefusingPort> = (0..2).map(|_| RefusingPort::new()).collect();
    for (node, d) in ports.config.nodes.iter_mut().zip(&dead) {
        node.client = d.addr;
    }
    let opts = ClientOptions {
        timeout: Duration::from_millis(300),
        ..options(3)
    };
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, opts).unwrap();
    match client.call(Cmd::Incr) {
        Err(ClientError::Unavailable { .. }) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn request_over_the_client_frame_limit_is_refused_before_sending() {
    let (ports, nodes, service) = cluster(
        1,
        Service {
            leader: 1,
            ..Service::default()
        },
    );
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(3)).unwrap();
    let huge = vec![0u8; ports.config.tuning.max_client_frame_bytes as usize];
    assert!(matches!(
        client.call(Cmd::Blob(huge)),
        Err(ClientError::Frame(_))
    ));
    assert_eq!(service.lock().unwrap().applications, 0);
    assert_eq!(nodes[0].stats().requests, 0);
}

fn closed_by_peer(s: &mut TcpStream) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

#[test]
fn client_port_closes_bad_connections_and_keeps_serving() {
    let (ports, nodes, _service) = cluster(
        1,
        Service {
            leader: 1,
            ..Service::default()
        },
    );
    let addr = nodes[0].local_addr();
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(b"\x00\x01garbage garbage garbage garbage")
        .unwrap();
    assert!(closed_by_peer(&mut raw), "garbage");
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(&[0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4])
        .unwrap();
    assert!(closed_by_peer(&mut raw), "oversized frame");
    // A request whose client id differs from its frame's sender.
    let codec = client_codec(&ports.config).unwrap();
    let forged = synod::node::proto::ClientMessage::Request(synod::node::proto::ClientRequest {
        client_id: 5,
        seq: 1,
        command: Cmd::Incr,
        read_mode: synod::node::proto::ReadMode::ReadIndex,
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(&codec.encode(6, &forged).unwrap()).unwrap();
    assert!(closed_by_peer(&mut raw), "forged client id");
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(3)).unwrap();
    assert_eq!(client.call(Cmd::Incr).unwrap(), 1);
    let stats = nodes[0].stats();
    assert_eq!(stats.rejected, 3, "{stats:?}");
    assert_eq!(stats.requests, 1, "{stats:?}");
}

#[test]
fn status_query_returns_the_nodes_view() {
    let (ports, _nodes, _service) = cluster(
        2,
        Service {
            leader: 2,
            ..Service::default()
        },
    );
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(3)).unwrap();
    let status = client.status(1).unwrap();
    assert_eq!((status.id, status.leader), (1, Some(2)));
}

#[test]
fn handler_answering_synchronously_on_close_never_stalls_the_port() {
    use std::sync::OnceLock;
    let mut ports = bind_cluster(1, quick_tuning());
    let cell: Arc<OnceLock<Weak<Port>>> = Arc::new(OnceLock::new());
    let cell2 = cell.clone();
    // The handler calls back into the port on the reader thread, for every
    // event, as a node answering inline would.
    let handler = move |ev: ClientEvent<Cmd>| {
        let Some(port) = cell2.get().and_then(Weak::upgrade) else {
            return;
        };
        match ev {
            ClientEvent::Request { conn, request } => {
                let _ = port.reply(
                    conn,
                    ClientReply {
                        client_id: request.client_id,
                        seq: request.seq,
                        outcome: Outcome::Ok(request.seq),
                    },
                );
            }
            ClientEvent::Closed { conn } => {
                assert!(port
                    .reply(
                        conn,
                        ClientReply {
                            client_id: 0,
                            seq: 0,
                            outcome: Outcome::Busy
                        }
                    )
                    .is_err());
            }
            ClientEvent::Status { .. } => {}
        }
    };
    let port: Arc<Port> = Arc::new(
        ClientPort::start(&ports.config, 1, ports.client[0].take().unwrap(), handler).unwrap(),
    );
    cell.set(Arc::downgrade(&port)).unwrap();
    // Many short connections: each close runs the handler while the acceptor
    // reaps finished connections.
    for i in 0..50u64 {
        let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(100 + i)).unwrap();
        assert_eq!(client.call(Cmd::Incr).unwrap(), 1);
    }
    assert_eq!(port.stats().accepted, 50);
}

#[test]
fn client_port_at_its_connection_limit_refuses_more_and_recovers() {
    let tuning = synod::node::config::Tuning {
        max_client_connections: 1,
        ..quick_tuning()
    };
    let mut ports = bind_cluster(1, tuning);
    let service = Arc::new(Mutex::new(Service {
        leader: 1,
        ..Service::default()
    }));
    let port = start_node(&mut ports, 1, service);
    let idle = TcpStream::connect(port.local_addr()).unwrap();
    let mut extra = TcpStream::connect(port.local_addr()).unwrap();
    assert!(closed_by_peer(&mut extra), "second connection refused");
    assert_eq!(port.stats().refused, 1);
    drop(idle);
    let mut client: Client<Cmd, u64> = Client::new(&ports.config, options(3)).unwrap();
    assert_eq!(client.call(Cmd::Incr).unwrap(), 1);
}
