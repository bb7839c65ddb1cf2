//! Money: a decimal amount with its currency. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why a value is not a currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not an ISO 4217 currency code of three capital letters, such as \"EUR\"")]
pub struct CurrencyError;

/// An ISO 4217 currency code: three capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a currency code.
    pub fn parse(value: &str) -> Result<Self, CurrencyError> {
        let bytes = value.as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Self([*a, *b, *c])),
            _ => Err(CurrencyError),
        }
    }

    /// The code, e.g. `EUR`.
    pub fn code(&self) -> &str {
        // The bytes are ASCII capitals by construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in ordinary use (0 for JPY, 3 for KWD, 2 for most).
    pub fn minor_units(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// The symbol customers recognise, where there is one everybody reads the same way.
    pub fn symbol(&self) -> Option<&'static str> {
        Some(match self.code() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "RUB" => "₽",
            "JPY" => "¥",
            "INR" => "₹",
            "KZT" => "₸",
            "UAH" => "₴",
            "TRY" => "₺",
            _ => return None,
        })
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a value is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a decimal number written as a string.
    #[error("is not a decimal number written as a string, such as \"25.90\"")]
    NotDecimal,
    /// Below zero.
    #[error("must not be negative")]
    Negative,
    /// Beyond what any order totals: 10^12 or more, or more than 6 decimal places.
    #[error("must be below 1000000000000 with at most 6 decimal places")]
    OutOfRange,
}

/// A non-negative decimal amount below 10^12 with at most 6 decimal places, written in events
/// as a string ("25.90") so that no float ever touches it. The bounds keep every sum and
/// product the domain computes far inside `Decimal`'s range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Amount(Decimal);

impl Amount {
    /// Parses a decimal string: digits, an optional point and fraction, no exponent.
    pub fn parse(value: &str) -> Result<Self, AmountError> {
        let valid_shape = !value.is_empty()
            && value.chars().filter(|c| *c == '.').count() <= 1
            && value
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            && value.chars().skip(1).all(|c| c != '-');
        if !valid_shape {
            return Err(AmountError::NotDecimal);
        }
        let decimal = Decimal::from_str(value).map_err(|_| AmountError::NotDecimal)?;
        Self::from_decimal(decimal)
    }

    /// The amount.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// The largest amount accepted is just below this.
    pub const LIMIT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

    /// Checks a decimal against the bounds.
    pub fn from_decimal(value: Decimal) -> Result<Self, AmountError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(AmountError::Negative);
        }
        if value >= Self::LIMIT || value.scale() > 6 {
            return Err(AmountError::OutOfRange);
        }
        Ok(Self(value))
    }
}

impl TryFrom<String> for Amount {
    type Error = AmountError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Amount> for String {
    fn from(value: Amount) -> String {
        value.0.to_string()
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// How much.
    pub amount: Amount,
    /// Of what.
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_and_never_negative() {
        assert_eq!(
            Amount::parse("25.90").unwrap().value(),
            Decimal::new(2590, 2)
        );
        assert_eq!(Amount::parse("0").unwrap().value(), Decimal::ZERO);
        assert_eq!(Amount::parse("-1.00"), Err(AmountError::Negative));
        assert_eq!(Amount::parse("1e3"), Err(AmountError::NotDecimal));
        assert_eq!(Amount::parse("12,50"), Err(AmountError::NotDecimal));
        assert_eq!(Amount::parse(""), Err(AmountError::NotDecimal));
    }

    #[test]
    fn amounts_beyond_any_real_order_are_refused() {
        assert_eq!(Amount::LIMIT, Decimal::from(1_000_000_000_000u64));
        assert!(Amount::parse("999999999999.999999").is_ok());
        assert_eq!(Amount::parse("1000000000000"), Err(AmountError::OutOfRange));
        assert_eq!(
            Amount::parse("79228162514264337593543950335"),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(Amount::parse("1.0000001"), Err(AmountError::OutOfRange));
    }

    #[test]
    fn json_numbers_are_not_accepted_as_money() {
        let err = serde_json::from_str::<Amount>("25.9").unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn currencies_know_their_minor_units() {
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        assert_eq!(Currency::parse("RUB").unwrap().minor_units(), 2);
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
    }
}
