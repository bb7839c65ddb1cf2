//! What aftercare is worth, measured: which touches an order is attributed to
//! ([`attribution`]), and whether each kind of message helps, from its treated and holdout
//! groups ([`uplift`]).
//!
//! A stage of its own that imports the core only; it decides nothing about any customer.

pub mod attribution;
pub mod uplift;
