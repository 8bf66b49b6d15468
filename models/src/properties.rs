//! The properties every model checks. `always` ones are safety (a
//! counterexample is a bug); `sometimes` ones prove the bounds still reach
//! the interesting behaviour (an unreachable commit would make every safety
//! property hold vacuously).

use std::collections::BTreeMap;

use stateright::actor::ActorModelState;
use stateright::semantics::ConsistencyTester;
use synod::kv::Command;
use synod::paxos::{Proposal, SharedEntry, Slot};

use crate::actor::{Disk, ServerState, State, SynodActor};
use crate::cfg::ModelCfg;
use crate::history::History;
use crate::reduce::SynodModel;
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
