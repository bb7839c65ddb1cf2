//! Every word a customer (or the shop's support inbox) reads in an email, by stage, each
//! message's English and Russian side by side, so a copywriter can review them without
//! reading the rules.

pub mod shared;
