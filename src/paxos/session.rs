//! Client sessions for exactly-once commands (Raft thesis, section 6.3).
//!
//! The table is replicated state: it changes only when the log is applied and
//! travels in snapshots, so every replica holds the same table at each slot.
//! It keeps each client's latest sequence number and answer; a retry of that
//! request is answered from here instead of being applied twice. Sessions
//! expire through the log's clock (never a local one): one unused for
//! `session_timeout_ticks` of log time goes. A full table (`max_sessions`)
//! refuses a new session ([`SessionOutcome::Full`], nothing applied now) rather
//! than evict a live one: an evicted session's client may still be retrying
//! its first request, which would then open a session again and apply twice
//! (the swarm found this: a first request proposed by two leaders, the
//! session evicted between the two slots).
//!
//! A session is opened only by a client's first request ([`FIRST_SEQ`]): a
//! later request from a client without a session (expired) may be a
//! retry of one applied before the session went, so it is answered
//! "expired" and not applied (Raft thesis, section 6.3). The command of the
//! latest request is kept beside its answer, so a retry that carries another
//! command under the same `(client id, seq)` is refused, not answered with
//! the other command's reply.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::message::FIRST_SEQ;

/// One client's session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Session<C, R> {
    /// The latest sequence number applied.
    pub last_seq: u64,
    /// Its command (a retry must carry the same one).
    pub command: C,
    /// Its answer.
    pub response: R,
    /// Log time of the session's last use.
    pub last_used_ticks: u64,
}

/// What applying a client command through the session table gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionOutcome<R> {
    /// Newly applied.
    Applied(R),
    /// A retry of the latest request: its stored answer.
    Duplicate(R),
    /// Older than the latest request: its answer is gone, nothing applied.
    Stale,
    /// No session, and not a first request: nothing applied (an earlier copy
    /// may have been, before the session expired).
    Expired,
    /// The latest `seq` again, with another command: refused, nothing applied.
    Reused,
    /// No session, and the table is full: nothing applied, no session
    /// opened (the client may try again once sessions expire).
    Full,
}

/// The session table, bounded and expiring by log time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound(
    serialize = "C: Serialize, R: Serialize",
    deserialize = "C: Deserialize<'de>, R: Deserialize<'de>"
))]
pub struct Sessions<C, R> {
    sessions: BTreeMap<u64, Session<C, R>>,
    /// `(last_used_ticks, client_id)` of every session: expiry order. Derived from
    /// `sessions`, so equal tables stay equal.
    by_use: BTreeSet<(u64, u64)>,
}

impl<C, R> Default for Sessions<C, R> {
    fn default() -> Self {
        Sessions {
            sessions: BTreeMap::new(),
            by_use: BTreeSet::new(),
        }
    }
}

impl<C: Clone + PartialEq, R: Clone> Sessions<C, R> {
    /// Applies `(client_id, seq)` carrying `command` at log time `now`:
    /// `apply` runs only if this is a new request, and a new session opens
    /// only for a first request, and only if fewer than `max_sessions` are
    /// open.
    pub fn apply(
        &mut self,
        client_id: u64,
        seq: u64,
        command: &C,
        now: u64,
        max_sessions: usize,
        apply: impl FnOnce() -> R,
    ) -> SessionOutcome<R> {
        self.apply_opening(client_id, seq, command, now, max_sessions, false, apply)
    }

