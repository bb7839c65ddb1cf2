//! The outbox's state changes on message items (claims, marks, notes) and what SES reported
//! about sent messages.

use aftercare_journey::ids::CustomerId;
use aftercare_journey::time_shift::Shift;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::codec::{applied, claim, key, refused_update, s, sdk_error, text};
use super::DynamoStore;
use crate::items::from_item;
use crate::items::{
    customer_pk, due_bucket, sortable_time, Lease, MailEvent, MessageItem, MessageStatus,
    StoreError, MESSAGE_LOG_TTL,
};

/// Reads one message item, strongly consistent.
pub(super) async fn message(
    store: &DynamoStore,
    customer: &CustomerId,
    sk: &str,
) -> Result<Option<MessageItem>, StoreError> {
    store.count_read();
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(key(&customer_pk(customer), sk)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem", &e))?;
    output
        .item
        .map(|item| from_item("GetItem", item))
        .transpose()
}

/// Takes a pending message whose lease has run out (or that has none) for `lease`.
/// Returns the item as now held, or `None` if it is not pending or someone holds it. A
/// claim that finds the message already held by this very lease (its first attempt
/// landed, and the SDK sent it again after the answer was lost) returns it as held: the
/// retry changes nothing, so `attempts` counts the claim once.
pub(super) async fn claim_message(
    store: &DynamoStore,
    item: &MessageItem,
    lease: &Lease,
    now: DateTime<Utc>,
) -> Result<Option<MessageItem>, StoreError> {
    let until = lease.stored_until();
    let request = store
        .update(&item.pk, &item.sk)
        .update_expression("SET lease_owner = :owner, lease_until = :until, due_bucket = :bucket, due_at = :until, attempts = attempts + :one")
        .condition_expression("#status = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":owner", s(&lease.owner))
        .expression_attribute_values(":until", s(&until))
        .expression_attribute_values(":bucket", s(due_bucket(lease.until, &item.message_id)))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":pending", s("pending"))
        .expression_attribute_values(":now", s(sortable_time(now)));
    claim(request, |m: &MessageItem| {
        m.status == MessageStatus::Pending
            && m.lease_owner.as_deref() == Some(lease.owner.as_str())
            && m.lease_until.as_deref() == Some(until.as_str())
    })
    .await
}

/// How a message leaves the outbox.
#[derive(Debug, Clone, Copy)]
pub(super) enum Finish<'a> {
    /// SES accepted it, with this message id.
    Sent(&'a str),
    /// SES refused it for good (or it was withheld), for this reason.
    Failed(&'a str),
}

impl Finish<'_> {
    /// The status it leaves the message in.
    fn status(self) -> &'static str {
        match self {
            Finish::Sent(_) => "sent",
            Finish::Failed(_) => "failed",
        }
    }

    /// The SES id or the reason, and the attribute it is recorded in.
    fn detail(self) -> (&'static str, String) {
        match self {
            Finish::Sent(id) => ("ses_message_id", id.to_owned()),
            Finish::Failed(reason) => ("last_error", reason.to_owned()),
        }
    }

    /// The update: the status, when, the detail, who finished it; the lease, the due-index
    /// keys and the content go.
    fn update(self) -> String {
        let (field, _) = self.detail();
        let when = match self {
            Finish::Sent(_) => "sent_at",
            Finish::Failed(_) => "failed_at",
        };
        format!("SET #status = :status, {field} = :detail, {when} = :now, finished_by = :owner, expires_at = :expires REMOVE lease_owner, lease_until, due_bucket, due_at, content")
    }
}

/// Notes why an attempt to send failed transiently; the message stays pending and the
/// relay takes it once the lease runs out.
pub(super) async fn note_attempt_failed(
    store: &DynamoStore,
    item: &MessageItem,
    owner: &str,
    reason: &str,
) -> Result<(), StoreError> {
    applied(
        store
            .update(&item.pk, &item.sk)
            .update_expression("SET last_error = :reason")
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":owner", s(owner)),
    )
    .await
    .map(|_| ())
}

/// Moves a message held by `owner` from pending to sent or failed (`how`), with its SES id or
/// its reason, and `owner` as `finished_by`. Returns `false` if another sender took it over
/// meanwhile; `true` also when the message already stands as this very call leaves it,
/// finished by `owner` with the same detail (the retry of a write whose answer was lost).
pub(super) async fn finish(
    store: &DynamoStore,
    item: &MessageItem,
    owner: &str,
    how: Finish<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let status = how.status();
    let (field, detail) = how.detail();
    let result = store
        .update(&item.pk, &item.sk)
        .update_expression(how.update())
        .condition_expression("#status = :pending AND lease_owner = :owner")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", s(status))
        .expression_attribute_values(":now", s(now.to_rfc3339()))
        .expression_attribute_values(":detail", s(&detail))
        .expression_attribute_values(
            ":expires",
            AttributeValue::N(now.plus(MESSAGE_LOG_TTL).timestamp().to_string()),
        )
        .expression_attribute_values(":pending", s("pending"))
        .expression_attribute_values(":owner", s(owner))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) => match refused_update(&e) {
            Some(current) => {
                let text = |name: &str| current.as_ref().and_then(|a| text(a, name));
                Ok(text("status") == Some(status)
                    && text("finished_by") == Some(owner)
                    && text(field) == Some(detail.as_str()))
            }
            None => Err(sdk_error("UpdateItem", &e)),
        },
    }
}

/// Records what SES reported about the message at `sort_key` of `customer`: one UpdateItem
/// that keeps the time of the first report of each event processed, so redelivered events
/// are harmless. Returns `false` when there is no such message (never ours, or expired).
pub(super) async fn record_mail_event(
    store: &DynamoStore,
    customer: &CustomerId,
    sort_key: &str,
    event: MailEvent,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let update = event
        .attributes()
        .iter()
        .map(|name| format!("{name} = if_not_exists({name}, :at)"))
        .collect::<Vec<_>>()
        .join(", ");
    applied(
        store
            .update(&customer_pk(customer), sort_key)
            .update_expression(format!("SET {update}"))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at.to_rfc3339())),
    )
    .await
}

/// Records that the handoff of a message held by `owner` was published.
pub(super) async fn mark_handoff_published(
    store: &DynamoStore,
    item: &MessageItem,
    owner: &str,
) -> Result<(), StoreError> {
    applied(
        store
            .update(&item.pk, &item.sk)
            .update_expression("SET handoff_published = :yes")
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":owner", s(owner)),
    )
    .await
    .map(|_| ())
}
