//! Normalisation of OpenClaw gateway `sessions_list` answers into the product's [`Session`] shape.
//!
//! # Accepted shapes
//!
//! * The real gateway envelope
//!   `{"ok":true,"result":{"content":[{"type":"text","text":"<JSON>"}],"details":{"sessions":[..]}}}`:
//!   the list is taken from `result.details.sessions`.
//! * Its text-content form: when `result.details` is missing or has no `sessions` array, the `text`
//!   of the first `result.content` item with `"type":"text"` is parsed as JSON and its `sessions`
//!   array is used.
//! * Simpler shapes from older gateways and proxies: a bare array `[..]`, `{"sessions":[..]}` and
//!   `{"result":[..]}`.
//!
//! # Errors
//!
//! * Not JSON at all (HTML, plain text, empty body, truncated JSON, trailing garbage, invalid
//!   UTF-8) → [`EnvelopeError::NotJson`].
//! * A top-level object with `"ok": false` → [`EnvelopeError::Reported`] with `error.type` when it is
//!   a string. A top-level object *without* an `ok` field whose `error` is an object and which
//!   carries no sessions list (the gateway's own 400/401 bodies, e.g.
//!   `{"error":{"type":"unauthorized",..}}`) is reported the same way.
//! * Any other JSON → [`EnvelopeError::UnknownShape`].
//!
//! # Rows
//!
//! Rows are mapped leniently: non-object rows and rows without a usable key are skipped, odd field
//! types fall back to defaults and never fail the whole list. At most [`MAX_SESSIONS`] valid rows are
//! returned, in the gateway's order; the rest of the list is skipped without being materialised.
//!
//! * `key`: `sessionKey`, else `key` — the first that is a non-empty string.
//! * `agentId`, `model`: the value when it is a string, else `null`.
//! * `status`: the value when it is a non-empty string, else `"active"`.
//! * `messageCount`: `messageCount`, else `turns` — the first that is a non-negative,
//!   integer-valued number (`3` or `3.0`); strings, negatives and fractions fall through; else `0`.
//! * `lastActivity`: the first of `lastActivity`, `lastActivityAt`, `updatedAt` that parses as a
//!   timestamp; `createdAt`: `createdAt` when it parses; else `null`.
//!
//! # Timestamps
//!
//! Accepted: JSON numbers (integer or float) as epoch **milliseconds**; strings made only of ASCII
//! digits, also as epoch milliseconds (some proxies stringify numbers); RFC 3339 strings (any
//! offset). The instant is truncated to whole milliseconds and must lie within
//! `1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z`. Output is RFC 3339 in UTC with `Z`, with
//! milliseconds only when non-zero (`2026-03-30T01:15:00Z`, `2026-03-30T01:15:00.123Z`). Anything
//! else is `null`.
//!
//! # Performance
//!
//! The body is deserialised once, straight into [`Session`]s, through hand-written serde visitors
//! (no intermediate `serde_json::Value`); unknown fields and the `content` text are skipped without
//! allocating. Only when no list is found elsewhere is the body read a second time to parse the
//! `content` text.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The contract's limit on sessions per response.
pub const MAX_SESSIONS: usize = 50;

/// One session, exactly as the product's API reference defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The gateway's session key.
    #[schema(example = "agent:main:main")]
    pub key: String,
    #[schema(example = "main")]
    pub agent_id: Option<String>,
    /// The gateway's status when it reports one, else `active`.
    #[schema(example = "active")]
    pub status: String,
    /// `0` when the gateway does not report it (OpenClaw 2026.9 does not).
    pub message_count: u64,
    /// RFC 3339 UTC; milliseconds only when non-zero.
    #[schema(format = DateTime, example = "2026-12-03T14:59:00Z")]
    pub last_activity: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    #[schema(example = "gpt-6-astra")]
    pub model: Option<String>,
}

/// Why a gateway body could not be turned into a sessions list.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("body is not JSON")]
    NotJson,
    /// The gateway answered `ok: false`; `error_type` is its `error.type`, when given.
    #[error("gateway reported failure ({error_type:?})")]
    Reported { error_type: Option<String> },
    #[error("unrecognised response shape")]
    UnknownShape,
}

/// Parse a gateway response body into at most [`MAX_SESSIONS`] sessions, in the gateway's order.
///
/// See the [module documentation](self) for the accepted shapes and the row rules.
pub fn sessions_from_body(body: &[u8]) -> Result<Vec<Session>, EnvelopeError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let top = parse_top(body)?;
    let map = match top {
        Top::Rows(rows) => return Ok(rows),
        Top::Other => return Err(EnvelopeError::UnknownShape),
        Top::Map(map) => map,
    };
    if matches!(map.ok, Scalar::Bool(false)) {
        return Err(EnvelopeError::Reported {
            error_type: map.error.error_type,
        });
    }
    let result_is_object = match map.result {
        ResultField::Object {
            details_sessions: Some(rows),
        } => return Ok(rows),
        ResultField::Rows(rows) => return Ok(rows),
        ResultField::Object {
            details_sessions: None,
        } => true,
        ResultField::Other => false,
    };
    if let Some(rows) = map.sessions {
        return Ok(rows);
    }
    if result_is_object {
        if let Some(rows) = sessions_from_content_text(body) {
            return Ok(rows);
        }
    }
    if matches!(map.ok, Scalar::Null) && map.error.is_object {
        return Err(EnvelopeError::Reported {
            error_type: map.error.error_type,
        });
    }
    Err(EnvelopeError::UnknownShape)
}

