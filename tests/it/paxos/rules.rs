//! Rules of Paxos Made Simple, each test citing the one it checks.
