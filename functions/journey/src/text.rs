//! Free text from the shop: names, item names, carriers, delay reasons.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not acceptable free text. It never holds or repeats the text, which
/// reaches refusals and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but white space.
    #[error("must not be blank")]
    Blank,
    /// Longer than [`Text::MAX_LEN`].
    #[error("is too long (at most {max} characters)")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Holds a control character (a line break, a tab, a NUL...).
    #[error("must not contain control characters such as line breaks")]
    ControlCharacter,
}

/// One line of human-readable text: not blank, at most [`Text::MAX_LEN`] characters, no control
/// characters. Because line breaks cannot occur, a `Text` is safe in a mail header; it is still
/// escaped wherever it is put into HTML.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    /// The longest text accepted, in characters.
    pub const MAX_LEN: usize = 500;

    /// Parses text, trimming white space at both ends.
    pub fn parse(value: impl Into<String>) -> Result<Self, TextError> {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(TextError::Blank);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(TextError::TooLong { max: Self::MAX_LEN });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TextError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Text> for String {
    fn from(value: Text) -> String {
        value.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_rejects_line_breaks() {
        assert_eq!(
            Text::parse("  DHL Express ").unwrap().as_str(),
            "DHL Express"
        );
        assert_eq!(Text::parse("   "), Err(TextError::Blank));
        assert_eq!(
            Text::parse("a\r\nBcc: x@y.z"),
            Err(TextError::ControlCharacter)
        );
        assert!(matches!(
            Text::parse("x".repeat(501)),
            Err(TextError::TooLong { .. })
        ));
    }
}
