//! The DynamoDB journey store: one table, single-table design (the item layout is in
//! [`crate::items`]; the access patterns in `infra/README.md`). [`DynamoStore`] implements
//! [`JourneyStore`]; each method's body lives in the module of its job:
//!
//! - `journeys`: the reads for a decision, the order event's commit, a customer's items;
//! - `messages`: the outbox's claims and marks, and what SES reported;
//! - `follow_ups`: the due index, follow-up claims and commits, the sweep's checkpoint;
//! - `profiles`: a profile written with new messages;
//! - `codec`: attribute values, conditional-failure answers and SDK errors.
//!
//! Every write is conditional and safe to send twice: a transaction carries a token digested
//! from what it writes ([`crate::request_token`]), an update recognises its own effect.

mod codec;
mod follow_ups;
mod journeys;
mod messages;
mod profiles;

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use aftercare_journey::event::OrderEvent;
use aftercare_journey::follow_ups::FollowUpOutcome;
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::order::Order;
use aftercare_journey::order_status::OrderEventDecision;
use aftercare_journey::profile::Profile;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use crate::error::{describe, Retry};
use crate::items::{
    CommitError, DueItem, FollowUpItem, JourneyItem, Lease, MailEvent, MessageItem,
    ProfileAndOrder, StoreError,
};
use crate::ports::JourneyStore;
use codec::outcome_unknown;
use codec::sdk_error;
pub(crate) use codec::Refused;
use messages::Finish;

/// The most keys one BatchGetItem may ask for.
const BATCH_GET_LIMIT: usize = 100;

/// How many times a transaction whose outcome is unknown is sent again with its token, after
/// the SDK's own attempts.
pub const UNCERTAIN_RESENDS: u32 = 1;

