//! Configuration from the environment, read once per cold start. A missing or malformed
//! variable is an error naming it, raised before the first event is taken.

use std::collections::BTreeSet;

use aftercare_journey::contact::EmailAddress;
use aftercare_journey::event::{AcceptedYears, WebLink};
use aftercare_journey::guardrails::{ConsentPolicy, QuietHours};
use aftercare_journey::message::MessageKind;
use aftercare_journey::settings::{Brand, Policy, Settings, SignedLinks};
use aftercare_journey::signing::SigningKey;
use aftercare_journey::text::Text;
use aftercare_journey::time_shift;

use crate::log_ids::LogIdKey;

/// A configuration variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {variable} {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// What a function takes from its configuration besides its ports (store, mailer, bus): the
/// same for every function, so each can be built on any implementation of the ports.
#[derive(Clone)]
pub struct FunctionParts {
    /// The shop's settings.
    pub settings: Settings,
    /// The wall clock leases, claims and accepted skews are measured by.
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// How long a sender holds a message it decided (`OUTBOX_LEASE_SECONDS`).
    pub outbox_lease: chrono::Duration,
    /// The years an event's dates may fall in (`ACCEPTED_YEARS`).
    pub accepted_years: AcceptedYears,
    /// How many customers' follow-ups the sweep handles at once (`SWEEP_CONCURRENCY`).
    pub sweep_lanes: usize,
}

impl FunctionParts {
    /// The parts `config` names, measured by `clock`.
    pub fn of(config: &Config, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Self {
        Self {
            settings: config.settings.clone(),
            clock,
            outbox_lease: config.outbox_lease,
            accepted_years: config.accepted_years,
            sweep_lanes: config.sweep_lanes,
        }
    }
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
    /// `SCHEDULE_RULE_ARN`: the EventBridge rule whose scheduled events the schedule function
    /// believes (it needs it; the others ignore it).
    pub schedule_rule_arn: Option<String>,
    /// `LINK_SIGNING_KEYS_SECRET`: the Secrets Manager secret holding the rating-link keys.
    pub rating_keys_secret: Option<String>,
    /// How log lines name customers: `LOG_RAW_CUSTOMER_IDS`, `LOG_ID_KEY_SECRET` or
    /// `LOG_ID_KEY` (see [`LogIdSource`]).
    pub log_ids: LogIdSource,
    /// `OUTBOX_LEASE_SECONDS` (default 120): how long a sender holds a message before the
    /// relay may take it over. Keep it below the SQS visibility timeout.
    pub outbox_lease: chrono::Duration,
    /// `ACCEPTED_YEARS` (default `2000-2100`): the years an event's dates may fall in; a date
    /// outside is refused at parsing with its field named.
    pub accepted_years: AcceptedYears,
    /// `SWEEP_CONCURRENCY` (default 4, 1 to 64): how many customers' due follow-ups one sweep
    /// handles at once. Each lane sends about ten messages a second at most; keep the stack's
    /// total within the account's SES sending rate.
    pub sweep_lanes: usize,
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
        let accepted_years = accepted_years(&get)?;
        let sweep_lanes = number(
            &get,
            "SWEEP_CONCURRENCY",
            crate::sweep::DEFAULT_LANES,
            1..=64,
        )?;
        Ok(Self {
            sweep_lanes,
            table_name,
            sender,
            configuration_set: get("SES_CONFIGURATION_SET"),
            event_bus: get("EVENT_BUS_NAME"),
            schedule_rule_arn: get("SCHEDULE_RULE_ARN"),
            rating_keys_secret: get("LINK_SIGNING_KEYS_SECRET"),
            log_ids: log_ids(&get)?,
            outbox_lease: time_shift::seconds(lease_seconds),
            accepted_years,
            settings: Settings {
                brand: Brand {
                    shop_name,
                    support_email,
                    support_url,
                    shop_url,
                },
                disabled_kinds,
                policy: policy(&get)?,
                links: links(&get)?,
                referral_bonus: get("REFERRAL_BONUS")
                    .map(|b| Text::parse(b).map_err(|e| invalid("REFERRAL_BONUS", e.to_string())))
                    .transpose()?,
            },
        })
    }
}

impl Config {
    /// The part of this configuration a function that sends nothing and signs no link reads
    /// (see [`CoreConfig`]).
    pub fn core(&self) -> CoreConfig {
        CoreConfig {
            table_name: self.table_name.clone(),
            log_ids: self.log_ids.clone(),
            accepted_years: self.accepted_years,
        }
    }
}