/// Deserialise a whole JSON document with [`Top`]; any syntax problem is [`EnvelopeError::NotJson`].
fn parse_top(json: &[u8]) -> Result<Top, EnvelopeError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let top = match Top::deserialize(&mut de) {
        Ok(top) => top,
        Err(e) if e.is_data() => return Err(EnvelopeError::UnknownShape),
        Err(_) => return Err(EnvelopeError::NotJson),
    };
    de.end().map_err(|_| EnvelopeError::NotJson)?;
    Ok(top)
}

/// The fallback path: `result.content[i].text` of the first `type: "text"` item, parsed as JSON,
/// and its `sessions` array. `body` is known to be valid JSON at this point.
fn sessions_from_content_text(body: &[u8]) -> Option<Vec<Session>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let item = value
        .get("result")?
        .get("content")?
        .as_array()?
        .iter()
        .find(|item| item.get("type").and_then(serde_json::Value::as_str) == Some("text"))?;
    let text = item.get("text")?.as_str()?;
    match parse_top(text.as_bytes()).ok()? {
        Top::Map(map) => map.sessions,
        Top::Rows(_) | Top::Other => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Row normalisation
// ---------------------------------------------------------------------------------------------

/// The raw fields of one row that the normalisation looks at; absent fields are [`Scalar::Null`].
#[derive(Default)]
struct RawRow<'a> {
    session_key: Scalar<'a>,
    key: Scalar<'a>,
    agent_id: Scalar<'a>,
    status: Scalar<'a>,
    message_count: Scalar<'a>,
    turns: Scalar<'a>,
    last_activity: Scalar<'a>,
    last_activity_at: Scalar<'a>,
    updated_at: Scalar<'a>,
    created_at: Scalar<'a>,
    model: Scalar<'a>,
}

impl RawRow<'_> {
    fn into_session(self) -> Option<Session> {
        let key = non_empty_string(self.session_key).or_else(|| non_empty_string(self.key))?;
        Some(Session {
            key,
            agent_id: any_string(self.agent_id),
            status: non_empty_string(self.status).unwrap_or_else(|| "active".to_owned()),
            message_count: count(&self.message_count)
                .or_else(|| count(&self.turns))
                .unwrap_or(0),
            last_activity: timestamp(&self.last_activity)
                .or_else(|| timestamp(&self.last_activity_at))
                .or_else(|| timestamp(&self.updated_at)),
            created_at: timestamp(&self.created_at),
            model: any_string(self.model),
        })
    }
}

fn any_string(value: Scalar<'_>) -> Option<String> {
    match value {
        Scalar::Str(s) => Some(s.into_owned()),
        _ => None,
    }
}

fn non_empty_string(value: Scalar<'_>) -> Option<String> {
    any_string(value).filter(|s| !s.is_empty())
}

/// A non-negative, integer-valued JSON number (`3`, `3.0`).
fn count(value: &Scalar<'_>) -> Option<u64> {
    match *value {
        Scalar::U(n) => Some(n),
        Scalar::I(n) => u64::try_from(n).ok(),
        // 2^64 is exactly representable; anything below it that is integral fits in a u64.
        Scalar::F(f)
            if f.is_finite()
                && f >= 0.0
                && f.fract() == 0.0
                && f < 18_446_744_073_709_551_616.0 =>
        {
            Some(f as u64)
        }
        _ => None,
    }
}

/// `9999-12-31T23:59:59.999Z` in epoch milliseconds.
const MAX_EPOCH_MS: i64 = 253_402_300_799_999;

fn timestamp(value: &Scalar<'_>) -> Option<String> {
    let ms = match value {
        Scalar::U(n) => i64::try_from(*n).ok()?,
        Scalar::I(n) => *n,
        Scalar::F(f) if f.is_finite() && *f >= 0.0 && *f <= MAX_EPOCH_MS as f64 => f.trunc() as i64,
        Scalar::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        Scalar::Str(s) => DateTime::parse_from_rfc3339(s).ok()?.timestamp_millis(),
        _ => return None,
    };
    format_epoch_ms(ms)
}

