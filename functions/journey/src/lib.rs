//! The pure domain of aftercare: order events, journey state, rules, message catalogue and
//! rendering. Nothing here does I/O or reads a clock: `now` is always an input (an order event's
//! `occurred_at`), so every rule is a plain function that can be tested at any instant, and
//! replaying past events replays time.
//!
//! Start at [`order_events`]: what happens when an order event arrives.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod catalogue;
pub mod contact;
pub mod event;
pub mod feedback;
pub mod followup_copy;
pub mod followups;
pub mod format;
pub mod guardrails;
pub mod ids;
pub mod journey;
pub mod links;
pub mod message;
pub mod money;
pub mod order_events;
pub mod pages;
pub mod preferences;
pub mod rejection;
pub mod render;
pub mod settings;
pub mod status;
pub mod text;
pub mod time_shift;

#[cfg(test)]
mod total_over_dates;

#[cfg(test)]
pub(crate) mod fixtures {
    //! What the domain's tests share.

    use crate::contact::EmailAddress;
    use crate::event::WebLink;
    use crate::links::SigningKey;
    use crate::settings::{Brand, Policy, Settings, SignedLinks};
    use crate::text::Text;

    /// The test shop: Leaf & Kettle, with a help page, a front page and rating links.
    pub(crate) fn settings() -> Settings {
        Settings {
            brand: Brand {
                shop_name: Text::parse("Leaf & Kettle").unwrap(),
                support_email: EmailAddress::parse("help@leafandkettle.example").unwrap(),
                support_url: Some(WebLink::parse("https://leafandkettle.example/help").unwrap()),
                shop_url: Some(WebLink::parse("https://leafandkettle.example/").unwrap()),
            },
            disabled_kinds: Default::default(),
            policy: Policy::default(),
            links: Some(SignedLinks {
                base_url: Some(WebLink::parse("https://feedback.leafandkettle.example/").unwrap()),
                keys: vec![SigningKey::new("k1", vec![7u8; 32]).unwrap()],
                valid_for: chrono::Duration::days(30),
            }),
            referral_bonus: Some(
                Text::parse("€10 off the first order for your friend, and €10 for you").unwrap(),
            ),
        }
    }
}
