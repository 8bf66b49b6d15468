//! The properties every model checks. `always` ones are safety (a
//! counterexample is a bug); `sometimes` ones prove the bounds still reach
//! the interesting behaviour (an unreachable commit would make every safety
//! property hold vacuously).

use std::collections::{BTreeMap, BTreeSet};

use stateright::actor::ActorModelState;
use stateright::semantics::{ConsistencyTester, SequentialSpec};
use synod::kv::Command;
use synod::paxos::{Ballot, Proposal, SharedEntry, Slot};

use crate::actor::{Disk, ServerState, State, SynodActor};
use crate::cfg::ModelCfg;
use crate::history::History;
use crate::reduce::SynodModel;
use crate::spec::{RegisterOp, RegisterSpec, KEY};
/// A state of the model.
pub type SynodState = ActorModelState<SynodActor, History>;

/// Running (not crashed, started) servers with their disks.
fn live_servers<'a>(
    cfg: &'a ModelCfg,
    s: &'a SynodState,
) -> impl Iterator<Item = (usize, &'a ServerState)> + 'a {
    (0..cfg.servers).filter_map(move |i| match &*s.actor_states[i] {
        State::Server(server) if !s.crashed[i] => Some((i, &**server)),
        _ => None,
    })
}

fn disks<'a>(cfg: &'a ModelCfg, s: &'a SynodState) -> impl Iterator<Item = &'a Disk> + 'a {
    s.actor_storages.iter().take(cfg.servers).flatten()
}

fn has_client_command(entry: &SharedEntry<Command>) -> bool {
    entry
        .proposals
        .iter()
        .any(|p| matches!(p, Proposal::Client { .. }))
}

/// Always: the clients' history is linearizable (register spec).
pub fn linearizable(_: &SynodModel, s: &SynodState) -> bool {
    !s.history.malformed && s.history.tester.is_consistent()
}

/// Always: no two servers ever learn different values for one slot (over
/// every value each ever learned, crashed and wiped ones included).
pub fn agreement(m: &SynodModel, s: &SynodState) -> bool {
    let mut seen: BTreeMap<Slot, &SharedEntry<Command>> = BTreeMap::new();
    let ghosts = disks(&m.cfg, s).flat_map(|d| d.ghost.learned.iter().map(|(k, v)| (*k, v)));
    let live = live_servers(&m.cfg, s).flat_map(|(_, srv)| srv.replica.learned());
    for (slot, entry) in ghosts.chain(live) {
        if let Some(first) = seen.insert(slot, entry) {
            if first != entry {
                return false;
            }
        }
    }
    true
}

/// Always: a server's learned log never changes: every value it holds is the
/// first it learned for that slot, and a restart from an intact disk
/// forgets nothing it learned before.
pub fn learned_prefix_stable(m: &SynodModel, s: &SynodState) -> bool {
    live_servers(&m.cfg, s).all(|(_, srv)| {
        let ghost = &srv.disk.ghost;
        if ghost.changed.is_some() {
            return false;
        }
        let held: BTreeMap<Slot, &SharedEntry<Command>> = srv.replica.learned().collect();
        let same = held
            .iter()
            .all(|(slot, e)| ghost.learned.get(slot) == Some(*e));
        let kept = srv.disk.wiped || ghost.learned.keys().all(|slot| held.contains_key(slot));
        same && kept
    })
}

/// Always: after a wipe, a server casts no vote (promise or acceptance) in a
/// ballot below the promise it forgot: the amnesia rule must hold it back
/// until such votes are harmless.
pub fn amnesiac_votes_no_forgotten_ballot(m: &SynodModel, s: &SynodState) -> bool {
    disks(&m.cfg, s).all(|d| d.ghost.vote_below_forgotten.is_none())
}

/// Always: every server starts (its configuration is valid and its records
/// recover).
pub fn servers_start(m: &SynodModel, s: &SynodState) -> bool {
    (0..m.cfg.servers).all(|i| !matches!(&*s.actor_states[i], State::Failed(_)))
}

