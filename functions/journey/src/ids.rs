//! Identifiers that arrive from the shop: customers, orders, events, stock-keeping units.
//!
//! Each identifier is parsed once at the boundary. A value of these types is never empty, never
//! longer than its limit, and never holds white space, control characters or `#` (the separator
//! of our DynamoDB keys), so it can be put into a key as it is. Order and event ids and SKUs
//! are the shop's references and are logged as they are; a customer id reaches logs only as
//! its log id (the adapters' `log_ids`), since shops may use email addresses as customer ids.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier. It never holds or repeats the string, which
/// reaches refusals and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// The string is longer than the identifier allows.
    #[error("is too long (at most {max} characters)")]
    TooLong {
        /// The limit for this identifier.
        max: usize,
    },
    /// The string holds a character identifiers may not contain.
    #[error("must not contain white space, control characters or '#'")]
    ForbiddenCharacter,
}

fn check_identifier(value: &str, max: usize) -> Result<(), IdentifierError> {
    if value.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if value.chars().count() > max {
        return Err(IdentifierError::TooLong { max });
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err(IdentifierError::ForbiddenCharacter);
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, max = $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in characters.
            pub const MAX_LEN: usize = $max;

            /// Parses an identifier: 1 to `MAX_LEN` characters, no white space, control
            /// characters or `#`.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdentifierError> {
                let value = value.into();
                check_identifier(&value, Self::MAX_LEN)?;
                Ok(Self(value))
            }

            /// The identifier as the shop sent it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentifierError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// The shop's id of a customer; all of a customer's journey is kept under it.
    CustomerId,
    max = 128
);
identifier!(
    /// The shop's id of an order, as shown to the customer ("order 1042").
    OrderId,
    max = 64
);
identifier!(
    /// The id of one order event: the idempotency key. Two deliveries with the same id are the
    /// same event, and only the first one has any effect.
    EventId,
    max = 128
);
identifier!(
    /// A stock-keeping unit: the shop's id of a product.
    Sku,
    max = 64
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_typical_shop_ids() {
        assert_eq!(
            OrderId::parse("SO-2026-1042").unwrap().as_str(),
            "SO-2026-1042"
        );
        assert!(CustomerId::parse("cus_8f3a:eu/42").is_ok());
    }

    #[test]
    fn identifiers_reject_empty_long_and_separator_characters() {
        assert_eq!(OrderId::parse(""), Err(IdentifierError::Empty));
        assert!(matches!(
            OrderId::parse("x".repeat(65)),
            Err(IdentifierError::TooLong { max: 64 })
        ));
        assert_eq!(
            EventId::parse("a#b"),
            Err(IdentifierError::ForbiddenCharacter)
        );
        assert_eq!(Sku::parse("a b"), Err(IdentifierError::ForbiddenCharacter));
        assert_eq!(
            CustomerId::parse("a\nb"),
            Err(IdentifierError::ForbiddenCharacter)
        );
    }
}
