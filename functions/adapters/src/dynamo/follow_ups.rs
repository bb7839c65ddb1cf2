//! The schedule's side of the table: due work from the sparse `due` index, claims on
//! follow-ups, the write of a follow-up decision, and the sweep's checkpoint.

use aftercare_journey::follow_ups::FollowUpOutcome;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::codec::{applied, claim, key, s, sdk_error, text};
use super::{DynamoStore, Refused};
use crate::items::profile_item;
use crate::items::{
    due_bucket, follow_up_item, from_item, sortable_time, to_item, CommitError, DueItem,
    FollowUpItem, FollowUpStatus, FollowUpWrites, Lease, MessageItem, StoreError, CHECKPOINT_PK,
    CHECKPOINT_SK, DUE_INDEX,
};

/// Everything in one due-index partition due by `now` (follow-ups compare their due time
/// with `now`; messages their lease or send time). The index holds keys only: the items are
/// read from the table, strongly consistent, and what is no longer due by `now` when read
/// (sent, claimed or moved meanwhile) is left out.
pub(super) async fn due_items(
    store: &DynamoStore,
    bucket: &str,
    now: DateTime<Utc>,
) -> Result<Vec<DueItem>, StoreError> {
    let now = sortable_time(now);
    let request = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(DUE_INDEX)
        .key_condition_expression("due_bucket = :bucket AND due_at <= :now")
        .expression_attribute_values(":bucket", s(bucket))
        .expression_attribute_values(":now", s(&now));
    let entries = store.query_all(request).await?;
    let keys = entries
        .iter()
        .filter_map(|entry| Some(key(text(entry, "pk")?, text(entry, "sk")?)))
        .collect();
    let mut read = store.batch_get_all(keys).await?;
    // In the index's order: by due time, then key.
    read.sort_by(|a, b| {
        let order = |item: &HashMap<String, AttributeValue>| {
            (
                text(item, "due_at").map(str::to_owned),
                text(item, "pk").map(str::to_owned),
                text(item, "sk").map(str::to_owned),
            )
        };
        order(a).cmp(&order(b))
    });
    let mut items = Vec::new();
    for item in read {
        if text(&item, "due_at").is_none_or(|due| due > now.as_str()) {
            continue;
        }
        let parsed = match text(&item, "entity") {
            Some("followup") => {
                from_item("Query", item.clone()).map(|f| Some(DueItem::FollowUp(Box::new(f))))
            }
            Some("message") => {
                from_item("Query", item.clone()).map(|m| Some(DueItem::Message(Box::new(m))))
            }
            _ => Ok(None),
        };
        match parsed {
            Ok(Some(due)) => items.push(due),
            Ok(None) => {}
            Err(error) => {
                // One unreadable item must not stop every sweep: set it aside, loudly.
                let pk = text(&item, "pk").unwrap_or_default();
                let sk = text(&item, "sk").unwrap_or_default();
                let customer_id = crate::log_ids::customer_of_partition(pk)
                    .map_or_else(|| "none".to_owned(), |id| id.to_string());
                tracing::error!(%customer_id, %sk, %error, "unreadable item in the due index; set aside");
                set_aside(store, pk, sk, &error.to_string()).await?;
            }
        }
    }
    Ok(items)
}