/// Every value some server learned, each `(slot, entry)` once, over ghosts
/// (crashed and wiped servers included) and running servers.
fn every_learned<'a>(
    m: &'a SynodModel,
    s: &'a SynodState,
) -> BTreeSet<(Slot, &'a SharedEntry<Command>)> {
    let ghosts = disks(&m.cfg, s).flat_map(|d| d.ghost.learned.iter().map(|(k, v)| (*k, v)));
    let live = live_servers(&m.cfg, s).flat_map(|(_, srv)| srv.replica.learned());
    ghosts.chain(live).collect()
}

/// Always: every value a server learned was chosen: for its slot, some one
/// ballot holds an acceptance of exactly that entry by a majority of the
/// servers (from the ghosts of every acceptance each ever persisted, so a
/// wipe hides none). The majority is counted here, not by the core's quorum
/// code.
pub fn learned_value_chosen(m: &SynodModel, s: &SynodState) -> bool {
    let majority = m.cfg.servers / 2 + 1;
    every_learned(m, s).into_iter().all(|(slot, entry)| {
        let mut votes: BTreeMap<Ballot, usize> = BTreeMap::new();
        for d in disks(&m.cfg, s) {
            let ballots: BTreeSet<Ballot> = d
                .ghost
                .accepted
                .iter()
                .filter(|(sl, _, e)| *sl == slot && e == entry)
                .map(|(_, b, _)| *b)
                .collect();
            for b in ballots {
                *votes.entry(b).or_insert(0) += 1;
            }
        }
        votes.values().any(|n| *n >= majority)
    })
}

/// The register after `log` (slots in order) applied by the spec, each
/// `(client id, seq)` once: a repeat, or a number below the client's
/// latest, is skipped (clients number requests in order and keep one
/// outstanding). `None` if a command is not a register operation.
fn replay<'a>(log: impl Iterator<Item = &'a SharedEntry<Command>>) -> Option<RegisterSpec> {
    let mut spec = RegisterSpec::default();
    let mut latest: BTreeMap<u64, u64> = BTreeMap::new();
    for entry in log {
        for p in &entry.proposals {
            let Proposal::Client {
                client_id,
                seq,
                command,
            } = p
            else {
                continue;
            };
            if latest.get(client_id).is_some_and(|l| seq <= l) {
                continue;
            }
            latest.insert(*client_id, *seq);
            spec.invoke(&RegisterOp::from_command(command)?);
        }
    }
    Some(spec)
}

/// Always: every running server's register is its log up to its applied
/// slot applied by the register spec, each `(client id, seq)` once. A
/// repeated request applied again (the revealing workload's appends make
/// every application visible), a skipped one, or a command applied with
/// other semantics than the spec's (a cas ignoring its expected value)
/// breaks it.
pub fn applied_exactly_once(m: &SynodModel, s: &SynodState) -> bool {
    live_servers(&m.cfg, s).all(|(_, srv)| {
        let applied = srv.replica.status().applied_upto;
        let log: Vec<(Slot, &SharedEntry<Command>)> = srv
            .replica
            .learned()
            .take_while(|(slot, _)| *slot < applied)
            .collect();
        // Snapshots are off: every applied slot is still held, in order.
        let whole = log
            .iter()
            .enumerate()
            .all(|(i, (slot, _))| *slot == i as Slot)
            && log.len() as Slot == applied;
        whole
            && replay(log.into_iter().map(|(_, e)| e))
                .is_some_and(|spec| spec.value() == srv.replica.state().get(KEY))
    })
}

/// Always: every read a server answered `Ok` was confirmed by a majority
/// (itself included) in the ballot it led, after the read arrived (the
/// ghost of [`crate::reads`]).
pub fn read_confirmed(m: &SynodModel, s: &SynodState) -> bool {
    live_servers(&m.cfg, s).all(|(_, srv)| srv.reads.unconfirmed.is_none())
}

/// Always: running servers that applied the same number of slots hold the
/// same state machine and the same session table.
pub fn same_slot_same_state(m: &SynodModel, s: &SynodState) -> bool {
    let live: Vec<&ServerState> = live_servers(&m.cfg, s).map(|(_, srv)| srv).collect();
    live.iter().enumerate().all(|(i, a)| {
        live[i + 1..].iter().all(|b| {
            a.replica.status().applied_upto != b.replica.status().applied_upto
                || (a.replica.state() == b.replica.state()
                    && a.replica.sessions() == b.replica.sessions())
        })
    })
}

