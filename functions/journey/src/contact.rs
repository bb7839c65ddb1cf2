//! How to reach a customer: email address, locale (and so the language we write in), time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a string is not an email address we can send to. It never holds or repeats the
/// string, which reaches refusals and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    /// Not of the form `local@domain`.
    #[error("is not an email address of the form name@domain")]
    Shape,
    /// Longer than 254 characters, or a local part longer than 64.
    #[error("is too long for an email address")]
    TooLong,
    /// Holds white space, a control character, or a character that is special in mail headers.
    #[error("contains a character an email address may not contain")]
    ForbiddenCharacter,
    /// The part after `@` is not a domain name with at least two labels.
    #[error("has an invalid domain part (after the @)")]
    Domain,
}

/// An email address we can put in a `To` header: `local@domain.tld`, at most 254 characters,
/// no white space, no control characters and none of the characters that are special in headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an email address.
    pub fn parse(value: impl Into<String>) -> Result<Self, EmailAddressError> {
        let value = value.into();
        if value.chars().count() > 254 {
            return Err(EmailAddressError::TooLong);
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        {
            return Err(EmailAddressError::ForbiddenCharacter);
        }
        let (local, domain) = value.rsplit_once('@').ok_or(EmailAddressError::Shape)?;
        if local.is_empty() || domain.is_empty() || local.contains('@') {
            return Err(EmailAddressError::Shape);
        }
        if local.chars().count() > 64 {
            return Err(EmailAddressError::TooLong);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(EmailAddressError::Domain);
        }
        Ok(Self(value))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both name the same mailbox as mail servers treat it: compared without regard to
    /// case (domains are case-insensitive; in practice so are local parts), as SES and the
    /// shop may spell one address differently.
    pub fn same_mailbox(&self, other: &EmailAddress) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }

    /// The domain part, after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// A form safe for logs: the domain only, the local part masked (`***@example.com`), as
    /// the adapters' `mask_emails` writes addresses in free text. Logs never carry a local part.
    pub fn masked(&self) -> String {
        format!("***@{}", self.domain())
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailAddressError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> String {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A language we write messages in. Every locale maps to one; unknown ones fall back to English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English, the fallback.
    En,
    /// Russian.
    Ru,
}

impl Language {
    /// The BCP 47 primary tag (`en`, `ru`), for `Content-Language` and `lang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ru => "ru",
        }
    }
}

/// Why a string is not a locale tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a locale tag like \"en\", \"en-GB\" or \"ru-RU\"")]
pub struct LocaleError;

/// A customer's locale as a BCP 47 tag (`ru-RU`, `en`, `de-AT`), normalised to `-` separators.
/// [`Locale::language`] says which of our languages to write in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    /// Parses a tag: a 2–3 letter language subtag, then any number of 1–8 character
    /// alphanumeric subtags, separated by `-` or `_`.
    pub fn parse(value: impl Into<String>) -> Result<Self, LocaleError> {
        let value = value.into().replace('_', "-");
        let mut parts = value.split('-');
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(LocaleError);
        }
        if !parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(LocaleError);
        }
        Ok(Self(value))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language we write to this customer in: Russian for `ru`, English for everything else.
    pub fn language(&self) -> Language {
        let primary = self.0.split('-').next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("ru") {
            Language::Ru
        } else {
            Language::En
        }
    }
}

impl TryFrom<String> for Locale {
    type Error = LocaleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Locale> for String {
    fn from(value: Locale) -> String {
        value.0
    }
}

/// Why a string is not a time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not an IANA time zone name such as \"Europe/Berlin\" or \"America/Los_Angeles\"")]
pub struct TimeZoneError;

/// A customer's IANA time zone. All local dates and hours are computed in it (by chrono-tz,
/// so daylight saving time is handled by the tz database, not by us).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerTimeZone(chrono_tz::Tz);

impl CustomerTimeZone {
    /// Parses an IANA zone name.
    pub fn parse(value: &str) -> Result<Self, TimeZoneError> {
        chrono_tz::Tz::from_str(value)
            .map(Self)
            .map_err(|_| TimeZoneError)
    }

    /// The zone, for conversions from local times.
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// `instant` as this zone's wall clock shows it. Total: an instant within two days of the
    /// edge of chrono's range (where a local time could fall outside it) is read two days
    /// inside, so the date and hour of any instant can be asked without a panic.
    pub fn local(self, instant: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
        let margin = crate::time_shift::days(2);
        let earliest = crate::time_shift::Shift::plus(DateTime::<Utc>::MIN_UTC, margin);
        let latest = crate::time_shift::Shift::minus(DateTime::<Utc>::MAX_UTC, margin);
        instant.clamp(earliest, latest).with_timezone(&self.0)
    }
}

impl TryFrom<String> for CustomerTimeZone {
    type Error = TimeZoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CustomerTimeZone> for String {
    fn from(value: CustomerTimeZone) -> String {
        value.0.name().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_of_ordinary_shapes_parse() {
        for ok in [
            "anna@example.com",
            "a.b+orders@mail.example.co.uk",
            "иван@пример.рф",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn email_addresses_that_could_break_headers_are_rejected() {
        assert_eq!(
            EmailAddress::parse("anna@example.com\r\nBcc: x@y.z"),
            Err(EmailAddressError::ForbiddenCharacter)
        );
        assert_eq!(
            EmailAddress::parse("Anna <anna@example.com>"),
            Err(EmailAddressError::ForbiddenCharacter)
        );
        assert_eq!(
            EmailAddress::parse("anna.example.com"),
            Err(EmailAddressError::Shape)
        );
        assert!(matches!(
            EmailAddress::parse("anna@localhost"),
            Err(EmailAddressError::Domain)
        ));
        assert!(matches!(
            EmailAddress::parse("anna@-bad.com"),
            Err(EmailAddressError::Domain)
        ));
    }

    #[test]
    fn masked_address_keeps_only_the_domain() {
        assert_eq!(
            EmailAddress::parse("anna@example.com").unwrap().masked(),
            "***@example.com"
        );
    }

    #[test]
    fn locale_picks_russian_for_ru_and_english_otherwise() {
        assert_eq!(Locale::parse("ru_RU").unwrap().language(), Language::Ru);
        assert_eq!(Locale::parse("ru").unwrap().as_str(), "ru");
        assert_eq!(Locale::parse("de-AT").unwrap().language(), Language::En);
        assert!(Locale::parse("russian!").is_err());
        assert!(Locale::parse("").is_err());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(CustomerTimeZone::parse("Asia/Yekaterinburg").is_ok());
        assert_eq!(CustomerTimeZone::parse("Mars/Olympus"), Err(TimeZoneError));
    }
}