    /// [`Sessions::apply`]; with `open_any` (the planted fault
    /// `sessionless_apply`) any sequence number opens a session.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply_opening(
        &mut self,
        client_id: u64,
        seq: u64,
        command: &C,
        now: u64,
        max_sessions: usize,
        open_any: bool,
        apply: impl FnOnce() -> R,
    ) -> SessionOutcome<R> {
        if let Some(s) = self.sessions.get_mut(&client_id) {
            if seq < s.last_seq {
                return SessionOutcome::Stale;
            }
            if seq == s.last_seq && s.command != *command {
                return SessionOutcome::Reused;
            }
            if s.last_used_ticks != now {
                self.by_use.remove(&(s.last_used_ticks, client_id));
                s.last_used_ticks = now;
                self.by_use.insert((now, client_id));
            }
            if seq == s.last_seq {
                return SessionOutcome::Duplicate(s.response.clone());
            }
            let response = apply();
            s.last_seq = seq;
            s.command = command.clone();
            s.response = response.clone();
            return SessionOutcome::Applied(response);
        }
        if seq != FIRST_SEQ && !open_any {
            return SessionOutcome::Expired;
        }
        if self.sessions.len() >= max_sessions.max(1) {
            return SessionOutcome::Full;
        }
        let response = apply();
        self.sessions.insert(
            client_id,
            Session {
                last_seq: seq,
                command: command.clone(),
                response: response.clone(),
                last_used_ticks: now,
            },
        );
        self.by_use.insert((now, client_id));
        SessionOutcome::Applied(response)
    }

    /// Drops every session unused since log time `now - timeout_ticks`.
    pub fn expire(&mut self, now: u64, timeout_ticks: u64) {
        while let Some(&(ticks, client)) = self.by_use.iter().next() {
            if ticks.saturating_add(timeout_ticks) > now {
                break;
            }
            self.by_use.remove(&(ticks, client));
            self.sessions.remove(&client);
        }
    }

    /// The stored command and answer of `(client_id, seq)` if it is the
    /// session's latest request.
    pub fn cached(&self, client_id: u64, seq: u64) -> Option<(&C, &R)> {
        self.sessions
            .get(&client_id)
            .filter(|s| s.last_seq == seq)
            .map(|s| (&s.command, &s.response))
    }

    /// The latest sequence number applied for `client_id`, if it has a
    /// session.
    pub fn last_seq(&self, client_id: u64) -> Option<u64> {
        self.sessions.get(&client_id).map(|s| s.last_seq)
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Whether the derived LRU index matches the table (for tests and asserts).
    pub fn is_consistent(&self) -> bool {
        self.by_use.len() == self.sessions.len()
            && self
                .sessions
                .iter()
                .all(|(c, s)| self.by_use.contains(&(s.last_used_ticks, *c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_empty` is `len() == 0`: false from the first session until the
    /// last one expires.
    #[test]
    fn is_empty_agrees_with_len() {
        let mut s = Sessions::default();
        assert!(s.is_empty());
        s.apply(7, 1, &0u8, 1, 10, || 0u32);
        assert_eq!((s.len(), s.is_empty()), (1, false));
        s.expire(100, 10);
        assert_eq!((s.len(), s.is_empty()), (0, true));
    }

    #[test]
    fn retried_request_is_answered_from_the_table_not_reapplied() {
        let mut s = Sessions::default();
        let mut applied = 0;
        let mut run = |s: &mut Sessions<u8, u32>, seq| {
            s.apply(7, seq, &0u8, 1, 10, || {
                applied += 1;
                applied
            })
        };
        assert_eq!(run(&mut s, 1), SessionOutcome::Applied(1));
        assert_eq!(run(&mut s, 1), SessionOutcome::Duplicate(1));
        assert_eq!(run(&mut s, 2), SessionOutcome::Applied(2));
        assert_eq!(run(&mut s, 1), SessionOutcome::Stale);
        assert_eq!(applied, 2);
        assert!(s.is_consistent());
    }

    /// Swarm seeds 625 and 916: client 1010's first request was proposed at
    /// slot 3 by one leader and, retried, at slot 10 by the next; seven new
    /// sessions opened between the two in a table of five, evicting 1010's,
    /// and slot 10 applied the request again. A full table now refuses the
    /// new session instead, and the retry is a duplicate.
    #[test]
    fn full_table_refuses_a_new_session_and_keeps_the_live_ones() {
        let mut s = Sessions::default();
        let mut applied = 0;
        let mut run = |s: &mut Sessions<u8, u8>, client, now| {
            s.apply(client, FIRST_SEQ, &0u8, now, 2, || {
                applied += 1;
                0u8
            })
        };
        assert_eq!(run(&mut s, 1, 10), SessionOutcome::Applied(0));
        assert_eq!(run(&mut s, 2, 20), SessionOutcome::Applied(0));
        assert_eq!(run(&mut s, 3, 30), SessionOutcome::Full);
        assert_eq!(run(&mut s, 1, 40), SessionOutcome::Duplicate(0));
        s.expire(120, 100);
        assert_eq!(run(&mut s, 3, 120), SessionOutcome::Applied(0));
        assert_eq!(applied, 3);
        assert!(s.is_consistent());
    }

    #[test]
    fn sessions_expire_through_log_time() {
        let mut s = Sessions::default();
        s.apply(1, 1, &0u8, 10, 5, || 0u8);
        s.apply(2, 1, &0u8, 50, 5, || 0u8);
        s.expire(109, 100);
        assert_eq!(s.len(), 2);
        s.expire(110, 100);
        assert_eq!(s.len(), 1);
        assert!(s.cached(2, 1).is_some());
        assert!(s.is_consistent());
    }

    /// A session used again (a new request or a retry) is as recent as that
    /// use: expiry goes by the last use, not by when the session began.
    #[test]
    fn reused_session_counts_as_recently_used() {
        let mut s = Sessions::default();
        s.apply(1, 1, &0u8, 10, 3, || 0u8);
        s.apply(2, 1, &0u8, 20, 3, || 0u8);
        s.apply(1, 2, &0u8, 30, 3, || 0u8);
        assert!(s.is_consistent());
        s.expire(125, 100);
        assert!(s.cached(1, 2).is_some(), "client 1 was used last at 30");
        assert!(s.cached(2, 1).is_none(), "client 2 was last used at 20");
        s.apply(1, 2, &0u8, 50, 3, || 0u8);
        s.expire(145, 100);
        assert!(s.cached(1, 2).is_some(), "a retry at 50 is a use");
        assert!(s.is_consistent());
    }

    /// The check the tests above lean on must itself see a broken LRU index:
    /// an entry lost, an entry too many, or a stale time for a session.
    #[test]
    fn consistency_check_sees_a_broken_lru_index() {
        let mut s = Sessions::default();
        s.apply(1, 1, &0u8, 10, 5, || 0u8);
        s.apply(2, 1, &0u8, 20, 5, || 0u8);
        assert!(s.is_consistent());
        let mut lost = s.clone();
        lost.by_use.remove(&(10, 1));
        assert!(!lost.is_consistent());
        let mut extra = s.clone();
        extra.by_use.insert((30, 3));
        assert!(!extra.is_consistent());
        let mut stale = s.clone();
        stale.by_use.remove(&(10, 1));
        stale.by_use.insert((9, 1));
        assert!(!stale.is_consistent());
    }

    /// Raft thesis, section 6.3: a client without a session may be retrying a
    /// request applied before its session expired, so only a first request
    /// opens a session; anything later is answered expired, never applied.
    #[test]
    fn only_a_first_request_opens_a_session() {
        let mut s: Sessions<u8, u8> = Sessions::default();
        let mut applied = 0;
        assert_eq!(
            s.apply(7, 5, &0, 1, 10, || {
                applied += 1;
                0
            }),
            SessionOutcome::Expired
        );
        assert_eq!((applied, s.len()), (0, 0));
        assert_eq!(
            s.apply(7, FIRST_SEQ, &0, 1, 10, || 3),
            SessionOutcome::Applied(3)
        );
        s.expire(100, 10);
        assert_eq!(s.apply(7, 2, &0, 100, 10, || 4), SessionOutcome::Expired);
        assert!(s.is_empty());
    }

    /// A retry must carry the command it retries: the same `(client, seq)`
    /// with another command is refused and leaves the session as it was.
    #[test]
    fn a_reused_seq_with_another_command_is_refused() {
        let mut s: Sessions<u8, u8> = Sessions::default();
        assert_eq!(s.apply(7, 1, &10, 1, 10, || 1), SessionOutcome::Applied(1));
        assert_eq!(s.apply(7, 1, &11, 2, 10, || 2), SessionOutcome::Reused);
        assert_eq!(
            s.apply(7, 1, &10, 3, 10, || 3),
            SessionOutcome::Duplicate(1)
        );
        assert_eq!(s.cached(7, 1), Some((&10, &1)));
        assert!(s.is_consistent());
    }
}
