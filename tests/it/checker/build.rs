//! Building histories in code.

use serde_json::Value;
use synod::history::{Event, EventKind, History, Process};

/// A history under construction; lines are 1-based event positions.
#[derive(Default)]
pub struct Builder {
    pub history: History,
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(
        &mut self,
        p: i64,
        kind: EventKind,
        f: &str,
        key: Option<Value>,
        value: Value,
    ) -> &mut Self {
        let line = self.history.events.len() + 1;
        self.history.events.push(Event {
            process: Process::Client(p),
            kind,
            f: f.to_string(),
            key,
            value,
            time: None,
            index: None,
            line,
        });
        self
    }

    pub fn invoke(&mut self, p: i64, f: &str, value: Value) -> &mut Self {
        self.push(p, EventKind::Invoke, f, None, value)
    }

    pub fn ok(&mut self, p: i64, f: &str, value: Value) -> &mut Self {
        self.push(p, EventKind::Ok, f, None, value)
    }

    pub fn info(&mut self, p: i64, f: &str, value: Value) -> &mut Self {
        self.push(p, EventKind::Info, f, None, value)
    }

    pub fn fail(&mut self, p: i64, f: &str, value: Value) -> &mut Self {
        self.push(p, EventKind::Fail, f, None, value)
    }

    pub fn invoke_key(&mut self, p: i64, f: &str, key: Value, value: Value) -> &mut Self {
        self.push(p, EventKind::Invoke, f, Some(key), value)
    }

    pub fn ok_key(&mut self, p: i64, f: &str, key: Value, value: Value) -> &mut Self {
        self.push(p, EventKind::Ok, f, Some(key), value)
    }

    pub fn info_key(&mut self, p: i64, f: &str, key: Value, value: Value) -> &mut Self {
        self.push(p, EventKind::Info, f, Some(key), value)
    }

    pub fn fail_key(&mut self, p: i64, f: &str, key: Value, value: Value) -> &mut Self {
        self.push(p, EventKind::Fail, f, Some(key), value)
    }

    pub fn build(&self) -> History {
        self.history.clone()
    }
}