/// The journey table in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    reads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl DynamoStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            reads: Default::default(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every item the Query `request` (table, index and key condition set) finds, page by
    /// page, each page counted as one read request.
    async fn query_all(
        &self,
        request: QueryFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            self.count_read();
            let output = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", &e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The items at `keys`, read strongly consistent by BatchGetItem in requests of at most
    /// 100 keys, each counted as one read request; keys the service leaves unprocessed (under
    /// throttling) are asked again after a pause, up to six rounds. Items that do not exist
    /// are left out; the order is the service's.
    async fn batch_get_all(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let mut keys = chunk.to_vec();
            let mut round = 0u32;
            while !keys.is_empty() {
                if round == 6 {
                    return Err(StoreError {
                        operation: "BatchGetItem",
                        retry: Retry::Transient,
                        detail: "keys left unprocessed after 6 rounds".into(),
                    });
                }
                if round > 0 {
                    tokio::time::sleep(StdDuration::from_millis(25 << round)).await;
                }
                round += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::corrupt("BatchGetItem", e.to_string()))?;
                self.count_read();
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", &e))?;
                found.extend(
                    output
                        .responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                if let Some(unprocessed) = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                {
                    keys = unprocessed.keys;
                }
            }
        }
        Ok(found)
    }

    /// An UpdateItem of the item at `pk`, `sk` of this table, to be given its expressions.
    fn update(&self, pk: &str, sk: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(codec::key(pk, sk)))
    }

    /// Counts one read request (GetItem, BatchGetItem, Query page).
    fn count_read(&self) {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Applies `writes` in one TransactWriteItems carrying a `ClientRequestToken` derived from
    /// them ([`crate::request_token`]). When the outcome is unknown (the SDK's attempts timed
    /// out, the connection dropped, or DynamoDB answered 5xx), the same transaction is sent
    /// again once with the same token: DynamoDB then applies it if the first did not land, and
    /// answers success without applying it again if it did, so a lost answer is never taken
    /// for a conflict with what this very call wrote. A cancelled transaction is told apart by
    /// its reasons: the first write whose condition failed, or else a conflict with another
    /// transaction (retry at once), throttling (transient) or anything else (permanent).
    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), Refused> {
        let token = crate::request_token::transaction_token(&writes);
        let mut resends_left = UNCERTAIN_RESENDS;
        let error = loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .client_request_token(&token)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) if resends_left > 0 && outcome_unknown(&error) => {
                    resends_left -= 1;
                    tracing::info!(error = %describe(&error), "transaction outcome unknown; sending it again with its token");
                    tokio::time::sleep(StdDuration::from_millis(100)).await;
                }
                Err(error) => break error,
            }
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        else {
            return Err(Refused::Other(CommitError::Store(sdk_error(
                "TransactWriteItems",
                &error,
            ))));
        };
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        if let Some(position) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
            return Err(Refused::Condition(position));
        }
        if codes.is_empty() || codes.contains(&"TransactionConflict") {
            return Err(Refused::Other(CommitError::Conflict));
        }
        let transient = codes.iter().any(|c| {
            matches!(
                *c,
                "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
            )
        });
        Err(Refused::Other(CommitError::Store(StoreError {
            operation: "TransactWriteItems",
            retry: if transient {
                Retry::Transient
            } else {
                Retry::Permanent
            },
            detail: format!("transaction cancelled: {codes:?}"),
        })))
    }

    fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(version) = expected_version {
            put =
                put.expression_attribute_values(":version", AttributeValue::N(version.to_string()));
        }
        let put = put
            .build()
            .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn put_plain(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl JourneyStore for DynamoStore {
    async fn load_profile_and_order(
        &self,
        customer: &CustomerId,
        order: Option<&OrderId>,
    ) -> Result<ProfileAndOrder, StoreError> {
        journeys::load_profile_and_order(self, customer, order).await
    }

    async fn commit_order_event(
        &self,
        loaded: &ProfileAndOrder,
        event: &OrderEvent,
        decision: &OrderEventDecision,
        lease: &Lease,
        owner: &str,
        processed_at: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, CommitError> {
        journeys::commit_order_event(self, loaded, event, decision, lease, owner, processed_at)
            .await
    }

    async fn commit_profile_with_messages(
        &self,
        profile: &Profile,
        read_version: u64,
        order: Option<(&Order, u64)>,
        messages: &[MessageItem],
    ) -> Result<(), CommitError> {
        profiles::commit_profile_with_messages(self, profile, read_version, order, messages).await
    }

    async fn message(
        &self,
        customer: &CustomerId,
        sk: &str,
    ) -> Result<Option<MessageItem>, StoreError> {
        messages::message(self, customer, sk).await
    }

    async fn claim_message(
        &self,
        item: &MessageItem,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, StoreError> {
        messages::claim_message(self, item, lease, now).await
    }

    async fn mark_sent(
        &self,
        item: &MessageItem,
        owner: &str,
        ses_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        messages::finish(self, item, owner, Finish::Sent(ses_message_id), now).await
    }

    async fn mark_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        messages::finish(self, item, owner, Finish::Failed(reason), now).await
    }

    async fn note_attempt_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        messages::note_attempt_failed(self, item, owner, reason).await
    }

    async fn mark_handoff_published(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> Result<(), StoreError> {
        messages::mark_handoff_published(self, item, owner).await
    }

    async fn record_mail_event(
        &self,
        customer: &CustomerId,
        sort_key: &str,
        event: MailEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        messages::record_mail_event(self, customer, sort_key, event, at).await
    }

    async fn due_items(
        &self,
        bucket: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueItem>, StoreError> {
        follow_ups::due_items(self, bucket, now).await
    }

    async fn claim_follow_up(
        &self,
        item: &FollowUpItem,
        owner: &str,
        until: DateTime<Utc>,
        wall_now: DateTime<Utc>,
    ) -> Result<Option<FollowUpItem>, StoreError> {
        follow_ups::claim_follow_up(self, item, owner, until, wall_now).await
    }

    async fn commit_follow_up(
        &self,
        profile_version: u64,
        held: &FollowUpItem,
        outcome: &FollowUpOutcome,
        now: DateTime<Utc>,
        lease: &Lease,
        written_at: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, CommitError> {
        follow_ups::commit_follow_up(self, profile_version, held, outcome, now, lease, written_at)
            .await
    }

    async fn set_aside(&self, pk: &str, sk: &str, reason: &str) -> Result<(), StoreError> {
        follow_ups::set_aside(self, pk, sk, reason).await
    }

    async fn sweep_checkpoint(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        follow_ups::sweep_checkpoint(self).await
    }

    async fn save_sweep_checkpoint(&self, hour: DateTime<Utc>) -> Result<(), StoreError> {
        follow_ups::save_sweep_checkpoint(self, hour).await
    }

    async fn customer_items(&self, customer: &CustomerId) -> Result<Vec<JourneyItem>, StoreError> {
        journeys::customer_items(self, customer).await
    }

    fn read_requests(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}
