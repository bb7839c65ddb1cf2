//! What aftercare is worth, measured: which touches an order is attributed to
//! ([`attribution`]), and whether each kind of message helps, from its treated and holdout
//! groups ([`uplift`]), and the shop's service: ratings, CSAT, an NPS-style score, time to
//! resolution and resolutions that held ([`service`]); what an order's change adds to the
//! aggregates those are read from ([`tallies`]).
//!
//! A stage of its own that imports the core only; it decides nothing about any customer.

pub mod attribution;
pub mod service;
pub mod tallies;
pub mod uplift;
