//! The pure domain of aftercare: order events, journey state, rules, message catalogue and
//! rendering. Nothing here does I/O or reads a clock: `now` is always an input (an order event's
//! `occurred_at`), so every rule is a plain function that can be tested at any instant, and
//! replaying past events replays time.
//!
//! Start at [`order_events`]: what happens when an order event arrives.

#![warn(missing_docs)]

pub mod catalogue;
pub mod contact;
pub mod event;
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
pub mod render;
pub mod settings;
pub mod status;
pub mod text;
