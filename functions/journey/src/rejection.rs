//! What a refusal says about bad input: the path of the field at fault in our schema and the
//! kind of problem, in our own words only.
//!
//! Refusals are logged, and what a sender wrote may be personal data (an address, a phone
//! number, a street), also where it does not belong: inside quotes in a number's place, as an
//! unknown status, as an object key. So a refusal is never built from serde's message or from
//! any value. A serde error is only *classified* by its fixed template into a [`Problem`], and
//! its path is rebuilt from the field names our schema knows (a [`KnownFields`] list) and array
//! indices; any other path component (a map key, a field name we do not know) becomes
//! [`UNKNOWN_KEY`].

use std::fmt;

/// The placeholder for a path component the sender chose (a map key, a field name the schema
/// does not know): it is never written out, since it may be anything.
pub const UNKNOWN_KEY: &str = "<key>";

/// How our own validation errors that mean "too long" begin their message. A deserialization
/// error whose message starts so is classified as [`Problem::TooLong`].
pub const TOO_LONG: &str = "is too long";

/// The field names of one schema (every struct field and every alias the parser reads, in the
/// spelling of the wire). Only these appear in a refusal's path.
pub type KnownFields = &'static [&'static str];

/// The JSON type a field takes, as a refusal names it. It comes from the parser's own
/// expectation, never from the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A JSON string.
    String,
    /// A JSON integer.
    WholeNumber,
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// A string holding an RFC 3339 date and time with an offset.
    DateTime,
    /// A string holding a date, `YYYY-MM-DD`.
    Date,
}

impl Expected {
    /// The expectation serde states at the end of an "invalid type" message (`expected u32`,
    /// `expected struct Money`), if it is one we know. Only our fixed words come out.
    fn of_serde(expectation: &str) -> Option<Self> {
        Some(match expectation {
            "a string" | "string" | "string or map" | "a borrowed string" => Expected::String,
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
            | "i128" | "isize" => Expected::WholeNumber,
            "f32" | "f64" => Expected::Number,
            "a boolean" => Expected::Boolean,
            "a map" => Expected::Object,
            "a sequence" => Expected::Array,
            "an RFC 3339 formatted date and time string" => Expected::DateTime,
            "a formatted date string" => Expected::Date,
            other => match other.strip_prefix("struct ") {
                Some(name) if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    Expected::Object
                }
                _ => return None,
            },
        })
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::String => "a string",
            Expected::WholeNumber => "a whole number",
            Expected::Number => "a number",
            Expected::Boolean => "true or false",
            Expected::Object => "an object",
            Expected::Array => "an array",
            Expected::DateTime => "an RFC 3339 date and time with an offset",
            Expected::Date => "a date (YYYY-MM-DD)",
        })
    }
}

/// What is wrong with a field. Every variant's words are ours; the only numbers in them are
/// our own limits and, for a body that is not JSON, where the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The field is absent.
    Missing,
    /// The value is of another JSON type than the field takes (`expected`, when we know it).
    WrongType {
        /// What the field takes.
        expected: Option<Expected>,
    },
    /// Not one of the values the field takes (an unknown status).
    UnknownValue,
    /// Longer than the field allows.
    TooLong,
    /// Not a valid value for the field: a malformed address, an unknown time zone, a number
    /// out of range.
    NotValid,
    /// Not JSON; where the parser stopped.
    MalformedJson {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
    },
    /// More than `limit` of `what` (bytes of a body, lines of an order).
    MoreThan {
        /// Our limit.
        limit: usize,
        /// What is counted, in words.
        what: &'static str,
    },
    /// Not the one value this function takes (a `detail-type`, a `source`).
    MustBe(&'static str),
    /// An instant more than `hours` ahead of the function's own clock.
    AheadOfClock {
        /// How far ahead an instant may be.
        hours: i64,
    },
    /// A date outside the accepted years (see [`crate::event::AcceptedYears`]).
    OutsideYears {
        /// The first year accepted.
        first: i32,
        /// The last year accepted.
        last: i32,
    },
    /// One of our own rules across fields, in our words.
    Rule(&'static str),
}

impl Problem {
    /// Classifies the message of a deserialization error by serde's fixed templates (`missing
    /// field`, `invalid type: …, expected …`, `unknown variant`, `invalid value`) and our own
    /// [`TOO_LONG`]; anything else is [`Problem::NotValid`]. Nothing of the message comes out
    /// but the choice among our words.
    pub fn of_serde_message(message: &str) -> Self {
        if message.starts_with("missing field `") {
            Problem::Missing
        } else if message.starts_with("invalid type: ") {
            // serde writes what it expected last; a value quoted before it cannot move it.
            let expected = message
                .rsplit_once(", expected ")
                .and_then(|(_, expectation)| Expected::of_serde(expectation));
            Problem::WrongType { expected }
        } else if message.starts_with("unknown variant `") {
            Problem::UnknownValue
        } else if message.starts_with(TOO_LONG) {
            Problem::TooLong
        } else {
            Problem::NotValid
        }
    }
}

impl From<&'static str> for Problem {
    fn from(rule: &'static str) -> Self {
        Problem::Rule(rule)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("is required"),
            Problem::WrongType {
                expected: Some(expected),
            } => write!(f, "must be {expected}"),
            Problem::WrongType { expected: None } => f.write_str("has the wrong type"),
            Problem::UnknownValue => f.write_str("is not one of the accepted values"),
            Problem::TooLong => f.write_str(TOO_LONG),
            Problem::NotValid => f.write_str("is not valid"),
            Problem::MalformedJson { line, column } => {
                write!(f, "is not valid JSON (line {line}, column {column})")
            }
            Problem::MoreThan { limit, what } => write!(f, "has more than {limit} {what}"),
            Problem::MustBe(value) => write!(f, "must be \"{value}\""),
            Problem::AheadOfClock { hours } => write!(
                f,
                "is more than {hours} hours ahead of this function's clock"
            ),
            Problem::OutsideYears { first, last } => {
                write!(f, "is outside the accepted years {first} to {last}")
            }
            Problem::Rule(rule) => f.write_str(rule),
        }
    }
}

