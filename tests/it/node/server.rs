//! Properties of the running node: commits, leader discovery, recovery from
//! the WAL, clean shutdown, the data directory's lock.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use synod::kv::{Command, Response};
use synod::node::config::NodeId;
use synod::node::identity::DataDirError;
use synod::node::proto::{
    client_codec, ClientMessage, ClientRequest, Outcome, ReadMode, ServerMessage,
};
use synod::node::server::{Listeners, Server, ServerError, ServerOptions};

use super::cluster::{get, put, Cluster, DEADLINE};

fn value(v: &str) -> Response {
    Response::Value(v.into())
}

#[test]
fn a_put_through_the_leader_is_read_back_by_a_get() {
    let cluster = Cluster::start(3);
    let mut client = cluster.client();
    assert_eq!(client.call(put("k", "v1")).unwrap(), Response::Ok);
    assert_eq!(client.call(get("k")).unwrap(), value("v1"));
    assert_eq!(client.call(put("k", "v2")).unwrap(), Response::Ok);
    assert_eq!(client.call(get("k")).unwrap(), value("v2"));
    assert_eq!(client.call(get("absent")).unwrap(), Response::NotFound);
}

/// Sends one request on a raw connection to `id` and returns its outcome.
fn raw_request(cluster: &Cluster, id: NodeId, client_id: u64, seq: u64) -> Outcome<Response> {
    let codec = client_codec(&cluster.config).unwrap();
    let addr = cluster.config.node(id).unwrap().client;
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let request = ClientMessage::Request(ClientRequest {
        client_id,
        seq,
        command: put("raw", "x"),
        read_mode: ReadMode::ReadIndex,
    });
    stream
        .write_all(&codec.encode(client_id, &request).unwrap())
        .unwrap();
    let frame = codec.read(&mut stream).expect("a reply frame");
    match frame.decode::<ServerMessage<Response>>().unwrap() {
        ServerMessage::Reply(reply) => {
            assert_eq!((reply.client_id, reply.seq), (client_id, seq));
            reply.outcome
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn a_follower_answers_not_leader_with_a_hint_and_the_client_follows_it() {
    let cluster = Cluster::start(3);
    let mut client = cluster.client();
    assert_eq!(client.call(put("k", "v")).unwrap(), Response::Ok);
    let leader = cluster.leader();
    let follower = *cluster.servers.keys().find(|&&id| id != leader).unwrap();

    // The follower refuses, definitely, and names the leader (once it has
    // heard a heartbeat: until then its hint may be empty).
    let start = Instant::now();
    for seq in 1.. {
        match raw_request(&cluster, follower, 4242, seq) {
            Outcome::NotLeader { hint: Some(hint) } => {
                assert_eq!(hint, leader);
                break;
            }
            Outcome::NotLeader { hint: None } => {}
            other => panic!("a follower answered {other:?}"),
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the follower never learned the leader"
        );
        sleep(Duration::from_millis(20));
    }

    // A client whose first guess is the follower ends at the leader.
    let n = cluster.config.nodes.len() as u64;
    let index = cluster
        .config
        .nodes
        .iter()
        .position(|c| c.id == follower)
        .unwrap() as u64;
    let client_id = n * 1000 + index; // the client starts at client_id % n
    let mut client = cluster.client_with(Some(client_id));
    assert_eq!(client.call(get("k")).unwrap(), value("v"));
    assert_eq!(client.leader(), Some(leader));
}

/// Read-index reads are never logged, so a client whose first requests are
/// reads reaches the log first with a later sequence number. The cluster,
/// which opens sessions only at the first, answers "session expired" (and
/// applies nothing); the client opens a fresh session under a new id.
#[test]
fn a_client_that_reads_before_it_writes_gets_a_fresh_session() {
    let cluster = Cluster::start(3);
    let mut client = cluster.client();
    let first_id = client.client_id();
    assert_eq!(client.call(get("k")).unwrap(), Response::NotFound);
    assert_eq!(client.call(put("k", "v")).unwrap(), Response::Ok);
    assert_ne!(client.client_id(), first_id, "a new session");
    assert_eq!(client.call(put("k", "w")).unwrap(), Response::Ok);
    assert_eq!(client.call(get("k")).unwrap(), value("w"));
}

#[test]
fn a_restarted_node_recovers_its_data_from_its_wal() {
    let mut cluster = Cluster::start(3);
    let mut client = cluster.client();
    for i in 0..20 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        assert_eq!(client.call(put(&k, &v)).unwrap(), Response::Ok);
    }
    // Restart every node from its own disk: nothing is left in memory.
    let ids: Vec<NodeId> = cluster.servers.keys().copied().collect();
    for &id in &ids {
        cluster.stop(id);
    }
    for &id in &ids {
        cluster.launch(id, false, None).unwrap();
        assert_eq!(
            *cluster.servers[&id].mode(),
            synod::node::identity::StartMode::Recover
        );
    }
    let mut client = cluster.client();
    for i in 0..20 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        assert_eq!(client.call(get(&k)).unwrap(), value(&v));
    }
    // And a single node, restarted alone, has its applied state back.
    let leader = cluster.leader();
    cluster.stop(leader);
    cluster.launch(leader, false, None).unwrap();
    assert_eq!(client.call(get("k19")).unwrap(), value("v19"));
    assert_eq!(client.call(put("after", "restart")).unwrap(), Response::Ok);
}

#[test]
fn a_clean_shutdown_under_load_loses_no_acknowledged_write() {
    let mut cluster = Cluster::start(3);
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut client = synod::node::client::Client::<Command, Response>::new(
            &cluster.config,
            synod::node::client::ClientOptions {
                timeout: Duration::from_secs(2),
                attempt_timeout: Duration::from_millis(300),
                ..Default::default()
            },
        )
        .unwrap();
        let (acked, count, done) = (acked.clone(), count.clone(), done.clone());
        writers.push(std::thread::spawn(move || {
            for i in 0.. {
                if done.load(Ordering::Acquire) {
                    break;
                }
                let (k, v) = (format!("w{w}-{i}"), format!("{i}"));
                if let Ok(Response::Ok) = client.call(put(&k, &v)) {
                    acked.lock().unwrap().insert(k, v);
                    count.fetch_add(1, Ordering::Release);
                }
            }
        }));
    }
    // Let writes flow, then stop every node while they still do.
    let start = Instant::now();
    while count.load(Ordering::Acquire) < 200 {
        assert!(start.elapsed() < DEADLINE, "writes never got going");
        sleep(Duration::from_millis(10));
    }
    let ids: Vec<NodeId> = cluster.servers.keys().copied().collect();
    for &id in &ids {
        cluster.stop(id);
    }
    done.store(true, Ordering::Release);
    for w in writers {
        w.join().unwrap();
    }
    for &id in &ids {
        cluster.launch(id, false, None).unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200);
    let mut client = cluster.client();
    for (k, v) in &acked {
        assert_eq!(
            client.call(get(k)).unwrap(),
            value(v),
            "acknowledged {k} lost"
        );
    }
}

#[test]
fn a_second_node_on_the_same_data_directory_is_refused() {
    let cluster = Cluster::start(1);
    let mut client = cluster.client();
    assert_eq!(client.call(put("k", "v")).unwrap(), Response::Ok);
    // Fresh ports, so the data directory's lock is what refuses it.
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let second = Server::start(ServerOptions {
        id: 1,
        config: cluster.config.clone(),
        data_dir: cluster.data_dir(1),
        bootstrap: false,
        recover_amnesiac: false,
        listeners: Some(Listeners {
            peer: bind(),
            client: bind(),
        }),
        stop_on_signal: false,
    });
    let err = match second {
        Err(e) => e,
        Ok(_) => panic!("a second node started on a locked directory"),
    };
    assert!(
        matches!(err, ServerError::DataDir(DataDirError::Locked { .. })),
        "{err}"
    );
}