/// Sometimes: one client request `(client id, seq)` is chosen in two slots
/// (a retry proposed again): the case exactly-once exists for.
pub fn command_chosen_twice(m: &SynodModel, s: &SynodState) -> bool {
    let mut slots: BTreeMap<(u64, u64), Slot> = BTreeMap::new();
    every_learned(m, s).into_iter().any(|(slot, entry)| {
        entry.proposals.iter().any(|p| match p {
            Proposal::Client { client_id, seq, .. } => {
                *slots.entry((*client_id, *seq)).or_insert(slot) != slot
            }
            Proposal::Tick(_) => false,
        })
    })
}

/// Sometimes: a client command is chosen (some server learned it).
pub fn value_chosen(m: &SynodModel, s: &SynodState) -> bool {
    disks(&m.cfg, s).any(|d| d.ghost.learned.values().any(has_client_command))
}

/// Sometimes: every client completed every operation (so the history the
/// linearizability property checks has all of them, not only invocations).
pub fn every_operation_returns(m: &SynodModel, s: &SynodState) -> bool {
    s.actor_states[m.cfg.servers..]
        .iter()
        .all(|c| matches!(&**c, State::Client(c) if c.done == m.cfg.ops_per_client))
}

/// Sometimes: a leader change happened and a command still commits: a
/// leader holds a chosen client command, and some server (itself in an
/// earlier incarnation included) led in a lower ballot before it.
pub fn leader_change_commits(m: &SynodModel, s: &SynodState) -> bool {
    let first_led = |d: &Disk| d.ghost.first_led;
    let earliest = disks(&m.cfg, s)
        .filter_map(first_led)
        .chain(live_servers(&m.cfg, s).filter_map(|(_, srv)| first_led(&srv.disk)))
        .min();
    live_servers(&m.cfg, s).any(|(_, srv)| {
        let st = srv.replica.status();
        st.is_leader
            && earliest.is_some_and(|b| b < st.ballot)
            && srv.replica.learned().any(|(_, e)| has_client_command(e))
    })
}

/// Sometimes: a client's read returned `Ok` (a read-index round completed
/// and was answered).
pub fn read_served(m: &SynodModel, s: &SynodState) -> bool {
    let clients = s.actor_states[m.cfg.servers..].iter().enumerate();
    clients.into_iter().any(|(c, state)| match &**state {
        State::Client(client) => {
            (0..client.done).any(|k| RegisterOp::schedule(m.cfg.workload, c, k) == RegisterOp::Get)
        }
        _ => false,
    })
}

/// Sometimes: a server that restarted wiped votes again (its amnesia
/// ended).
pub fn amnesiac_rejoins(m: &SynodModel, s: &SynodState) -> bool {
    live_servers(&m.cfg, s).any(|(_, srv)| srv.disk.wiped && srv.replica.status().voting)
}

/// Sometimes: a server that crashed and restarted knows a chosen slot.
pub fn restarted_server_learns(m: &SynodModel, s: &SynodState) -> bool {
    live_servers(&m.cfg, s)
        .any(|(_, srv)| srv.disk.restarts >= 1 && srv.replica.learned().next().is_some())
}

/// Keeps the space finite: no client crashes (a crashed client would report
/// falsely), only crashable servers crash, ballot rounds, read rounds and
/// restarts within the bounds.
pub fn within_boundary(cfg: &ModelCfg, s: &SynodState) -> bool {
    if s.crashed.iter().skip(cfg.servers).any(|c| *c)
        || (0..cfg.servers).any(|i| s.crashed[i] && !cfg.may_crash(i))
    {
        return false;
    }
    let over = |(i, d): (usize, &Option<Disk>)| {
        d.as_ref()
            .is_some_and(|d| d.restarts > cfg.restart_limit(i))
    };
    if s.actor_storages
        .iter()
        .take(cfg.servers)
        .enumerate()
        .any(over)
    {
        return false;
    }
    live_servers(cfg, s).all(|(_, srv)| {
        let st = srv.replica.status();
        st.ballot.round <= cfg.max_round && st.read_round <= cfg.max_read_rounds
    })
}