/// Joins a prefix (`detail`, or `""` for the body itself) and a path below it; an empty whole
/// is `body`.
pub fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "body".to_owned(),
        (true, false) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// The path of a deserialization error, rebuilt from `known` field names and array indices
/// (`items[2].quantity`); a component outside `known` is [`UNKNOWN_KEY`]. For a missing field,
/// its own name is appended, by the same rule.
pub fn field_path(
    path: &serde_path_to_error::Path,
    problem_message: &str,
    known: KnownFields,
) -> String {
    let name = |key: &str| {
        if known.contains(&key) {
            key.to_owned()
        } else {
            UNKNOWN_KEY.to_owned()
        }
    };
    let mut out = String::new();
    let push_name = |out: &mut String, key: &str| {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&name(key));
    };
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => push_name(&mut out, key),
            serde_path_to_error::Segment::Enum { variant } => push_name(&mut out, variant),
            serde_path_to_error::Segment::Unknown => push_name(&mut out, UNKNOWN_KEY),
        }
    }
    if let Some(rest) = problem_message.strip_prefix("missing field `") {
        push_name(&mut out, rest.split('`').next().unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::HashMap;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        quantity: u32,
        tags: HashMap<String, u32>,
        when: Option<chrono::NaiveDate>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Order {
        lines: Vec<Line>,
    }

    const KNOWN: KnownFields = &["lines", "quantity", "tags", "when"];

    fn refusal(value: serde_json::Value) -> (String, Problem) {
        let error = serde_path_to_error::deserialize::<_, Order>(value).unwrap_err();
        let message = error.inner().to_string();
        (
            field_path(error.path(), &message, KNOWN),
            Problem::of_serde_message(&message),
        )
    }

    #[test]
    fn a_wrong_type_names_what_the_field_takes_and_never_the_value() {
        let (path, problem) =
            refusal(json!({"lines": [{"quantity": "x\"emily@example.com\"x", "tags": {}}]}));
        assert_eq!(path, "lines[0].quantity");
        assert_eq!(problem.to_string(), "must be a whole number");
        let (_, problem) = refusal(json!({"lines": [{"quantity": 41_555_501_230u64, "tags": {}}]}));
        assert_eq!(problem, Problem::NotValid);
    }

    #[test]
    fn a_value_that_imitates_serdes_words_cannot_choose_them() {
        let (_, problem) =
            refusal(json!({"lines": [{"quantity": "x, expected a boolean", "tags": {}}]}));
        assert_eq!(
            problem,
            Problem::WrongType {
                expected: Some(Expected::WholeNumber)
            }
        );
    }

    #[test]
    fn a_map_key_from_the_sender_is_never_written_into_the_path() {
        let (path, problem) =
            refusal(json!({"lines": [{"quantity": 1, "tags": {"emily@example.com": "x"}}]}));
        assert_eq!(path, "lines[0].tags.<key>");
        assert!(matches!(problem, Problem::WrongType { .. }));
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_path() {
        let (path, problem) = refusal(json!({"lines": [{"tags": {}}]}));
        assert_eq!(path, "lines[0].quantity");
        assert_eq!(problem, Problem::Missing);
        assert_eq!(problem.to_string(), "is required");
    }

    #[test]
    fn a_date_that_does_not_parse_is_not_valid_and_a_number_in_its_place_must_be_a_date() {
        let (path, problem) =
            refusal(json!({"lines": [{"quantity": 1, "tags": {}, "when": "1600 Amphitheatre"}]}));
        assert_eq!(path, "lines[0].when");
        assert_eq!(problem, Problem::NotValid);
        let (_, problem) = refusal(json!({"lines": [{"quantity": 1, "tags": {}, "when": 5}]}));
        assert_eq!(problem.to_string(), "must be a date (YYYY-MM-DD)");
    }

    #[test]
    fn our_own_too_long_errors_are_classified_as_too_long() {
        assert_eq!(
            Problem::of_serde_message("is too long (at most 64 characters)"),
            Problem::TooLong
        );
        assert_eq!(
            Problem::of_serde_message("unknown variant `emily@example.com`, expected one of `a`"),
            Problem::UnknownValue
        );
    }
}
