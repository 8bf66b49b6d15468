//! synod-models: stateright actors around synod::paxos (see the models issue).
