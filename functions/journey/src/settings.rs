//! What a shop configures that the domain needs: who it is, how to reach a person, which
//! message kinds are on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveTime};

use crate::contact::EmailAddress;
use crate::event::WebLink;
use crate::guardrails::{ConsentPolicy, FrequencyCap, QuietHours};
use crate::message::MessageKind;
use crate::signing::SigningKey;
use crate::text::Text;

/// The shop as its customers know it, and how they reach a person there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The shop's name as customers know it.
    pub shop_name: Text,
    /// A monitored inbox. Replies go here (it is the `Reply-To`), and every message names it.
    pub support_email: EmailAddress,
    /// A help page, if the shop has one; every message links it.
    pub support_url: Option<WebLink>,
    /// The shop's front page, where "order again" buttons lead, if configured.
    pub shop_url: Option<WebLink>,
}

/// The domain's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The shop.
    pub brand: Brand,
    /// Message kinds switched off: decisions for them are recorded, nothing is sent.
    pub disabled_kinds: BTreeSet<MessageKind>,
    /// When follow-ups fall due and which guardrails they pass.
    pub policy: Policy,
    /// Where rating links point and the keys that sign them; review requests need it.
    pub links: Option<SignedLinks>,
    /// What a referral gives, in words ("€10 off for you and your friend"); without it, happy
    /// customers get thanks and no referral invitation.
    pub referral_bonus: Option<Text>,
}

/// Where signed links (rating, preferences, unsubscribe) go and how they are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLinks {
    /// The feedback endpoint's root; rating links are `<base>/rate?token=...&score=N`,
    /// preferences links `<base>/unsubscribe?token=...`. Only functions that sign links need
    /// it; the endpoint itself only verifies.
    pub base_url: Option<WebLink>,
    /// The keys: the first signs new links, all of them verify.
    pub keys: Vec<SigningKey>,
    /// How long a link works.
    pub valid_for: Duration,
}

impl SignedLinks {
    /// `<base><path>?<query>`, the query form-encoded, keeping any path the base has (an API
    /// stage such as `/prod`). `None` without a base.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Option<String> {
        let base = self.base_url.as_ref()?;
        let mut url = url::Url::parse(base.as_str()).ok()?;
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Some(url.into())
    }

    /// The key new links are signed with: the first.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.keys.first()
    }
}

/// How long an order may stay in one status before the watchdog speaks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogLimits {
    /// In `placed` or `confirmed` (default 24 hours).
    pub awaiting_packing: Duration,
    /// In `packed` (default 48 hours).
    pub packed: Duration,
    /// In `out_for_delivery` (default 12 hours).
    pub out_for_delivery: Duration,
    /// `shipped` or `delayed`, this long past the expected date (default 1 day).
    pub past_eta: Duration,
    /// `shipped` with no expected date (default 7 days).
    pub shipped_without_eta: Duration,
}

impl Default for WatchdogLimits {
    fn default() -> Self {
        Self {
            awaiting_packing: Duration::hours(24),
            packed: Duration::hours(48),
            out_for_delivery: Duration::hours(12),
            past_eta: Duration::days(1),
            shipped_without_eta: Duration::days(7),
        }
    }
}

/// When follow-ups fall due, and the guardrails every message but order-status news passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Days after delivery a review is asked for (default 3).
    pub review_after_days: i64,
    /// Days after delivery a review request still goes (default 30): one the frequency cap or
    /// quiet hours kept waiting longer is cancelled, as the customer hardly remembers the order.
    pub review_stale_days: i64,
    /// The local time review requests, repurchase reminders and reactivation are planned for
    /// (default 10:00).
    pub send_time: NaiveTime,
    /// The local time of the delivery reminder, the day before the expected date (default 17:00).
    pub reminder_time: NaiveTime,
    /// Days before the expected run-out a repurchase reminder goes (default 7).
    pub repurchase_lead_days: i64,
    /// Days a unit lasts, per category, for items that do not say (default none).
    pub category_cycle_days: BTreeMap<String, u32>,
    /// Dormant after at least this many days without an order (default 90)...
    pub dormant_min_days: i64,
    /// ...or this many times the customer's median interval between orders, if longer (default 3).
    pub dormant_median_factor: i64,
    /// Days between reactivation attempts (default 14).
    pub reactivation_gap_days: i64,
    /// Reactivation attempts before giving up (default 2).
    pub reactivation_attempts: u32,
    /// When the watchdog speaks up.
    pub watchdog: WatchdogLimits,
    /// Quiet hours in the customer's zone (default 21:00–09:00).
    pub quiet_hours: QuietHours,
    /// Whether order-status news also waits for the quiet hours to end (default no).
    pub quiet_hours_for_order_status: bool,
    /// The cap on non-transactional messages (default 1 a day, 2 in 7 days).
    pub cap: FrequencyCap,
    /// What marketing needs (default: not opted out).
    pub consent: ConsentPolicy,
    /// Percentage of customers per kind who get nothing, to measure uplift (default 0).
    pub holdout_percent: BTreeMap<MessageKind, u8>,
    /// Days after a touch of each kind (the message sent, or withheld from a holdout customer)
    /// in which an order is attributed to it; a kind without a window is never attributed
    /// (default: repurchase reminder and review request, with the referral invitation that
    /// follows a happy rating, 14; reactivation 30).
    pub attribution_days: BTreeMap<MessageKind, u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            review_after_days: 3,
            review_stale_days: 30,
            send_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN),
            reminder_time: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
            repurchase_lead_days: 7,
            category_cycle_days: BTreeMap::new(),
            dormant_min_days: 90,
            dormant_median_factor: 3,
            reactivation_gap_days: 14,
            reactivation_attempts: 2,
            watchdog: WatchdogLimits::default(),
            quiet_hours: QuietHours::default(),
            quiet_hours_for_order_status: false,
            cap: FrequencyCap::default(),
            consent: ConsentPolicy::default(),
            holdout_percent: BTreeMap::new(),
            attribution_days: BTreeMap::from([
                (MessageKind::RepurchaseReminder, 14),
                (MessageKind::Reactivation, 30),
                (MessageKind::ReviewRequest, 14),
                (MessageKind::ReferralInvitation, 14),
            ]),
        }
    }
}

impl Settings {
    /// Whether messages of this kind may be sent at all.
    pub fn is_enabled(&self, kind: MessageKind) -> bool {
        !self.disabled_kinds.contains(&kind)
    }
}