/// What a function reads from the environment when it only applies events to journeys and
/// sends nothing (helpdesk-events): the table, the accepted years and how log lines name
/// customers, read as [`Config`] reads them. No shop settings, no sender and no link keys: a
/// variable it does not read cannot stop it from starting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// `JOURNEY_TABLE`: the DynamoDB table of journeys.
    pub table_name: String,
    /// How log lines name customers: `LOG_RAW_CUSTOMER_IDS`, `LOG_ID_KEY_SECRET` or
    /// `LOG_ID_KEY` (see [`LogIdSource`]).
    pub log_ids: LogIdSource,
    /// `ACCEPTED_YEARS` (default `2000-2100`): the years an event's dates may fall in.
    pub accepted_years: AcceptedYears,
}

impl CoreConfig {
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
        Ok(Self {
            table_name: get("JOURNEY_TABLE")
                .ok_or_else(|| invalid("JOURNEY_TABLE", "is not set"))?,
            log_ids: log_ids(&get)?,
            accepted_years: accepted_years(&get)?,
        })
    }
}

type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `ACCEPTED_YEARS`, `FIRST-LAST` (default `2000-2100`).
fn accepted_years(get: &Lookup<'_>) -> Result<AcceptedYears, ConfigError> {
    match get("ACCEPTED_YEARS") {
        None => Ok(AcceptedYears::default()),
        Some(v) => AcceptedYears::parse(&v)
            .map_err(|e| invalid("ACCEPTED_YEARS", format!("is {v:?}; it {e}"))),
    }
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    get: &Lookup<'_>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(v) => v
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                invalid(
                    variable,
                    format!(
                        "is {v:?}; expected a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

/// `name=value` pairs separated by commas.
fn pairs(get: &Lookup<'_>, variable: &'static str) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(list) = get(variable) else {
        return Ok(Vec::new());
    };
    list.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| {
                    invalid(
                        variable,
                        format!("has {p:?}; expected name=value pairs separated by commas"),
                    )
                })
        })
        .collect()
}

