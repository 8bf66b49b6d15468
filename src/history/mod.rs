//! Histories: operation and event types, readers and writers (JSONL, Jepsen EDN, Jepsen txt).
