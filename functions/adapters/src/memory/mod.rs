//! In-memory twins of the ports: [`MemoryStore`] (the journey table), [`MemoryMailer`] (SES)
//! and [`MemoryBus`] (EventBridge), with the same semantics as the AWS implementations, for
//! fast tests of the exactly-once logic and for dry runs.
//!
//! Each twin records what it was asked and lets a test inject failures: the next call of an
//! operation fails ([`MemoryStore::fail_next`]), or every call until the faults are cleared
//! ([`MemoryStore::fail_every`], [`MemoryStore::clear_faults`]). A failure either has no effect
//! (a throttled or refused call) or takes effect and then loses its answer, as when a
//! connection drops after the service applied the call. The store's semantics are checked
//! against DynamoDB by one behaviour suite run on both (`tests/store_contract.rs`).

mod bus;
mod faults;
mod mailer;
mod store;
mod table;

pub use bus::{BusFault, MemoryBus, PublishedHandoff};
pub use mailer::{MailFault, MemoryMailer, SentMessage};
pub use store::{Fault, MemoryStore, Operation};
pub use table::item_size;
