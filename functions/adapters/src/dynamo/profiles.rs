//! Profile changes: a profile written at the version it was read, with the messages the
//! change decided.

use std::collections::HashMap;

use aftercare_journey::journey::Profile;
use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::to_item;
use super::{DynamoStore, Refused};
use crate::items::{customer_pk, CommitError, MessageItem, ProfileItem, StoreError};

/// The stored form of a profile written over the version `read_version` it was read at (it
/// becomes `read_version + 1`).
pub(super) fn profile_item(
    profile: &Profile,
    read_version: u64,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    to_item(&ProfileItem {
        pk: customer_pk(&profile.customer_id),
        sk: "PROFILE".into(),
        entity: "profile".into(),
        version: read_version + 1,
        profile: profile.clone(),
    })
}

/// Writes an answer's decision in one TransactWriteItems: the profile (only if still at
/// `read_version`) and each message as a new pending outbox entry.
pub(super) async fn commit_profile_with_messages(
    store: &DynamoStore,
    profile: &Profile,
    read_version: u64,
    messages: &[MessageItem],
) -> Result<(), CommitError> {
    let mut writes = vec![store.put(
        profile_item(profile, read_version)?,
        "version = :version",
        Some(read_version),
    )?];
    for message in messages {
        writes.push(store.put(to_item(message)?, "attribute_not_exists(pk)", None)?);
    }
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        // The profile changed since it was read.
        Err(Refused::Condition(0)) => Err(CommitError::Conflict),
        // A message with the same id exists: this was written before.
        Err(Refused::Condition(_)) => Err(CommitError::Duplicate),
        Err(Refused::Other(error)) => Err(error),
    }
}
