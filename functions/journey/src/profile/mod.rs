//! What we keep about a customer: their profile, and every record it stores for the stages of
//! the journey (ratings and issues, consent and suppression, the planned follow-ups' index).
//!
//! These are core types: they import no rule module. The rules that fill the records live by
//! stage (`answers`, `consent`, `follow_ups`, `order_status`) and import them from here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::{CustomerTimeZone, EmailAddress, Locale};
use crate::event::CustomerDetails;
use crate::ids::{CustomerId, Sku};
use crate::money::{Amount, Currency, Money};
use crate::text::Text;

mod consent;
mod instants;
mod planned;
mod ratings;
mod touches;

pub use consent::{
    ComplaintRecord, MailTopic, OptOut, OptOutSource, SoftBounce, Suppression, SuppressionReason,
    UnknownTopic, SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_WINDOW_DAYS,
};
pub use planned::{CancelledFollowUp, FollowUpKind, PendingFollowUp};
pub use ratings::{
    Comment, CommentError, OpenIssue, Rating, ResolvedIssue, Score, ScoreError, Sentiment,
};
pub use touches::{Touch, TouchBy};

/// What we know of a customer: contact details and how they have bought so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The shop's customer id.
    pub customer_id: CustomerId,
    /// Where messages go.
    pub email: EmailAddress,
    /// How to address them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Text>,
    /// Their locale.
    pub locale: Locale,
    /// Their time zone.
    pub time_zone: CustomerTimeZone,
    /// Marketing consent as the shop last told us; `None` when never told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_consent: Option<bool>,
    /// How many orders we have seen (cancelled ones included).
    pub orders_count: u32,
    /// Amount spent per currency: totals of their orders, less cancelled ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spent: BTreeMap<Currency, Amount>,
    /// When their first order was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_order_at: Option<DateTime<Utc>>,
    /// When their second order was placed (the second earliest seen), if they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_order_at: Option<DateTime<Utc>>,
    /// When their latest order was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_order_at: Option<DateTime<Utc>>,
    /// The time of the newest event whose contact details we took.
    pub contact_as_of: DateTime<Utc>,
    /// When each order was placed, oldest first (the newest [`Profile::ORDER_TIMES_KEPT`]).
    #[serde(
        default,
        with = "instants::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub order_times: Vec<DateTime<Utc>>,
    /// When each product was bought, oldest first (the newest
    /// [`Profile::PURCHASES_KEPT_PER_PRODUCT`] of the [`Profile::PRODUCTS_KEPT`] products
    /// bought most recently).
    #[serde(
        default,
        with = "instants::by_key",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub sku_purchases: BTreeMap<Sku, Vec<DateTime<Utc>>>,
    /// Units bought per category, for the favourite category (the
    /// [`Profile::CATEGORIES_KEPT`] categories with the most units).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub category_units: BTreeMap<String, u32>,
    /// The names of the last items bought, newest last (at most 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_items: Vec<Text>,
    /// When non-transactional messages went out, newest last (at most 10): the frequency cap.
    #[serde(
        default,
        with = "instants::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub engagement_sent: Vec<DateTime<Utc>>,
    /// The follow-ups planned for this customer, by key, so that a decision can move or cancel
    /// them without reading them first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub follow_ups: BTreeMap<String, PendingFollowUp>,
    /// An unhappy answer a person has not resolved yet: while it is open, nothing promotional
    /// goes out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_issue: Option<OpenIssue>,
    /// Issues resolved, newest last (at most 10), with their time to resolution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_issues: Vec<ResolvedIssue>,
    /// Topics the customer switched off, and how.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unsubscribed: BTreeMap<MailTopic, OptOut>,
    /// An address that bounced for good: nothing is sent to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// Transient bounces, newest last (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub soft_bounces: Vec<SoftBounce>,
    /// Messages the customer marked as spam, newest last (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complaints: Vec<ComplaintRecord>,
    /// The last touch of each kind an order can be attributed to (one per kind, so bounded by
    /// the kinds): the message sent, or the holdout decision that withheld it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub touches: BTreeMap<crate::message::MessageKind, Touch>,
}

