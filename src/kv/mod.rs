//! The replicated key-value and lock state machine, a deterministic [`crate::paxos::StateMachine`].
