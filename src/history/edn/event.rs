//! Operation maps: the EDN parser reading one event, its fields checked as
//! it goes (`:process`, `:type`, `:f`, `:key`, `:value`, `:time`, `:index`;
//! other fields are parsed and ignored).

use super::Parser;
use crate::history::error::ParseError;
use crate::history::event_fields::{self, show, Fields, Notation};
use crate::history::types::{Event, EventKind, Process, Value};

impl<'a> Parser<'a> {
    /// Parses one operation map (optionally tagged, e.g.
    /// `#jepsen.history.Op{...}`) at the current position. `expected` names
    /// what the caller accepts here, for the error message.
    pub(crate) fn event(&mut self, expected: &str, independent: bool) -> Result<Event, ParseError> {
        let start = self.mark();
        if self.peek() == Some(b'#')
            && self
                .buf
                .get(self.pos + 1)
                .is_some_and(|c| c.is_ascii_alphabetic())
        {
            self.pos += 1;
            self.token();
            self.skip_ws(1)?;
        }
        if self.peek() != Some(b'{') {
            return Err(self.expected(expected));
        }
        self.pos += 1;
        let mut fields = Fields::default();
        let mut f_at = start;
        let mut value_at = start;
        loop {
            self.skip_ws(1)?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(b':') => {
                    let name = self.keyword()?;
                    self.skip_ws(1)?;
                    if matches!(self.peek(), None | Some(b')' | b']' | b'}')) {
                        return Err(self.expected(&format!("a value for `:{name}`")));
                    }
                    let at = self.mark();
                    match name {
                        "process" => fields.process = Some(self.process()?),
                        "type" => fields.kind = Some(self.kind()?),
                        "f" => {
                            f_at = at;
                            fields.f = Some(self.value(1)?);
                        }
                        "key" => fields.key = Some(self.value(1)?),
                        "value" => {
                            value_at = at;
                            fields.value = Some(self.value(1)?);
                        }
                        "time" => fields.time = Some(self.integer_field("time")?),
                        "index" => {
                            let i = self.integer_field("index")?;
                            let i = u64::try_from(i).map_err(|_| {
                                self.error_at(
                                    at,
                                    format!("expected a non-negative :index, found {i}"),
                                )
                            })?;
                            fields.index = Some(i);
                        }
                        _ => {
                            self.value(1)?;
                        }
                    }
                }
                None | Some(b')' | b']') => return Err(self.expected("a keyword or `}`")),
                Some(_) => {
                    // A key that is not a keyword: not an event field.
                    self.value(1)?;
                    self.skip_ws(1)?;
                    if matches!(self.peek(), None | Some(b')' | b']' | b'}')) {
                        return Err(self.expected("a value for the key"));
                    }
                    self.value(1)?;
                }
            }
        }
        fields.line = start.line + 1;
        event_fields::finish(fields, independent, Notation::Edn).map_err(|e| {
            let at = match e.field {
                event_fields::Field::Map => start,
                event_fields::Field::F => f_at,
                event_fields::Field::Value => value_at,
            };
            self.error_at(at, e.message)
        })
    }

    /// The value of `:process`: an integer, `:nemesis`, or another name.
    pub(crate) fn process(&mut self) -> Result<Process, ParseError> {
        if let Some(i) = self.small_integer() {
            return Ok(Process::Client(i));
        }
        let at = self.mark();
        match self.value(1)? {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Process::Client(i)),
                None => Err(self.error_at(
                    at,
                    format!("expected an integer or a name for :process, found {n}"),
                )),
            },
            v if crate::history::value::name(&v) == Some("nemesis") => Ok(Process::Nemesis),
            v if crate::history::value::name(&v).is_some() => Ok(Process::Named(
                crate::history::value::name(&v)
                    .unwrap_or_default()
                    .to_string(),
            )),
            other => Err(self.error_at(
                at,
                format!(
                    "expected an integer or a name for :process, found {}",
                    show(&other, Notation::Edn)
                ),
            )),
        }
    }

    /// The value of `:type`: invoke, ok, fail or info.
    pub(crate) fn kind(&mut self) -> Result<EventKind, ParseError> {
        let at = self.mark();
        let name: std::borrow::Cow<'a, str> = match self.peek() {
            Some(b':') => self.keyword()?.into(),
            Some(b'"') => self.string()?.into(),
            _ => {
                let v = self.value(1)?;
                return Err(self.error_at(
                    at,
                    format!(
                        "expected :invoke, :ok, :fail or :info for :type, found {}",
                        show(&v, Notation::Edn)
                    ),
                ));
            }
        };
        event_fields::kind_from_name(&name).ok_or_else(|| {
            self.error_at(
                at,
                format!("expected :invoke, :ok, :fail or :info for :type, found `:{name}`"),
            )
        })
    }

    /// An integer field (`:time`, `:index`).
    fn integer_field(&mut self, name: &str) -> Result<i64, ParseError> {
        let at = self.mark();
        match self.value(1)? {
            Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
            other => Err(self.error_at(
                at,
                format!(
                    "expected an integer for :{name}, found {}",
                    show(&other, Notation::Edn)
                ),
            )),
        }
    }
}
