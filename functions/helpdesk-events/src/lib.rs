//! The helpdesk-events function: a helpdesk puts an `IssueResolved` event on the stack's bus
//! when a person resolved a customer's issue (opened by an unhappy rating); an EventBridge rule
//! delivers it here, and the customer's open issue is closed, with the time to resolution, so
//! promotions resume.
//!
//! Decode → read the profile → decide (pure, `aftercare_journey::answers::resolve_issue`) →
//! write the profile at the version read. It sends nothing and signs no link, so it is built
//! from the core configuration ([`CoreConfig`]: the table, the accepted years, how logs name
//! customers) and holds no link-signing keys.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::Clock;
use aftercare_adapters::config::CoreConfig;
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::items::CommitError;
use aftercare_adapters::log_ids;
use aftercare_adapters::ports::JourneyStore;
use aftercare_adapters::retry::{self, Contended, Round};

/// How many times an event is decided again when the profile changed under it.
pub const MAX_ATTEMPTS: u32 = 3;

/// Everything the function needs, built once per cold start: a journey store `S` (DynamoDB in
/// Lambda; any implementation of the port in tests and dry runs).
pub struct HelpdeskEventsFunction<S = DynamoStore> {
    store: S,
    clock: Arc<dyn Clock>,
    accepted_years: aftercare_journey::event::AcceptedYears,
}

/// How the helpdesk-events function's log lines about an event it refuses begin.
pub const HELPDESK_LOG_NAME: &str = "helpdesk-events: event";

/// Why an `IssueResolved` event could not be applied now; EventBridge tries the invocation
/// again.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] aftercare_adapters::items::StoreError),
    /// The profile kept changing.
    #[error(transparent)]
    Contention(#[from] Contended),
}

/// What came of one event to helpdesk-events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The customer's open issue is closed.
    Resolved(aftercare_journey::profile::ResolvedIssue),
    /// No issue was open (a repeat of the event, or a customer without one).
    NoOpenIssue,
    /// No journey of this customer.
    UnknownCustomer,
    /// Not an `IssueResolved` event we can read: refused for good (a retry would not mend it),
    /// and logged once.
    Refused(aftercare_journey::event::InvalidEvent),
}

impl Resolution {
    /// The invocation's answer: `{"resolved": true|false}`, and for a refusal the field and
    /// the problem (our words only).
    pub fn answer(&self) -> serde_json::Value {
        match self {
            Resolution::Resolved(_) => serde_json::json!({ "resolved": true }),
            Resolution::NoOpenIssue | Resolution::UnknownCustomer => {
                serde_json::json!({ "resolved": false })
            }
            Resolution::Refused(invalid) => serde_json::json!({
                "resolved": false,
                "refused": {"field": invalid.field, "problem": invalid.problem.to_string()},
            }),
        }
    }
}

impl HelpdeskEventsFunction {
    /// Wires the function from its clients and configuration.
    pub fn new(clients: &AwsClients, config: &CoreConfig, clock: Arc<dyn Clock>) -> Self {
        Self::from_parts(
            DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
            clock,
            config.accepted_years,
        )
    }
}

impl<S: JourneyStore> HelpdeskEventsFunction<S> {
    /// The function over `store` (the in-memory twin in tests and dry runs), its clock, and the
    /// years a date may fall in.
    pub fn from_parts(
        store: S,
        clock: Arc<dyn Clock>,
        accepted_years: aftercare_journey::event::AcceptedYears,
    ) -> Self {
        Self {
            store,
            clock,
            accepted_years,
        }
    }

    /// Applies a helpdesk's `IssueResolved` event, any JSON as it reached helpdesk-events:
    /// closes the customer's open issue, recording the time to resolution, so promotions
    /// resume. An event that is not one (another shape, another `detail-type`, a detail that
    /// does not read, a date outside the accepted years) is refused cleanly: logged once at error level, naming the field and
    /// the problem, and answered, never failed, so EventBridge does not try it again.
    pub async fn resolve(&self, event: &serde_json::Value) -> Result<Resolution, ResolveError> {
        let event = match aftercare_journey::answers::parse_issue_resolved_event(
            event,
            &self.accepted_years,
        ) {
            Ok(event) => event,
            Err(invalid) => {
                tracing::error!(field = %invalid.field, "{HELPDESK_LOG_NAME} rejected: {invalid}");
                return Ok(Resolution::Refused(invalid));
            }
        };
        let customer = &event.detail.customer_id;
        // A resolution is never in the future: a helpdesk's clock ahead of ours is read as now.
        let now = self.clock.now();
        let at = event.resolved_at().unwrap_or(now).min(now);
        let resolution = retry::read_decide_commit(MAX_ATTEMPTS, customer, |_| async move {
            let loaded = self.store.load_profile_and_order(customer, None).await?;
            let Some(profile) = loaded.profile else {
                tracing::warn!(customer_id = %log_ids::customer(customer), "IssueResolved for an unknown customer");
                return Ok(Round::Done(Resolution::UnknownCustomer));
            };
            let Some((after, resolved)) =
                aftercare_journey::answers::resolve_issue(&profile.value, at)
            else {
                return Ok(Round::Done(Resolution::NoOpenIssue));
            };
            match self
                .store
                .commit_profile_with_messages(&after, profile.version, None, &[])
                .await
            {
                Ok(()) => {
                    tracing::info!(customer_id = %log_ids::customer(customer), order_id = %resolved.order_id, seconds = resolved.seconds_to_resolution, "issue resolved");
                    Ok(Round::Done(Resolution::Resolved(resolved)))
                }
                Err(CommitError::Conflict | CommitError::Duplicate) => Ok(Round::Changed),
                Err(CommitError::Store(error)) => Err(ResolveError::Store(error)),
            }
        })
        .await?;
        Ok(resolution)
    }
}