fn time_of_day(text: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// The follow-up policy: every knob has a default, and a malformed one is an error naming it.
fn policy(get: &Lookup<'_>) -> Result<Policy, ConfigError> {
    let mut policy = Policy {
        review_after_days: number(get, "REVIEW_AFTER_DAYS", 3, 0..=60)?,
        review_stale_days: number(get, "REVIEW_REQUEST_STALE_DAYS", 30, 1..=3_650)?,
        repurchase_lead_days: number(get, "REPURCHASE_LEAD_DAYS", 7, 0..=60)?,
        dormant_min_days: number(get, "DORMANT_AFTER_DAYS", 90, 7..=1_000)?,
        dormant_median_factor: number(get, "DORMANT_MEDIAN_FACTOR", 3, 1..=20)?,
        reactivation_gap_days: number(get, "REACTIVATION_GAP_DAYS", 14, 1..=180)?,
        reactivation_attempts: number(get, "REACTIVATION_ATTEMPTS", 2, 0..=5)?,
        ..Policy::default()
    };
    if let Some(hours) = get("QUIET_HOURS") {
        policy.quiet_hours = if hours.eq_ignore_ascii_case("off") {
            QuietHours {
                start: chrono::NaiveTime::MIN,
                end: chrono::NaiveTime::MIN,
            }
        } else {
            let (start, end) = hours
                .split_once('-')
                .and_then(|(a, b)| Some((time_of_day(a)?, time_of_day(b)?)))
                .ok_or_else(|| {
                    invalid(
                        "QUIET_HOURS",
                        format!("is {hours:?}; expected HH:MM-HH:MM such as 21:00-09:00, or off"),
                    )
                })?;
            QuietHours { start, end }
        };
    }
    if let Some(flag) = get("QUIET_HOURS_FOR_ORDER_STATUS") {
        policy.quiet_hours_for_order_status = match flag.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            _ => {
                return Err(invalid(
                    "QUIET_HOURS_FOR_ORDER_STATUS",
                    format!("is {flag:?}; expected true or false"),
                ))
            }
        };
    }
    if let Some(cap) = get("FREQUENCY_CAP") {
        let bad = || {
            invalid(
                "FREQUENCY_CAP",
                format!(
                    "is {cap:?}; expected N/day,N/week with N from 1 to 10, such as 1/day,2/week"
                ),
            )
        };
        for part in cap.split(',') {
            let (count, window) = part.trim().split_once('/').ok_or_else(bad)?;
            // At least one, and at most the ten sends a profile remembers.
            let count: usize = count
                .trim()
                .parse()
                .ok()
                .filter(|c| (1..=10).contains(c))
                .ok_or_else(bad)?;
            match window.trim() {
                "day" => policy.cap.per_day = count,
                "week" => policy.cap.per_week = count,
                _ => return Err(bad()),
            }
        }
    }
    if let Some(consent) = get("MARKETING_CONSENT") {
        policy.consent = match consent.as_str() {
            "opt_out" => ConsentPolicy::OptOut,
            "opt_in" => ConsentPolicy::OptIn,
            _ => {
                return Err(invalid(
                    "MARKETING_CONSENT",
                    format!("is {consent:?}; expected opt_out or opt_in"),
                ))
            }
        };
    }
    for (kind, percent) in pairs(get, "HOLDOUT_PERCENT")? {
        let kind =
            MessageKind::parse(&kind).map_err(|e| invalid("HOLDOUT_PERCENT", e.to_string()))?;
        let percent = percent
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                invalid(
                    "HOLDOUT_PERCENT",
                    format!("has {percent:?} for {kind}; expected 0 to 100"),
                )
            })?;
        policy.holdout_percent.insert(kind, percent);
    }
    for (kind, window) in pairs(get, "ATTRIBUTION_DAYS")? {
        let kind =
            MessageKind::parse(&kind).map_err(|e| invalid("ATTRIBUTION_DAYS", e.to_string()))?;
        let days = window
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| {
                invalid(
                    "ATTRIBUTION_DAYS",
                    format!("has {window:?} for {kind}; expected 1 to 365 days"),
                )
            })?;
        policy.attribution_days.insert(kind, days);
    }
    for (limit, length) in pairs(get, "WATCHDOG_LIMITS")? {
        let bad = || {
            invalid(
                "WATCHDOG_LIMITS",
                format!(
                    "has {limit}={length:?}; expected a number of hours or days such as 24h or 2d"
                ),
            )
        };
        let (number, unit) = length.split_at(length.len().saturating_sub(1));
        let number: i64 = number
            .parse()
            .ok()
            .filter(|n| (1..=2_000).contains(n))
            .ok_or_else(bad)?;
        let duration = match unit {
            "h" => time_shift::hours(number),
            "d" => time_shift::days(number),
            _ => return Err(bad()),
        };
        let watchdog = &mut policy.watchdog;
        match limit.as_str() {
            "awaiting_packing" => watchdog.awaiting_packing = duration,
            "packed" => watchdog.packed = duration,
            "out_for_delivery" => watchdog.out_for_delivery = duration,
            "past_eta" => watchdog.past_eta = duration,
            "shipped_without_eta" => watchdog.shipped_without_eta = duration,
            other => {
                return Err(invalid(
                    "WATCHDOG_LIMITS",
                    format!("has {other:?}; the limits are awaiting_packing, packed, out_for_delivery, past_eta, shipped_without_eta"),
                ))
            }
        }
    }
    for (category, days) in pairs(get, "CATEGORY_CYCLE_DAYS")? {
        let days = days
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=3_650).contains(d))
            .ok_or_else(|| {
                invalid(
                    "CATEGORY_CYCLE_DAYS",
                    format!("has {days:?} for {category}; expected 1 to 3650 days"),
                )
            })?;
        policy.category_cycle_days.insert(category, days);
    }
    Ok(policy)
}

/// Where the key of customers' log ids comes from (see `crate::log_ids`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogIdSource {
    /// `LOG_RAW_CUSTOMER_IDS=true`: the shop opted into raw customer ids in its logs.
    Raw,
    /// `LOG_ID_KEY_SECRET`: the Secrets Manager secret the key is read from at cold start
    /// (`{"key": "<64 hex digits>"}`), as deployed stacks have it.
    Secret(String),
    /// `LOG_ID_KEY`: the key itself, in hex (local runs).
    Key(LogIdKey),
    /// Neither: the cold start refuses to run, rather than log customer ids raw.
    Unset,
}

/// How log lines name customers: hashed unless `LOG_RAW_CUSTOMER_IDS` is `true`, with the key
/// from `LOG_ID_KEY_SECRET` (deployed) or `LOG_ID_KEY` (local runs).
fn log_ids(get: &Lookup<'_>) -> Result<LogIdSource, ConfigError> {
    let raw = match get("LOG_RAW_CUSTOMER_IDS").map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(flag) => match flag.as_str() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            _ => {
                return Err(invalid(
                    "LOG_RAW_CUSTOMER_IDS",
                    format!("is {flag:?}; expected true or false"),
                ))
            }
        },
    };
    if raw {
        return Ok(LogIdSource::Raw);
    }
    match (get("LOG_ID_KEY"), get("LOG_ID_KEY_SECRET")) {
        (Some(_), Some(_)) => Err(invalid(
            "LOG_ID_KEY",
            "is set together with LOG_ID_KEY_SECRET; set one",
        )),
        (Some(key), None) => LogIdKey::from_hex(&key)
            .map(LogIdSource::Key)
            .map_err(|e| invalid("LOG_ID_KEY", e.to_string())),
        (None, Some(secret)) => Ok(LogIdSource::Secret(secret)),
        (None, None) => Ok(LogIdSource::Unset),
    }
}

