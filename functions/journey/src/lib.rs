//! The pure domain of aftercare: order events, the customer's profile and orders, the rules of
//! each stage of the journey, every email's words, and rendering. Nothing here does I/O or reads
//! a clock: `now` is always an input (an order event's `occurred_at`), so every rule is a plain
//! function that can be tested at any instant, and replaying past events replays time.
//!
//! Start at [`order_status`]: what happens when an order event arrives. The stages:
//!
//! - [`order_status`]: an order event applied or refused, and the status email.
//! - [`follow_ups`]: messages planned for later (delivery reminder, review request, repurchase,
//!   reactivation, the watchdog), and what one does when it falls due.
//! - [`answers`]: a customer's rating and comment, and the helpdesk resolving their issue.
//! - [`consent`]: topics switched off, bounces and complaints, and the links to the preferences
//!   page.
//! - [`insight`]: what the journey is worth: each kind's uplift over its holdout.
//! - [`copy`]: every email's (and page's) words, English and Russian side by side; [`pages`]
//!   lays out the feedback endpoint's pages.
//!
//! Below them the core types, which import no stage: [`profile`] (with every record it stores),
//! [`order`], [`message`], [`handoff`], [`event`] (the inbound contract), [`settings`] with
//! [`guardrails`] (quiet hours, caps, consent policy, holdouts: values of the settings that
//! order status and follow-ups both apply), [`links`] (signed one-click links) with [`signing`],
//! [`render`] (the layout every email shares) and the value types ([`ids`], [`money`],
//! [`contact`], [`text`], [`status`], [`format`](mod@format), [`time_shift`], [`rejection`]).

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

// Core types: they import no rule module.
pub mod contact;
pub mod event;
pub mod format;
pub mod guardrails;
pub mod handoff;
pub mod ids;
pub mod links;
pub mod message;
pub mod money;
pub mod order;
pub mod profile;
pub mod rejection;
pub mod render;
pub mod settings;
pub mod signing;
pub mod status;
pub mod text;
pub mod time_shift;

// The journey's stages, each importing the core and the stages below it: `order_status` plans
// through `follow_ups`; `follow_ups` and `answers` ask `consent`; `order_status`, `follow_ups`
// and `answers` record and attribute touches through `insight`, which imports the core only;
// every stage takes its words from `copy`, which imports the core only.
pub mod answers;
pub mod consent;
pub mod copy;
pub mod follow_ups;
pub mod insight;
pub mod order_status;

// Assembled from `copy`, `consent`'s links and the core, for the stages, the outbox and the
// feedback endpoint: the frame every email shares (greeting, how to reach a person, footer,
// preferences link), the one way a message is laid out, and the endpoint's pages.
pub mod frame;
pub mod pages;

#[cfg(test)]
mod total_over_dates;

#[cfg(test)]
pub(crate) mod fixtures {
    //! What the domain's tests share.

    use crate::contact::EmailAddress;
    use crate::event::WebLink;
    use crate::settings::{Brand, Policy, Settings, SignedLinks};
    use crate::signing::SigningKey;
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
