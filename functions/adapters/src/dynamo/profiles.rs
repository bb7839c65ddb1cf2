//! Profile changes: a profile written at the version it was read, with the messages the
//! change decided.

use aftercare_journey::order::Order;
use aftercare_journey::profile::Profile;

use super::{DynamoStore, Refused};
use crate::items::{order_item, profile_item, to_item, CommitError, MessageItem};

/// Writes an answer's decision in one TransactWriteItems: the profile (only if still at
/// `read_version`), the order if it changed (only if still at its version read) and each
/// message as a new pending outbox entry.
pub(super) async fn commit_profile_with_messages(
    store: &DynamoStore,
    profile: &Profile,
    read_version: u64,
    order: Option<(&Order, u64)>,
    messages: &[MessageItem],
) -> Result<(), CommitError> {
    let mut writes = vec![store.put(
        profile_item(profile, read_version)?,
        "version = :version",
        Some(read_version),
    )?];
    if let Some((order, version)) = order {
        writes.push(store.put(
            order_item(&profile.customer_id, order, version)?,
            "version = :version",
            Some(version),
        )?);
    }
    let versioned = writes.len();
    for message in messages {
        writes.push(store.put(to_item(message)?, "attribute_not_exists(pk)", None)?);
    }
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        // The profile or the order changed since it was read.
        Err(Refused::Condition(at)) if at < versioned => Err(CommitError::Conflict),
        // A message with the same id exists: this was written before.
        Err(Refused::Condition(_)) => Err(CommitError::Duplicate),
        Err(Refused::Other(error)) => Err(error),
    }
}