/// Rating links: the keys that sign and verify them come from `LINK_SIGNING_KEYS` (`id:hexsecret`
/// pairs, newest first; for local runs) or, in a deployed stack, from the Secrets Manager secret
/// `LINK_SIGNING_KEYS_SECRET` (read by [`Config::load_secrets`]); `FEEDBACK_URL` is where links
/// point (functions that only verify do without it); `RATING_LINK_DAYS` (default 30) is how long
/// a link works.
fn links(get: &Lookup<'_>) -> Result<Option<SignedLinks>, ConfigError> {
    let base_url = get("FEEDBACK_URL")
        .map(|url| WebLink::parse(&url).map_err(|e| invalid("FEEDBACK_URL", e.to_string())))
        .transpose()?;
    let keys = match (get("LINK_SIGNING_KEYS"), get("LINK_SIGNING_KEYS_SECRET")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "LINK_SIGNING_KEYS",
                "is set together with LINK_SIGNING_KEYS_SECRET; set one",
            ))
        }
        (Some(keys), None) => parse_inline_keys(&keys)?,
        (None, Some(_)) => Vec::new(),
        (None, None) if base_url.is_some() => {
            return Err(invalid(
                "LINK_SIGNING_KEYS_SECRET",
                "is not set, but FEEDBACK_URL is: links cannot be signed",
            ))
        }
        (None, None) => return Ok(None),
    };
    let days = number(get, "RATING_LINK_DAYS", 30, 1..=365)?;
    Ok(Some(SignedLinks {
        base_url,
        keys,
        valid_for: time_shift::days(days),
    }))
}