/// Takes a due follow-up for `owner` until `until` (wall clock): only if it is still
/// scheduled at the due time seen, or its previous claim ran out by `wall_now`. Returns the
/// item as now held, or `None` if someone else has it or it moved. A claim that finds the
/// follow-up already held by this very claim (the SDK sent it again after its answer was
/// lost) returns it as held.
pub(super) async fn claim_follow_up(
    store: &DynamoStore,
    item: &FollowUpItem,
    owner: &str,
    until: DateTime<Utc>,
    wall_now: DateTime<Utc>,
) -> Result<Option<FollowUpItem>, StoreError> {
    // The claim also files the follow-up under the hour its claim runs out: if this run
    // does not finish it, the next runs find it among the last two hours they always read,
    // so an unfinished follow-up never holds the sweep's checkpoint back.
    let bucket = due_bucket(until, item.follow_up.customer_id.as_str());
    let until = sortable_time(until);
    let request = store
        .update(&item.pk, &item.sk)
        .update_expression("SET #status = :claimed, claimed_by = :owner, claim_until = :until, due_bucket = :bucket")
        .condition_expression(
            "(#status = :scheduled AND due_at = :due) OR (#status = :claimed AND claim_until < :wall)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":claimed", s("claimed"))
        .expression_attribute_values(":scheduled", s("scheduled"))
        .expression_attribute_values(":owner", s(owner))
        .expression_attribute_values(":until", s(&until))
        .expression_attribute_values(":bucket", s(bucket))
        .expression_attribute_values(":due", s(item.due_at.as_deref().unwrap_or_default()))
        .expression_attribute_values(":wall", s(sortable_time(wall_now)));
    claim(request, |f: &FollowUpItem| {
        f.status == FollowUpStatus::Claimed
            && f.claimed_by.as_deref() == Some(owner)
            && f.claim_until.as_deref() == Some(until.as_str())
    })
    .await
}

/// Writes a follow-up decision in one TransactWriteItems: the profile (if still at the
/// version read), the follow-up (moved, replaced by the next attempt, or removed; only if
/// the lease's owner still holds it), and for a send the message as a pending outbox entry held
/// by `lease` (with the watchdog's handoff), which is the send's record; for any other decision
/// its record. Returns the entry, if any.
pub(super) async fn commit_follow_up(
    store: &DynamoStore,
    profile_version: u64,
    held: &FollowUpItem,
    outcome: &FollowUpOutcome,
    now: DateTime<Utc>,
    lease: &Lease,
    written_at: DateTime<Utc>,
) -> Result<Option<MessageItem>, CommitError> {
    let owner = lease.owner.as_str();
    let mut writes = vec![store.put(
        profile_item(&outcome.profile, profile_version)?,
        "version = :version",
        Some(profile_version),
    )?];
    let owned = |put: Put| TransactWriteItem::builder().put(put).build();
    let FollowUpWrites {
        replacement,
        planned_elsewhere,
        record,
        message,
    } = FollowUpWrites::of(held, outcome, now, lease, written_at);
    match &replacement {
        Some(follow_up) => {
            let put = Put::builder()
                .table_name(&store.table)
                .set_item(Some(to_item(&follow_up_item(follow_up, written_at))?))
                .condition_expression("claimed_by = :owner")
                .expression_attribute_values(":owner", s(owner))
                .build()
                .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
            writes.push(owned(put));
        }
        None => {
            let delete = Delete::builder()
                .table_name(&store.table)
                .set_key(Some(key(&held.pk, &held.sk)))
                .condition_expression("claimed_by = :owner")
                .expression_attribute_values(":owner", s(owner))
                .build()
                .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
    }
    if let Some(next) = &planned_elsewhere {
        writes.push(store.put_plain(to_item(&follow_up_item(next, written_at))?)?);
    }
    if let Some(record) = &record {
        writes.push(store.put_plain(to_item(record)?)?);
    }
    if let Some(message) = &message {
        writes.push(store.put(to_item(message)?, "attribute_not_exists(pk)", None)?);
    }
    let last = writes.len() - 1;
    match store.transact(writes).await {
        Ok(()) => Ok(message),
        // Someone else took the follow-up meanwhile, or the message exists.
        Err(Refused::Condition(1)) => Err(CommitError::Duplicate),
        Err(Refused::Condition(i)) if message.is_some() && i == last => Err(CommitError::Duplicate),
        Err(Refused::Condition(_)) => Err(CommitError::Conflict),
        Err(Refused::Other(error)) => Err(error),
    }
}

/// Sets an item of the due index aside for good (a follow-up whose decision fails in a way
/// that will not heal): marked failed with the reason, kept on the journey, out of the index.
pub(super) async fn set_aside(
    store: &DynamoStore,
    pk: &str,
    sk: &str,
    reason: &str,
) -> Result<(), StoreError> {
    applied(
        store
            .update(pk, sk)
            .update_expression(
                "SET #status = :failed, last_error = :reason REMOVE due_bucket, due_at",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":reason", s(reason)),
    )
    .await
    .map(|_| ())
}

/// The earliest hour the sweep still has to read, if a sweep has run.
pub(super) async fn sweep_checkpoint(
    store: &DynamoStore,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    store.count_read();
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(key(CHECKPOINT_PK, CHECKPOINT_SK)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem", &e))?;
    Ok(output
        .item
        .as_ref()
        .and_then(|item| text(item, "hour"))
        .and_then(|hour| DateTime::parse_from_rfc3339(hour).ok())
        .map(|hour| hour.with_timezone(&Utc)))
}

/// Records the earliest hour the next sweep has to read.
pub(super) async fn save_sweep_checkpoint(
    store: &DynamoStore,
    hour: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .client
        .put_item()
        .table_name(&store.table)
        .item("pk", s(CHECKPOINT_PK))
        .item("sk", s(CHECKPOINT_SK))
        .item("entity", s("checkpoint"))
        .item("hour", AttributeValue::S(hour.to_rfc3339()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("PutItem", &e))
}