impl Profile {
    /// A profile for a customer we have not seen before, with no orders yet.
    pub fn new(customer: &CustomerDetails, now: DateTime<Utc>) -> Self {
        Self {
            customer_id: customer.id.clone(),
            email: customer.email.clone(),
            name: customer.name.clone(),
            locale: customer.locale.clone(),
            time_zone: customer.time_zone,
            marketing_consent: customer.marketing_consent,
            orders_count: 0,
            spent: BTreeMap::new(),
            first_order_at: None,
            second_order_at: None,
            last_order_at: None,
            contact_as_of: now,
            order_times: Vec::new(),
            sku_purchases: BTreeMap::new(),
            category_units: BTreeMap::new(),
            recent_items: Vec::new(),
            engagement_sent: Vec::new(),
            follow_ups: BTreeMap::new(),
            open_issue: None,
            resolved_issues: Vec::new(),
            unsubscribed: BTreeMap::new(),
            suppression: None,
            soft_bounces: Vec::new(),
            complaints: Vec::new(),
            touches: BTreeMap::new(),
        }
    }

    /// How many order times are kept for the median interval.
    pub const ORDER_TIMES_KEPT: usize = 24;
    /// How many products' purchase times are kept: the most recently bought.
    pub const PRODUCTS_KEPT: usize = 24;
    /// How many purchase times are kept per product (the newest): enough for the median
    /// interval of the last five.
    pub const PURCHASES_KEPT_PER_PRODUCT: usize = 6;
    /// How many categories' unit counts are kept: those with the most units.
    pub const CATEGORIES_KEPT: usize = 16;
    /// How many currencies' amounts spent are kept; an order in a further currency is not
    /// added to the amounts.
    pub const CURRENCIES_KEPT: usize = 16;

    /// Records an order placed at `at` with `items`: order times, product history, category
    /// counts and recent item names, each bounded, so the profile stays the same size however
    /// long the customer's history grows.
    pub fn record_purchase(&mut self, at: DateTime<Utc>, items: &[crate::event::LineItem]) {
        push_bounded(&mut self.order_times, at, Self::ORDER_TIMES_KEPT);
        for item in items {
            push_bounded(
                self.sku_purchases.entry(item.sku.clone()).or_default(),
                at,
                Self::PURCHASES_KEPT_PER_PRODUCT,
            );
            if let Some(category) = &item.category {
                *self
                    .category_units
                    .entry(category.as_str().to_owned())
                    .or_default() += item.quantity.get();
            }
            self.recent_items.retain(|name| name != &item.name);
            self.recent_items.push(item.name.clone());
            if self.recent_items.len() > 5 {
                self.recent_items.remove(0);
            }
        }
        while self.sku_purchases.len() > Self::PRODUCTS_KEPT {
            // The product bought least recently goes first (by name among equals).
            let Some(oldest) = self
                .sku_purchases
                .iter()
                .min_by_key(|(sku, times)| (times.last().copied(), (*sku).clone()))
                .map(|(sku, _)| sku.clone())
            else {
                break;
            };
            self.sku_purchases.remove(&oldest);
        }
        while self.category_units.len() > Self::CATEGORIES_KEPT {
            // The category with the fewest units goes first (the last by name among equals).
            let Some(fewest) = self
                .category_units
                .iter()
                .min_by_key(|(name, units)| (**units, std::cmp::Reverse((*name).clone())))
                .map(|(name, _)| name.clone())
            else {
                break;
            };
            self.category_units.remove(&fewest);
        }
    }

    /// The category the customer bought most units of, if any.
    pub fn favourite_category(&self) -> Option<&str> {
        self.category_units
            .iter()
            .max_by_key(|(name, units)| (**units, std::cmp::Reverse(*name)))
            .map(|(n, _)| n.as_str())
    }

    /// Takes the contact details of an event unless we already hold newer ones.
    pub fn take_contact(&mut self, customer: &CustomerDetails, as_of: DateTime<Utc>) {
        if as_of < self.contact_as_of {
            return;
        }
        self.email = customer.email.clone();
        if customer.name.is_some() {
            self.name = customer.name.clone();
        }
        self.locale = customer.locale.clone();
        self.time_zone = customer.time_zone;
        if customer.marketing_consent.is_some() {
            self.marketing_consent = customer.marketing_consent;
        }
        self.contact_as_of = as_of;
    }