fn parse_inline_keys(keys: &str) -> Result<Vec<SigningKey>, ConfigError> {
    let keys = keys
        .split(',')
        .filter(|k| !k.trim().is_empty())
        .map(|pair| {
            let (id, secret) = pair.trim().split_once(':').ok_or_else(|| {
                invalid(
                    "LINK_SIGNING_KEYS",
                    "expected id:hexsecret pairs separated by commas",
                )
            })?;
            let secret = hex::decode(secret).map_err(|_| {
                invalid(
                    "LINK_SIGNING_KEYS",
                    format!("the secret of key {id:?} is not hex"),
                )
            })?;
            SigningKey::new(id, secret)
                .map_err(|e| invalid("LINK_SIGNING_KEYS", format!("key {id:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(invalid("LINK_SIGNING_KEYS", "holds no key"));
    }
    Ok(keys)
}

impl Config {
    /// Reads what lives in secrets (the rating-link keys named by `LINK_SIGNING_KEYS_SECRET`),
    /// once per cold start. Does nothing when no secret is configured.
    pub async fn load_secrets(
        &mut self,
        clients: &crate::aws::AwsClients,
    ) -> Result<(), crate::secrets::SecretError> {
        if let (Some(secret), Some(links)) =
            (&self.rating_keys_secret, self.settings.links.as_mut())
        {
            links.keys = crate::secrets::load_keys(&clients.secrets, secret).await?;
        }
        Ok(())
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
        assert_eq!(config.log_ids, LogIdSource::Unset);
    }

    #[test]
    fn customer_ids_are_hashed_with_a_key_unless_the_shop_opts_into_raw_ids() {
        fn with(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
            let mut pairs = BASE.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_lookup(lookup(&pairs))
        }
        let key = "ab".repeat(32);
        let key = key.as_str();
        assert_eq!(
            with(&[("LOG_ID_KEY_SECRET", "stack-log-id-key")])
                .unwrap()
                .log_ids,
            LogIdSource::Secret("stack-log-id-key".into())
        );
        assert!(matches!(
            with(&[("LOG_ID_KEY", key)]).unwrap().log_ids,
            LogIdSource::Key(_)
        ));
        assert_eq!(
            with(&[("LOG_RAW_CUSTOMER_IDS", "true"), ("LOG_ID_KEY_SECRET", "s")])
                .unwrap()
                .log_ids,
            LogIdSource::Raw
        );
        assert_eq!(
            with(&[
                ("LOG_RAW_CUSTOMER_IDS", "false"),
                ("LOG_ID_KEY_SECRET", "s")
            ])
            .unwrap()
            .log_ids,
            LogIdSource::Secret("s".into())
        );
        for bad in [
            &[("LOG_ID_KEY", "abcd")][..],
            &[("LOG_ID_KEY", key), ("LOG_ID_KEY_SECRET", "s")][..],
            &[("LOG_RAW_CUSTOMER_IDS", "sometimes")][..],
        ] {
            let error = with(bad).unwrap_err();
            assert!(error.variable.starts_with("LOG_"), "{error}");
        }
    }

    #[test]
    fn policy_knobs_are_read_and_malformed_ones_named() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("QUIET_HOURS", "22:30-07:00"),
            ("FREQUENCY_CAP", "2/day,3/week"),
            ("MARKETING_CONSENT", "opt_in"),
            ("HOLDOUT_PERCENT", "review_request=10"),
            ("ATTRIBUTION_DAYS", "reactivation=45"),
            ("CATEGORY_CYCLE_DAYS", "tea=30"),
            ("WATCHDOG_LIMITS", "packed=3d,awaiting_packing=12h"),
            ("FEEDBACK_URL", "https://feedback.shop.example"),
            (
                "LINK_SIGNING_KEYS",
                "k2:0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ]);
        let policy = Config::from_lookup(lookup(&pairs)).unwrap().settings.policy;
        assert_eq!(policy.cap.per_day, 2);
        assert_eq!(policy.consent, ConsentPolicy::OptIn);
        assert_eq!(policy.holdout_percent[&MessageKind::ReviewRequest], 10);
        assert_eq!(policy.attribution_days[&MessageKind::Reactivation], 45);
        assert_eq!(
            policy.attribution_days[&MessageKind::RepurchaseReminder],
            14,
            "a kind the setting leaves out keeps its default window"
        );
        assert_eq!(policy.category_cycle_days["tea"], 30);
        assert_eq!(policy.watchdog.packed, chrono::Duration::days(3));
        assert_eq!(
            policy.watchdog.awaiting_packing,
            chrono::Duration::hours(12)
        );
        for (variable, value) in [
            ("QUIET_HOURS", "late"),
            ("FREQUENCY_CAP", "1/month"),
            ("HOLDOUT_PERCENT", "review_request=101"),
            ("ATTRIBUTION_DAYS", "reactivation=0"),
            ("ATTRIBUTION_DAYS", "sometime=14"),
            ("LINK_SIGNING_KEYS", "k2:abcd"),
            ("REVIEW_AFTER_DAYS", "-1"),
            ("WATCHDOG_LIMITS", "packed=soon"),
        ] {
            let mut bad = BASE.to_vec();
            bad.extend([
                ("FEEDBACK_URL", "https://feedback.shop.example"),
                (
                    "LINK_SIGNING_KEYS",
                    "k1:0000000000000000000000000000000000000000000000000000000000000000",
                ),
            ]);
            bad.retain(|(k, _)| *k != variable);
            bad.push((variable, value));
            assert_eq!(
                Config::from_lookup(lookup(&bad)).unwrap_err().variable,
                variable
            );
        }
    }

    #[test]
    fn the_core_configuration_needs_only_the_table_and_reads_no_link_keys() {
        // GIVEN an environment with the table and the log-id secret, and no shop settings,
        // sender or link keys
        let core = CoreConfig::from_lookup(lookup(&[
            ("JOURNEY_TABLE", "journeys"),
            ("LOG_ID_KEY_SECRET", "stack-log-id-key"),
            ("ACCEPTED_YEARS", "2020-2030"),
        ]))
        .unwrap();
        // THEN it reads them as the full configuration would
        assert_eq!(core.table_name, "journeys");
        assert_eq!(core.log_ids, LogIdSource::Secret("stack-log-id-key".into()));
        assert_eq!(
            core.accepted_years,
            AcceptedYears::parse("2020-2030").unwrap()
        );
        let mut full = BASE.to_vec();
        full.push(("LOG_ID_KEY_SECRET", "stack-log-id-key"));
        full.push(("ACCEPTED_YEARS", "2020-2030"));
        assert_eq!(Config::from_lookup(lookup(&full)).unwrap().core(), core);
        // AND a missing table or a malformed variable it reads is named
        assert_eq!(
            CoreConfig::from_lookup(lookup(&[])).unwrap_err().variable,
            "JOURNEY_TABLE"
        );
        assert_eq!(
            CoreConfig::from_lookup(lookup(&[
                ("JOURNEY_TABLE", "t"),
                ("ACCEPTED_YEARS", "soon")
            ]))
            .unwrap_err()
            .variable,
            "ACCEPTED_YEARS"
        );
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