fn format_epoch_ms(ms: i64) -> Option<String> {
    if !(0..=MAX_EPOCH_MS).contains(&ms) {
        return None;
    }
    let instant = DateTime::<Utc>::from_timestamp_millis(ms)?;
    let precision = if ms % 1000 == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    Some(instant.to_rfc3339_opts(precision, true))
}

// ---------------------------------------------------------------------------------------------
// Lenient serde plumbing: every visitor accepts every JSON value, so only syntax errors fail.
// ---------------------------------------------------------------------------------------------

/// Implements the scalar `visit_*` methods of a lenient visitor, all yielding `$value`.
macro_rules! accept_scalars {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A JSON value reduced to what the rules need: scalars are kept, arrays and objects are skipped.
#[derive(Default)]
enum Scalar<'a> {
    #[default]
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    F(f64),
    Str(Cow<'a, str>),
    Compound,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::I(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::U(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::F(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Scalar::Compound)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(Scalar::Compound)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// One row: `Some` when it is an object with a usable key.
struct Row(Option<Session>);

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a session row")
            }
            accept_scalars!(Row(None));
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Row(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut raw = RawRow::default();
                while let Some(Key(key)) = map.next_key()? {
                    let slot = match &*key {
                        "sessionKey" => &mut raw.session_key,
                        "key" => &mut raw.key,
                        "agentId" => &mut raw.agent_id,
                        "status" => &mut raw.status,
                        "messageCount" => &mut raw.message_count,
                        "turns" => &mut raw.turns,
                        "lastActivity" => &mut raw.last_activity,
                        "lastActivityAt" => &mut raw.last_activity_at,
                        "updatedAt" => &mut raw.updated_at,
                        "createdAt" => &mut raw.created_at,
                        "model" => &mut raw.model,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value()?;
                }
                Ok(Row(raw.into_session()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The first [`MAX_SESSIONS`] valid rows of an array; the remaining elements are only skipped.
fn collect_rows<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<Session>, A::Error> {
    let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_SESSIONS));
    while rows.len() < MAX_SESSIONS {
        match seq.next_element::<Row>()? {
            Some(Row(Some(session))) => rows.push(session),
            Some(Row(None)) => {}
            None => return Ok(rows),
        }
    }
    drain_seq(seq)?;
    Ok(rows)
}

/// A sessions list: `Some` when the value is an array.
struct Rows(Option<Vec<Session>>);

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rows;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sessions array")
            }
            accept_scalars!(Rows(None));
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                collect_rows(seq).map(|rows| Rows(Some(rows)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(Rows(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `result.details`: only its `sessions` array matters.
struct Details(Option<Vec<Session>>);

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Details;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a details object")
            }
            accept_scalars!(Details(None));
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Details(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut sessions = None;
                while let Some(Key(key)) = map.next_key()? {
                    if key == "sessions" {
                        sessions = map.next_value::<Rows>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Details(sessions))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The top-level `result` field. `content` is skipped here (see [`sessions_from_content_text`]).
#[derive(Default)]
enum ResultField {
    #[default]
    Other,
    Rows(Vec<Session>),
    Object {
        details_sessions: Option<Vec<Session>>,
    },
}

impl<'de> Deserialize<'de> for ResultField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResultField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a result")
            }
            accept_scalars!(ResultField::Other);
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                collect_rows(seq).map(ResultField::Rows)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut details_sessions = None;
                while let Some(Key(key)) = map.next_key()? {
                    if key == "details" {
                        details_sessions = map.next_value::<Details>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ResultField::Object { details_sessions })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The top-level `error` field.
#[derive(Default)]
struct ErrorField {
    is_object: bool,
    error_type: Option<String>,
}

impl<'de> Deserialize<'de> for ErrorField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ErrorField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an error object")
            }
            accept_scalars!(ErrorField::default());
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(ErrorField::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut error_type = None;
                while let Some(Key(key)) = map.next_key()? {
                    if key == "type" {
                        error_type = any_string(map.next_value::<Scalar>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ErrorField {
                    is_object: true,
                    error_type,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The fields of a top-level object that decide its shape.
#[derive(Default)]
struct TopMap {
    ok: Scalar<'static>,
    error: ErrorField,
    sessions: Option<Vec<Session>>,
    result: ResultField,
}

/// A whole document: an array of rows, an object, or any other JSON value.
enum Top {
    Rows(Vec<Session>),
    Map(TopMap),
    Other,
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Top;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON document")
            }
            accept_scalars!(Top::Other);
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                collect_rows(seq).map(Top::Rows)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut top = TopMap::default();
                while let Some(Key(key)) = map.next_key()? {
                    match &*key {
                        "ok" => {
                            top.ok = match map.next_value::<Scalar>()? {
                                Scalar::Bool(b) => Scalar::Bool(b),
                                Scalar::Null => Scalar::Null,
                                _ => Scalar::Compound,
                            }
                        }
                        "error" => top.error = map.next_value()?,
                        "sessions" => top.sessions = map.next_value::<Rows>()?.0,
                        "result" => top.result = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Top::Map(top))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openclaw/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }

    fn parse(value: &Value) -> Result<Vec<Session>, EnvelopeError> {
        sessions_from_body(value.to_string().as_bytes())
    }

    /// Normalise a single row given as a bare array.
    fn one(row: Value) -> Option<Session> {
        let mut rows = parse(&json!([row])).expect("a bare array is accepted");
        assert!(rows.len() <= 1);
        rows.pop()
    }

    fn first_real_row() -> Session {
        Session {
            key: "agent:main:main".into(),
            agent_id: Some("main".into()),
            status: "active".into(),
            message_count: 0,
            last_activity: Some("2026-12-03T14:59:00Z".into()),
            created_at: None,
            model: Some("gpt-6-astra".into()),
        }
    }

    fn reported(error_type: &str) -> Result<Vec<Session>, EnvelopeError> {
        Err(EnvelopeError::Reported {
            error_type: Some(error_type.into()),
        })
    }

    // ----- real captures -----

    #[test]
    fn real_five_sessions() {
        for name in [
            "sessions_list.ok.5_sessions.json",
            "sessions_list.ok.5_sessions.no_action.json",
            "sessions_list.ok.5_sessions.noargs.json",
            "sessions_list.ok.5_sessions.text_plain_content_type.json",
        ] {
            let rows = sessions_from_body(&fixture(name)).expect(name);
            assert_eq!(rows.len(), 5, "{name}");
            assert_eq!(rows[0], first_real_row(), "{name}");
            assert_eq!(
                rows[1].key,
                "agent:main:subagent:00000001-4b5a-4c6d-8e7f-a0b1c2d3e4f5"
            );
            assert_eq!(rows[1].status, "done", "{name}");
            assert_eq!(rows[1].model.as_deref(), Some("gpt-6-astra-mini"));
            assert_eq!(
                rows[1].last_activity.as_deref(),
                Some("2026-12-03T14:58:00Z")
            );
            assert_eq!(rows[2].key, "agent:main:telegram:direct:123456789");
            assert!(rows
                .iter()
                .all(|r| r.created_at.is_none() && r.message_count == 0));
        }
    }

    #[test]
    fn real_rows_match_details_in_order() {
        for name in [
            "sessions_list.ok.5_sessions.json",
            "sessions_list.ok.60_sessions.limit50.json",
            "sessions_list.ok.60_sessions.limit50.offset50.json",
            "sessions_list.ok.60_sessions.noargs.json",
        ] {
            let body = fixture(name);
            let value: Value = serde_json::from_slice(&body).expect("fixture is JSON");
            let expected: Vec<&str> = value["result"]["details"]["sessions"]
                .as_array()
                .expect("details.sessions")
                .iter()
                .take(MAX_SESSIONS)
                .map(|row| row["key"].as_str().expect("key"))
                .collect();
            let rows = sessions_from_body(&body).expect(name);
            let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
            assert_eq!(keys, expected, "{name}");
        }
    }

    #[test]
    fn real_zero_sessions() {
        let rows = sessions_from_body(&fixture("sessions_list.ok.0_sessions.json"));
        assert_eq!(rows, Ok(vec![]));
    }

    #[test]
    fn real_sixty_sessions_capped_at_fifty_in_order() {
        let body = fixture("sessions_list.ok.60_sessions.limit500.json");
        let value: Value = serde_json::from_slice(&body).expect("fixture is JSON");
        let all = value["result"]["details"]["sessions"]
            .as_array()
            .expect("details.sessions");
        assert_eq!(all.len(), 60);
        let rows = sessions_from_body(&body).expect("ok body");
        assert_eq!(rows.len(), MAX_SESSIONS);
        for (row, raw) in rows.iter().zip(all) {
            assert_eq!(Some(row.key.as_str()), raw["key"].as_str());
        }
        assert_eq!(rows[0], first_real_row());
    }

    #[test]
    fn real_text_content_form() {
        for name in [
            "sessions_list.ok.5_sessions.json",
            "sessions_list.ok.0_sessions.json",
            "sessions_list.ok.60_sessions.limit500.json",
        ] {
            let mut value: Value = serde_json::from_slice(&fixture(name)).expect("JSON");
            let from_details = parse(&value).expect(name);
            let result = value["result"].as_object_mut().expect("result object");
            result.remove("details");
            assert_eq!(parse(&value).as_ref(), Ok(&from_details), "{name}");
            // details without a sessions array also falls back to the text.
            value["result"]["details"] = json!({"count": 5, "sessions": "nope"});
            assert_eq!(parse(&value).as_ref(), Ok(&from_details), "{name}");
        }
        let mut value: Value =
            serde_json::from_slice(&fixture("sessions_list.ok.5_sessions.json")).expect("JSON");
        value["result"]
            .as_object_mut()
            .expect("result object")
            .remove("details");
        assert_eq!(parse(&value).expect("text form")[0], first_real_row());
    }

    #[test]
    fn text_content_uses_first_text_item() {
        let text = json!({"sessions": [{"key": "from-text"}]}).to_string();
        let body = json!({"ok": true, "result": {"content": [
            {"type": "image", "text": "{\"sessions\":[{\"key\":\"from-image\"}]}"},
            {"text": text, "type": "text"},
            {"type": "text", "text": "{\"sessions\":[{\"key\":\"second-text\"}]}"}
        ]}});
        let rows = parse(&body).expect("text form");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, "from-text");
    }

    #[test]
    fn text_content_unusable_is_unknown_shape() {
        for content in [
            json!([{"type": "text", "text": "not json"}]),
            json!([{"type": "text", "text": "{\"count\":1}"}]),
            json!([{"type": "text", "text": 5}]),
            json!([{"type": "image"}]),
            json!([]),
            json!("text"),
        ] {
            let body = json!({"ok": true, "result": {"content": content}});
            assert_eq!(parse(&body), Err(EnvelopeError::UnknownShape), "{body}");
        }
        assert_eq!(
            parse(&json!({"ok": true, "result": {}})),
            Err(EnvelopeError::UnknownShape)
        );
    }

    #[test]
    fn real_error_bodies() {
        let cases = [
            ("error.bad_limit_type.json", "tool_error"),
            ("error.denied_tool_exec.json", "not_found"),
            ("error.during_startup.json", "tool_error"),
            ("error.limit0.json", "tool_error"),
            ("error.missing_tool.json", "invalid_request"),
            ("error.unknown_tool.json", "not_found"),
            // No `ok` field, but an `error` object and no list: reported too.
            ("error.malformed_json.json", "invalid_request_error"),
            ("error.missing_auth.json", "unauthorized"),
            ("error.wrong_token.json", "unauthorized"),
        ];
        for (name, error_type) in cases {
            assert_eq!(
                sessions_from_body(&fixture(name)),
                reported(error_type),
                "{name}"
            );
        }
        for name in ["error.get_method.txt", "error.get_method.no_auth.txt"] {
            assert_eq!(
                sessions_from_body(&fixture(name)),
                Err(EnvelopeError::NotJson),
                "{name}"
            );
        }
    }

    #[test]
    fn real_non_session_bodies() {
        for name in [
            "health.health.json",
            "health.healthz.json",
            "health.ready.json",
            "health.readyz.json",
            "health.startupz.json",
        ] {
            assert_eq!(
                sessions_from_body(&fixture(name)),
                Err(EnvelopeError::UnknownShape),
                "{name}"
            );
        }
        for name in [
            "other.livez_is_control_ui.html",
            "other.unknown_path_is_control_ui.html",
        ] {
            assert_eq!(
                sessions_from_body(&fixture(name)),
                Err(EnvelopeError::NotJson),
                "{name}"
            );
        }
    }

    // ----- shapes -----

    #[test]
    fn simple_shapes() {
        let rows = json!([{"key": "a"}, {"key": "b"}]);
        for body in [
            rows.clone(),
            json!({"sessions": rows}),
            json!({"result": rows}),
            json!({"ok": true, "sessions": rows}),
            json!({"ok": true, "result": rows}),
            json!({"ok": true, "result": {"details": {"sessions": rows}}}),
        ] {
            let got = parse(&body).expect("accepted shape");
            let keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
            assert_eq!(keys, ["a", "b"], "{body}");
        }
        assert_eq!(parse(&json!([])), Ok(vec![]));
        assert_eq!(parse(&json!({"sessions": []})), Ok(vec![]));
        assert_eq!(parse(&json!({"result": []})), Ok(vec![]));
    }

    #[test]
    fn ok_false_wins_and_error_type_is_optional() {
        assert_eq!(
            parse(&json!({"result": [{"key": "a"}], "ok": false, "error": {"type": "x"}})),
            reported("x")
        );
        for body in [
            json!({"ok": false}),
            json!({"ok": false, "error": "boom"}),
            json!({"ok": false, "error": {"type": 5, "message": "m"}}),
            json!({"ok": false, "error": {"message": "m"}}),
        ] {
            assert_eq!(
                parse(&body),
                Err(EnvelopeError::Reported { error_type: None }),
                "{body}"
            );
        }
    }

    #[test]
    fn unknown_shapes() {
        for body in [
            json!({}),
            json!({"ok": true}),
            json!({"ok": true, "error": {"type": "x"}}),
            json!({"sessions": {"a": 1}}),
            json!({"sessions": "[]"}),
            json!({"result": "x"}),
            json!({"result": null}),
            json!({"data": [{"key": "a"}]}),
            json!({"error": "plain string"}),
            json!(null),
            json!(true),
            json!(42),
            json!("sessions"),
        ] {
            assert_eq!(parse(&body), Err(EnvelopeError::UnknownShape), "{body}");
        }
    }

    #[test]
    fn not_json() {
        for body in [
            &b""[..],
            b"   ",
            b"<!doctype html><html></html>",
            b"Method Not Allowed",
            b"{\"ok\":true,",
            b"[{\"key\":\"a\"}",
            b"[] trailing",
            b"{\"sessions\":[]}}",
            b"\xff\xfe[]",
            b"[\"\xff\"]",
            b"{'sessions': []}",
        ] {
            assert_eq!(
                sessions_from_body(body),
                Err(EnvelopeError::NotJson),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn utf8_bom_and_whitespace_are_tolerated() {
        let rows = sessions_from_body(b"\xEF\xBB\xBF \n[{\"key\":\"a\"}]\n ").expect("accepted");
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn deep_nesting_does_not_panic() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // Valid JSON: an array whose one element is not an object. Skipped values are scanned
        // without recursion, so this neither overflows the stack nor hits the depth limit.
        assert_eq!(sessions_from_body(deep.as_bytes()), Ok(vec![]));
        let deep_field = format!(
            "{{\"ok\":true,\"x\":{}1{}}}",
            "{\"a\":".repeat(100_000),
            "}".repeat(100_000)
        );
        assert_eq!(
            sessions_from_body(deep_field.as_bytes()),
            Err(EnvelopeError::UnknownShape)
        );
        let unbalanced = "[".repeat(100_000);
        assert_eq!(
            sessions_from_body(unbalanced.as_bytes()),
            Err(EnvelopeError::NotJson)
        );
        let deep_row = format!(
            "[{{\"key\":\"a\",\"x\":{}{}}}]",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(
            sessions_from_body(deep_row.as_bytes()).map(|r| r.len()),
            Ok(1)
        );
    }

    #[test]
    fn at_most_fifty_valid_rows_skipping_invalid_ones() {
        let mut rows: Vec<Value> = Vec::new();
        for i in 0..70 {
            rows.push(json!(null));
            rows.push(json!({"key": format!("k{i}")}));
            rows.push(json!({"key": ""}));
        }
        let got = parse(&json!({"sessions": rows})).expect("accepted");
        assert_eq!(got.len(), MAX_SESSIONS);
        for (i, row) in got.iter().enumerate() {
            assert_eq!(row.key, format!("k{i}"));
        }
    }

    // ----- rows -----

    #[test]
    fn keys() {
        assert_eq!(one(json!({"agentId": "main"})), None);
        assert_eq!(one(json!({"key": 5})), None);
        assert_eq!(one(json!({"key": ""})), None);
        assert_eq!(one(json!({"key": null})), None);
        assert_eq!(one(json!({"key": ["a"]})), None);
        assert_eq!(
            one(json!({"sessionKey": "s"})).map(|r| r.key),
            Some("s".into())
        );
        assert_eq!(
            one(json!({"key": "k", "sessionKey": "s"})).map(|r| r.key),
            Some("s".into())
        );
        assert_eq!(
            one(json!({"sessionKey": 7, "key": "k"})).map(|r| r.key),
            Some("k".into())
        );
        assert_eq!(
            one(json!({"sessionKey": "", "key": "k"})).map(|r| r.key),
            Some("k".into())
        );
        assert_eq!(
            one(json!({"key": "caf\u{e9} \"q\" \\ \n"})).map(|r| r.key),
            Some("caf\u{e9} \"q\" \\ \n".into())
        );
    }

    #[test]
    fn non_object_rows_are_skipped() {
        let got = parse(&json!([1, "key", null, true, [{"key": "nested"}], {"key": "a"}, 2.5]))
            .expect("accepted");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].key, "a");
    }

    #[test]
    fn minimal_row_defaults() {
        assert_eq!(
            one(json!({"key": "k"})),
            Some(Session {
                key: "k".into(),
                agent_id: None,
                status: "active".into(),
                message_count: 0,
                last_activity: None,
                created_at: None,
                model: None,
            })
        );
    }

    #[test]
    fn strings_fields() {
        let row =
            one(json!({"key": "k", "agentId": 5, "model": {"id": "m"}, "status": 5})).expect("row");
        assert_eq!(
            (row.agent_id, row.model, row.status.as_str()),
            (None, None, "active")
        );
        let row = one(json!({"key": "k", "agentId": "", "model": "m", "status": ""})).expect("row");
        assert_eq!(row.agent_id.as_deref(), Some(""));
        assert_eq!(row.model.as_deref(), Some("m"));
        assert_eq!(row.status, "active");
        let row = one(json!({"key": "k", "status": "failed", "agentId": null, "model": null}))
            .expect("row");
        assert_eq!(
            (row.agent_id, row.model, row.status.as_str()),
            (None, None, "failed")
        );
    }

    fn message_count(row: Value) -> u64 {
        let mut row = row;
        row["key"] = json!("k");
        one(row).expect("row").message_count
    }

    #[test]
    fn message_counts() {
        assert_eq!(message_count(json!({"messageCount": 7})), 7);
        assert_eq!(message_count(json!({"messageCount": 3.0})), 3);
        assert_eq!(message_count(json!({"messageCount": "7"})), 0);
        assert_eq!(message_count(json!({"turns": 3})), 3);
        assert_eq!(message_count(json!({"messageCount": 4, "turns": 3})), 4);
        assert_eq!(message_count(json!({"messageCount": "7", "turns": 3})), 3);
        assert_eq!(message_count(json!({"messageCount": -1, "turns": 3})), 3);
        assert_eq!(message_count(json!({"messageCount": -1})), 0);
        assert_eq!(message_count(json!({"turns": -5.0})), 0);
        assert_eq!(message_count(json!({"messageCount": 2.5})), 0);
        assert_eq!(
            message_count(json!({"messageCount": null, "turns": null})),
            0
        );
        assert_eq!(message_count(json!({"messageCount": true})), 0);
        assert_eq!(message_count(json!({"messageCount": [1]})), 0);
        assert_eq!(message_count(json!({"messageCount": 0})), 0);
        assert_eq!(message_count(json!({"messageCount": u64::MAX})), u64::MAX);
        assert_eq!(message_count(json!({"messageCount": 1e300})), 0);
        // Out-of-range literals (u64 overflow, 1e400) come from raw text, not from `json!`.
        let rows = sessions_from_body(
            br#"[{"key":"a","messageCount":1e400},{"key":"b","messageCount":18446744073709551616}]"#,
        );
        // 1e400 is rejected by serde_json as a number out of range: not JSON.
        assert_eq!(rows, Err(EnvelopeError::NotJson));
        let rows = sessions_from_body(br#"[{"key":"b","messageCount":18446744073709551616}]"#)
            .expect("accepted");
        assert_eq!(rows[0].message_count, 0);
    }

    fn last_activity(fields: Value) -> Option<String> {
        let mut row = fields;
        row["key"] = json!("k");
        one(row).expect("row").last_activity
    }

    fn ts(value: Value) -> Option<String> {
        last_activity(json!({ "lastActivity": value }))
    }

    #[test]
    fn timestamps_from_numbers() {
        assert_eq!(
            ts(json!(1796309940000u64)).as_deref(),
            Some("2026-12-03T14:59:00Z")
        );
        assert_eq!(
            ts(json!(1796309940123u64)).as_deref(),
            Some("2026-12-03T14:59:00.123Z")
        );
        assert_eq!(
            ts(json!(1796309940123.9)).as_deref(),
            Some("2026-12-03T14:59:00.123Z")
        );
        assert_eq!(
            ts(json!(1796309940000.0)).as_deref(),
            Some("2026-12-03T14:59:00Z")
        );
        assert_eq!(ts(json!(0)).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            ts(json!(253_402_300_799_999u64)).as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(ts(json!(253_402_300_800_000u64)), None);
        assert_eq!(ts(json!(-1)), None);
        assert_eq!(ts(json!(-0.5)), None);
        assert_eq!(ts(json!(1e300)), None);
        assert_eq!(ts(json!(u64::MAX)), None);
        assert_eq!(ts(json!(i64::MIN)), None);
        assert_eq!(ts(json!(null)), None);
        assert_eq!(ts(json!(true)), None);
        assert_eq!(ts(json!({"ms": 1})), None);
        assert_eq!(ts(json!([1796309940000u64])), None);
    }

    #[test]
    fn timestamps_from_strings() {
        assert_eq!(
            ts(json!("2026-03-30T01:15:00Z")).as_deref(),
            Some("2026-03-30T01:15:00Z")
        );
        assert_eq!(
            ts(json!("2026-03-30T03:15:00+02:00")).as_deref(),
            Some("2026-03-30T01:15:00Z")
        );
        assert_eq!(
            ts(json!("2026-03-29T20:15:00.5-05:00")).as_deref(),
            Some("2026-03-30T01:15:00.500Z")
        );
        assert_eq!(
            ts(json!("2026-03-30T01:15:00.123456789Z")).as_deref(),
            Some("2026-03-30T01:15:00.123Z")
        );
        assert_eq!(
            ts(json!("2026-03-30T01:15:00.000999Z")).as_deref(),
            Some("2026-03-30T01:15:00Z")
        );
        assert_eq!(
            ts(json!("1796309940000")).as_deref(),
            Some("2026-12-03T14:59:00Z")
        );
        assert_eq!(ts(json!("99999999999999999999999")), None);
        assert_eq!(ts(json!("1969-12-31T23:59:59Z")), None);
        assert_eq!(ts(json!("9999-12-31T23:00:00-05:00")), None);
        for garbage in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-03-30",
            "2026-03-30T01:15:00",
            "-5",
            "+5",
            "1.5",
            "1e3",
            " 1796309940000",
            "NaN",
        ] {
            assert_eq!(ts(json!(garbage)), None, "{garbage:?}");
        }
    }

    #[test]
    fn last_activity_fallback_order() {
        let updated = json!(1796309940000u64);
        assert_eq!(
            last_activity(json!({"updatedAt": updated})).as_deref(),
            Some("2026-12-03T14:59:00Z")
        );
        assert_eq!(
            last_activity(json!({"lastActivityAt": "2026-03-30T01:15:00Z", "updatedAt": updated}))
                .as_deref(),
            Some("2026-03-30T01:15:00Z")
        );
        assert_eq!(
            last_activity(json!({
                "lastActivity": 1000,
                "lastActivityAt": "2026-03-30T01:15:00Z",
                "updatedAt": updated
            }))
            .as_deref(),
            Some("1970-01-01T00:00:01Z")
        );
        assert_eq!(
            last_activity(json!({
                "lastActivity": "garbage",
                "lastActivityAt": null,
                "updatedAt": updated
            }))
            .as_deref(),
            Some("2026-12-03T14:59:00Z")
        );
        assert_eq!(last_activity(json!({"lastActivity": "garbage"})), None);
    }

    #[test]
    fn created_at() {
        let row =
            one(json!({"key": "k", "createdAt": "2026-03-30T01:15:00.123+00:00"})).expect("row");
        assert_eq!(row.created_at.as_deref(), Some("2026-03-30T01:15:00.123Z"));
        assert_eq!(row.last_activity, None);
        let row = one(json!({"key": "k", "createdAt": "soon", "updatedAt": 0})).expect("row");
        assert_eq!(row.created_at, None);
    }

    #[test]
    fn odd_rows_in_one_list() {
        let body = json!({"ok": true, "result": {"details": {"sessions": [
            {"agentId": "main"},
            {"key": 42},
            {"sessionKey": "via-session-key", "status": 5, "messageCount": "7", "turns": 3},
            {"key": "neg", "messageCount": -3, "turns": -1, "updatedAt": "2026-03-30T01:15:00+01:00"},
            {"key": "frac", "lastActivity": "2026-03-30T01:15:00.250Z", "createdAt": 1796309940000u64},
            {"key": "junk", "lastActivity": "garbage", "createdAt": 1e300, "model": 1},
            {"key": "nulls", "agentId": null, "status": null, "messageCount": null,
             "lastActivity": null, "createdAt": null, "model": null},
            "not a row"
        ]}}});
        let rows = parse(&body).expect("accepted");
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["via-session-key", "neg", "frac", "junk", "nulls"]);
        assert_eq!(
            (rows[0].status.as_str(), rows[0].message_count),
            ("active", 3)
        );
        assert_eq!(rows[1].message_count, 0);
        assert_eq!(
            rows[1].last_activity.as_deref(),
            Some("2026-03-30T00:15:00Z")
        );
        assert_eq!(
            rows[2].last_activity.as_deref(),
            Some("2026-03-30T01:15:00.250Z")
        );
        assert_eq!(rows[2].created_at.as_deref(), Some("2026-12-03T14:59:00Z"));
        assert_eq!(
            (&rows[3].last_activity, &rows[3].created_at, &rows[3].model),
            (&None, &None, &None)
        );
        assert_eq!(
            rows[4],
            Session {
                key: "nulls".into(),
                agent_id: None,
                status: "active".into(),
                message_count: 0,
                last_activity: None,
                created_at: None,
                model: None,
            }
        );
    }

    #[test]
    fn duplicate_fields_do_not_fail() {
        let rows = sessions_from_body(
            br#"{"sessions":[{"key":"a","key":"b","status":1,"status":"done"}],"sessions":[{"key":"c"}]}"#,
        )
        .expect("accepted");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].key.as_str(), rows[0].status.as_str()),
            ("c", "active")
        );
        let rows = sessions_from_body(br#"[{"key":"a","key":"b","status":1,"status":"done"}]"#)
            .expect("accepted");
        assert_eq!(
            (rows[0].key.as_str(), rows[0].status.as_str()),
            ("b", "done")
        );
    }

    #[test]
    fn session_serializes_to_exactly_seven_camel_case_keys() {
        let value = serde_json::to_value(first_real_row()).expect("serializes");
        let object = value.as_object().expect("object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "agentId",
                "createdAt",
                "key",
                "lastActivity",
                "messageCount",
                "model",
                "status"
            ]
        );
        assert_eq!(
            value,
            json!({
                "key": "agent:main:main",
                "agentId": "main",
                "status": "active",
                "messageCount": 0,
                "lastActivity": "2026-12-03T14:59:00Z",
                "createdAt": null,
                "model": "gpt-6-astra"
            })
        );
    }
}
