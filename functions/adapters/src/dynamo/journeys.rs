//! The reads a decision needs, the order event's commit with its follow-up changes, and a
//! customer's whole journey.

use std::collections::HashMap;

use aftercare_journey::event::OrderEvent;
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::order_status::OrderEventDecision;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::codec::{key, s, text, version_condition};
use super::{DynamoStore, Refused};
use crate::items::{
    customer_pk, CommitError, EventItem, JourneyItem, Lease, MessageItem, OrderEventWrites,
    OrderItem, ProfileAndOrder, ProfileItem, StoreError, Versioned,
};
use crate::items::{from_item, to_item};

/// Reads the profile and, if given, the order, in one strongly consistent BatchGetItem.
pub(super) async fn load_profile_and_order(
    store: &DynamoStore,
    customer: &CustomerId,
    order: Option<&OrderId>,
) -> Result<ProfileAndOrder, StoreError> {
    let pk = customer_pk(customer);
    let mut keys = vec![key(&pk, "PROFILE")];
    if let Some(order) = order {
        keys.push(key(&pk, &format!("ORDER#{order}")));
    }
    batch_load(store, keys).await
}

/// One strongly consistent BatchGetItem of profile and order keys, asking again for keys the
/// service leaves unprocessed.
async fn batch_load(
    store: &DynamoStore,
    keys: Vec<HashMap<String, AttributeValue>>,
) -> Result<ProfileAndOrder, StoreError> {
    let mut loaded = ProfileAndOrder::default();
    for item in store.batch_get_all(keys).await? {
        match text(&item, "entity") {
            Some("profile") => {
                let record: ProfileItem = from_item("BatchGetItem", item)?;
                loaded.profile = Some(Versioned {
                    value: record.profile,
                    version: record.version,
                });
            }
            Some("order") => {
                let record: OrderItem = from_item("BatchGetItem", item)?;
                loaded.order = Some(Versioned {
                    value: record.order,
                    version: record.version,
                });
            }
            other => {
                return Err(StoreError::corrupt(
                    "BatchGetItem",
                    format!("unexpected entity {other:?}"),
                ))
            }
        }
    }
    Ok(loaded)
}

/// Writes an order event's decision, made by invocation `owner`, in one TransactWriteItems:
/// the order and the profile (only if still at the versions read; the order's timeline records
/// the event), the message as a pending outbox entry held by `lease` (which is `owner`'s, or the
/// scheduled holder's for a message that waits; only if absent), and the follow-up changes.
/// Returns the entry written, if any.
#[allow(clippy::too_many_arguments)]
pub(super) async fn commit_order_event(
    store: &DynamoStore,
    loaded: &ProfileAndOrder,
    event: &OrderEvent,
    decision: &OrderEventDecision,
    lease: &Lease,
    owner: &str,
    processed_at: DateTime<Utc>,
) -> Result<Option<MessageItem>, CommitError> {
    let OrderEventWrites {
        profile,
        order,
        message,
        planned,
        cancelled,
    } = OrderEventWrites::of(loaded, event, decision, lease, owner, processed_at);
    let mut items = vec![
        store.put(
            to_item(&order)?,
            version_condition(&loaded.order),
            loaded.order.as_ref().map(|o| o.version),
        )?,
        store.put(
            to_item(&profile)?,
            version_condition(&loaded.profile),
            loaded.profile.as_ref().map(|p| p.version),
        )?,
    ];
    let versioned = items.len();
    if let Some(message) = &message {
        items.push(store.put(to_item(message)?, "attribute_not_exists(pk)", None)?);
    }
    for follow_up in &planned {
        items.push(store.put_plain(to_item(follow_up)?)?);
    }
    for follow_up_sk in &cancelled {
        let delete = Delete::builder()
            .table_name(&store.table)
            .set_key(Some(key(&order.pk, follow_up_sk)))
            .build()
            .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
        items.push(TransactWriteItem::builder().delete(delete).build());
    }
    match store.transact(items).await {
        Ok(()) => Ok(message),
        // The order or the profile moved (another event was applied, or this one was).
        Err(Refused::Condition(at)) if at < versioned => Err(CommitError::Conflict),
        // The message exists: this decision was written before.
        Err(Refused::Condition(_)) => Err(CommitError::Duplicate),
        Err(Refused::Other(error)) => Err(error),
    }
}

/// A customer's whole journey in one (paginated) Query: profile, orders, messages, follow-ups,
/// decision records (and the event markers of earlier releases).
pub(super) async fn customer_items(
    store: &DynamoStore,
    customer: &CustomerId,
) -> Result<Vec<JourneyItem>, StoreError> {
    let request = store
        .client
        .query()
        .table_name(&store.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(customer_pk(customer)));
    let mut items = Vec::new();
    for item in store.query_all(request).await? {
        let entity = text(&item, "entity").unwrap_or_default().to_owned();
        items.push(match entity.as_str() {
            "profile" => {
                let r: ProfileItem = from_item("Query", item)?;
                JourneyItem::Profile(Versioned {
                    value: r.profile,
                    version: r.version,
                })
            }
            "order" => {
                let r: OrderItem = from_item("Query", item)?;
                JourneyItem::Order(Versioned {
                    value: r.order,
                    version: r.version,
                })
            }
            "message" => JourneyItem::Message(Box::new(from_item("Query", item)?)),
            "event" => JourneyItem::Event(from_item::<EventItem>("Query", item)?.marker),
            "followup" => JourneyItem::FollowUp(Box::new(from_item("Query", item)?)),
            "decision" => JourneyItem::Decision(Box::new(from_item("Query", item)?)),
            other => {
                return Err(StoreError::corrupt(
                    "Query",
                    format!("unexpected entity {other:?}"),
                ))
            }
        });
    }
    Ok(items)
}