    /// Adds (or, with `refund`, takes back) an order total from the amount spent. The sum
    /// never goes below zero and saturates below [`Amount::LIMIT`] instead of overflowing.
    pub fn count_spent(&mut self, total: Money, refund: bool) {
        let current = self
            .spent
            .get(&total.currency)
            .map(|a| a.value())
            .unwrap_or_default();
        let change = total.amount.value();
        let next = if refund {
            current.saturating_sub(change)
        } else {
            current.saturating_add(change)
        };
        if !self.spent.contains_key(&total.currency) && self.spent.len() >= Self::CURRENCIES_KEPT {
            return;
        }
        let ceiling = Amount::LIMIT.saturating_sub(rust_decimal::Decimal::ONE);
        if let Ok(amount) =
            Amount::from_decimal(next.clamp(rust_decimal::Decimal::ZERO, ceiling).round_dp(6))
        {
            self.spent.insert(total.currency, amount);
        }
    }
}

/// Inserts `value` in order, keeping only the newest `limit`.
pub(crate) fn push_bounded<T: PartialOrd>(list: &mut Vec<T>, value: T, limit: usize) {
    let at = list.iter().position(|v| *v > value).unwrap_or(list.len());
    list.insert(at, value);
    if list.len() > limit {
        let excess = list.len() - limit;
        list.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LineItem;
    use serde_json::json;

    fn customer() -> Profile {
        let details: CustomerDetails = serde_json::from_value(json!({
            "id": "cus-1", "email": "anna@example.com", "locale": "en-GB",
            "time_zone": "Europe/London"
        }))
        .unwrap();
        Profile::new(&details, "2020-01-01T00:00:00Z".parse().unwrap())
    }

    fn item(sku: String, category: String, quantity: u32) -> LineItem {
        serde_json::from_value(json!({
            "sku": sku, "name": format!("Product {sku}"), "category": category,
            "quantity": quantity
        }))
        .unwrap()
    }

    #[test]
    fn a_long_history_keeps_the_latest_products_and_the_biggest_categories_within_fixed_bounds() {
        let mut profile = customer();
        let start: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().unwrap();
        // 300 orders of two products each, never the same product twice but TEA-1 every
        // tenth order, in 60 categories; "tea" gets the most units.
        for n in 0..300u32 {
            let at = start + chrono::Duration::days(i64::from(n));
            let mut items = vec![item(format!("P-{n}"), format!("c{}", n % 60), 1)];
            if n % 10 == 0 {
                items.push(item("TEA-1".into(), "tea".into(), 5));
            }
            profile.record_purchase(at, &items);
        }
        assert_eq!(profile.order_times.len(), Profile::ORDER_TIMES_KEPT);
        assert_eq!(profile.sku_purchases.len(), Profile::PRODUCTS_KEPT);
        assert!(
            profile
                .sku_purchases
                .contains_key(&Sku::parse("P-299").unwrap()),
            "the product bought last is kept"
        );
        assert!(!profile
            .sku_purchases
            .contains_key(&Sku::parse("P-0").unwrap()));
        assert!(profile
            .sku_purchases
            .values()
            .all(|times| times.len() <= Profile::PURCHASES_KEPT_PER_PRODUCT));
        assert_eq!(profile.category_units.len(), Profile::CATEGORIES_KEPT);
        assert_eq!(profile.favourite_category(), Some("tea"));
    }

    #[test]
    fn amounts_spent_are_kept_for_a_bounded_number_of_currencies() {
        let mut profile = customer();
        let currencies = [
            "USD", "EUR", "GBP", "RUB", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
            "CAD", "AUD", "NZD", "SGD", "HKD", "INR",
        ];
        for code in currencies {
            let total: Money =
                serde_json::from_value(json!({"amount": "10.00", "currency": code})).unwrap();
            profile.count_spent(total, false);
        }
        assert_eq!(profile.spent.len(), Profile::CURRENCIES_KEPT);
        let again: Money =
            serde_json::from_value(json!({"amount": "5.00", "currency": "USD"})).unwrap();
        profile.count_spent(again, false);
        assert_eq!(
            profile.spent[&again.currency].value(),
            rust_decimal::Decimal::new(1500, 2),
            "a currency kept goes on counting"
        );
    }
}
