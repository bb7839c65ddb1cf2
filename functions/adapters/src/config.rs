//! Configuration from the environment, read once per cold start. A missing or malformed
//! variable is an error naming it, raised before the first event is taken.

use std::collections::BTreeSet;

use aftercare_journey::contact::EmailAddress;
use aftercare_journey::event::WebLink;
use aftercare_journey::message::MessageKind;
use aftercare_journey::settings::{Brand, Settings};
use aftercare_journey::text::Text;

/// A configuration variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {variable} {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Everything the functions read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `JOURNEY_TABLE`: the DynamoDB table of journeys.
    pub table_name: String,
    /// `SENDER_EMAIL`: the `From` address; it must belong to a verified SES identity.
    pub sender: EmailAddress,
    /// `SES_CONFIGURATION_SET`: the configuration set every message is sent with, if any.
    pub configuration_set: Option<String>,
    /// `EVENT_BUS_NAME`: the EventBridge bus handoffs are published on (the schedule function
    /// needs it).
    pub event_bus: Option<String>,
    /// `OUTBOX_LEASE_SECONDS` (default 120): how long a sender holds a message before the
    /// relay may take it over. Keep it below the SQS visibility timeout.
    pub outbox_lease: chrono::Duration,
    /// The domain's settings: `SHOP_NAME`, `SUPPORT_EMAIL` (also the `Reply-To`),
    /// `SUPPORT_URL` (optional) and `DISABLED_MESSAGE_KINDS` (comma-separated kinds).
    pub settings: Settings,
}

impl Config {
    /// Reads the process environment.
    pub fn from_environment() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (a variable name to its value); empty values
    /// count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError {
                variable: name,
                problem: "is not set".to_owned(),
            })
        };
        let invalid = |variable: &'static str, problem: String| ConfigError { variable, problem };

        let table_name = required("JOURNEY_TABLE")?;
        let sender = EmailAddress::parse(required("SENDER_EMAIL")?)
            .map_err(|e| invalid("SENDER_EMAIL", e.to_string()))?;
        let shop_name =
            Text::parse(required("SHOP_NAME")?).map_err(|e| invalid("SHOP_NAME", e.to_string()))?;
        let support_email = EmailAddress::parse(required("SUPPORT_EMAIL")?)
            .map_err(|e| invalid("SUPPORT_EMAIL", e.to_string()))?;
        let support_url = get("SUPPORT_URL")
            .map(|u| WebLink::parse(&u).map_err(|e| invalid("SUPPORT_URL", e.to_string())))
            .transpose()?;
        let shop_url = get("SHOP_URL")
            .map(|u| WebLink::parse(&u).map_err(|e| invalid("SHOP_URL", e.to_string())))
            .transpose()?;
        let disabled_kinds = match get("DISABLED_MESSAGE_KINDS") {
            None => BTreeSet::new(),
            Some(list) => list
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .map(|k| {
                    MessageKind::parse(k)
                        .map_err(|e| invalid("DISABLED_MESSAGE_KINDS", e.to_string()))
                })
                .collect::<Result<_, _>>()?,
        };
        let lease_seconds = match get("OUTBOX_LEASE_SECONDS") {
            None => 120,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|s| (10..=3_600).contains(s))
                .ok_or_else(|| {
                    invalid(
                        "OUTBOX_LEASE_SECONDS",
                        format!("is {v:?}; expected whole seconds from 10 to 3600"),
                    )
                })?,
        };
        Ok(Self {
            table_name,
            sender,
            configuration_set: get("SES_CONFIGURATION_SET"),
            event_bus: get("EVENT_BUS_NAME"),
            outbox_lease: chrono::Duration::seconds(lease_seconds),
            settings: Settings {
                brand: Brand {
                    shop_name,
                    support_email,
                    support_url,
                    shop_url,
                },
                disabled_kinds,
                policy: aftercare_journey::settings::Policy::default(),
                rating_links: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 4] = [
        ("JOURNEY_TABLE", "journeys"),
        ("SENDER_EMAIL", "orders@shop.example"),
        ("SHOP_NAME", "Leaf & Kettle"),
        ("SUPPORT_EMAIL", "help@shop.example"),
    ];

    #[test]
    fn a_minimal_environment_gives_defaults() {
        let config = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(config.outbox_lease, chrono::Duration::seconds(120));
        assert!(config.settings.disabled_kinds.is_empty());
        assert_eq!(config.configuration_set, None);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = Config::from_lookup(lookup(&BASE[..3])).unwrap_err();
        assert_eq!(err.variable, "SUPPORT_EMAIL");
    }

    #[test]
    fn switched_off_kinds_are_parsed_and_unknown_ones_refused() {
        let mut pairs = BASE.to_vec();
        pairs.push(("DISABLED_MESSAGE_KINDS", "order_confirmed, order_packed"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert!(!config.settings.is_enabled(MessageKind::OrderPacked));
        pairs.push(("DISABLED_MESSAGE_KINDS", "order_teleported"));
        let pairs: Vec<_> = pairs
            .into_iter()
            .filter(|(k, v)| *k != "DISABLED_MESSAGE_KINDS" || *v == "order_teleported")
            .collect();
        assert_eq!(
            Config::from_lookup(lookup(&pairs)).unwrap_err().variable,
            "DISABLED_MESSAGE_KINDS"
        );
    }
}
