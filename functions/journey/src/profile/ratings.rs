//! The records of a customer's answers: their ratings (score and comment) and the issues an
//! unhappy answer opened. The `answers` stage fills them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::OrderId;

/// Why a value is not a score.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a score is a whole number from 1 to 5")]
pub struct ScoreError;

/// A rating from 1 (poor) to 5 (excellent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    /// Checks the range.
    pub fn new(value: u8) -> Result<Self, ScoreError> {
        (1..=5)
            .contains(&value)
            .then_some(Self(value))
            .ok_or(ScoreError)
    }

    /// Parses the `score` of a link.
    pub fn parse(value: &str) -> Result<Self, ScoreError> {
        value
            .trim()
            .parse::<u8>()
            .map_err(|_| ScoreError)
            .and_then(Self::new)
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// How the customer feels.
    pub fn sentiment(self) -> Sentiment {
        match self.0 {
            1 | 2 => Sentiment::Unhappy,
            3 => Sentiment::Neutral,
            _ => Sentiment::Happy,
        }
    }
}

impl TryFrom<u8> for Score {
    type Error = ScoreError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Score> for u8 {
    fn from(value: Score) -> u8 {
        value.0
    }
}

/// How a score reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    /// 4 or 5.
    Happy,
    /// 3.
    Neutral,
    /// 1 or 2.
    Unhappy,
}

/// Why a comment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentError {
    /// Nothing but white space.
    #[error("the comment is empty")]
    Blank,
    /// Over [`Comment::MAX_LEN`] characters.
    #[error("the comment is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Holds a control character other than a line break or a tab.
    #[error("the comment contains a control character")]
    ControlCharacter,
}

/// A customer's comment: 1 to [`Comment::MAX_LEN`] characters; line breaks allowed, other
/// control characters not. Escaped wherever it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Comment(String);

impl Comment {
    /// The longest comment accepted.
    pub const MAX_LEN: usize = 2_000;

    /// Parses a comment, trimming white space at both ends.
    pub fn parse(value: &str) -> Result<Self, CommentError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(CommentError::Blank);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(CommentError::TooLong { max: Self::MAX_LEN });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(CommentError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Comment {
    type Error = CommentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Comment> for String {
    fn from(value: Comment) -> String {
        value.0
    }
}

impl fmt::Display for Comment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's rating of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// The latest score.
    pub score: Score,
    /// Their comment, if they left one.
    pub comment: Option<Comment>,
    /// When they first answered.
    pub first_at: DateTime<Utc>,
    /// When they last changed it.
    pub updated_at: DateTime<Utc>,
}

/// An unhappy answer waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIssue {
    /// The order it is about.
    pub order_id: OrderId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// The score that opened it.
    pub score: Score,
    /// What the customer said.
    pub comment: Option<Comment>,
}

/// An issue a person resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedIssue {
    /// The order it was about.
    pub order_id: OrderId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: DateTime<Utc>,
    /// How long it took, in seconds.
    pub seconds_to_resolution: i64,
}
