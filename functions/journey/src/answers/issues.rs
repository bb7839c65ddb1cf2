//! The helpdesk's side of an issue: its `IssueResolved` event (the inbound contract, parsed
//! naming the field at fault), and closing the customer's open issue.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::ids::CustomerId;
use crate::profile::{Profile, ResolvedIssue};
use crate::time_shift::between;

/// The EventBridge `detail-type` a helpdesk sends when a person resolved a customer's issue.
pub const ISSUE_RESOLVED: &str = "IssueResolved";

/// The detail of an `IssueResolved` event: `{"customer_id": "...", "resolved_at": "..."}`;
/// `resolved_at` defaults to the event's time, and other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssueResolvedDetail {
    /// Whose issue.
    pub customer_id: CustomerId,
    /// When it was resolved.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// An `IssueResolved` event as EventBridge delivers it: its `detail-type`, `time` and
/// `detail`; every other field of the envelope is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssueResolvedEvent {
    /// The event's `detail-type`; [`parse_issue_resolved_event`] takes only [`ISSUE_RESOLVED`].
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// When EventBridge received it.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// What was resolved.
    pub detail: IssueResolvedDetail,
}

impl IssueResolvedEvent {
    /// When the issue was resolved: the detail's `resolved_at`, else the event's `time`.
    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.detail.resolved_at.or(self.time)
    }
}

/// Every field name of an `IssueResolved` event that a refusal's path may hold.
pub const ISSUE_RESOLVED_FIELDS: crate::rejection::KnownFields = &[
    "detail-type",
    "time",
    "detail",
    "customer_id",
    "resolved_at",
];

/// Parses an `IssueResolved` detail, naming the field at fault (under `detail`);
/// `resolved_at` must fall in `years`.
pub fn parse_issue_resolved(
    detail: &serde_json::Value,
    years: &crate::event::AcceptedYears,
) -> Result<IssueResolvedDetail, crate::event::InvalidEvent> {
    let detail: IssueResolvedDetail =
        crate::event::deserialize_at(detail.clone(), "detail", ISSUE_RESOLVED_FIELDS)?;
    if let Some(at) = detail.resolved_at {
        years.check("detail.resolved_at", at)?;
    }
    Ok(detail)
}

/// Parses a whole EventBridge event for the helpdesk-events function: any JSON may arrive
/// there, and whatever is not an `IssueResolved` event with a readable detail is refused
/// naming the field at fault (a `detail-type` of another kind included), never echoing it.
/// Its `time` and `detail.resolved_at` must fall in `years`.
pub fn parse_issue_resolved_event(
    event: &serde_json::Value,
    years: &crate::event::AcceptedYears,
) -> Result<IssueResolvedEvent, crate::event::InvalidEvent> {
    use crate::rejection::{Expected, Problem};
    if !event.is_object() {
        return Err(crate::event::InvalidEvent::new(
            "body",
            Problem::WrongType {
                expected: Some(Expected::Object),
            },
        ));
    }
    if let Some(detail_type) = event.get("detail-type") {
        if detail_type.as_str() != Some(ISSUE_RESOLVED) {
            return Err(crate::event::InvalidEvent::new(
                "detail-type",
                Problem::MustBe(ISSUE_RESOLVED),
            ));
        }
    }
    let parsed: IssueResolvedEvent =
        crate::event::deserialize_at(event.clone(), "", ISSUE_RESOLVED_FIELDS)?;
    if let Some(time) = parsed.time {
        years.check("time", time)?;
    }
    if let Some(at) = parsed.detail.resolved_at {
        years.check("detail.resolved_at", at)?;
    }
    Ok(parsed)
}

/// Closes the open issue (a helpdesk's `IssueResolved`), recording the time to resolution.
/// Returns `None` if no issue was open.
pub fn resolve_issue(profile: &Profile, now: DateTime<Utc>) -> Option<(Profile, ResolvedIssue)> {
    let mut profile = profile.clone();
    let issue = profile.open_issue.take()?;
    let resolved = ResolvedIssue {
        order_id: issue.order_id,
        opened_at: issue.opened_at,
        resolved_at: now,
        seconds_to_resolution: between(issue.opened_at, now).num_seconds().max(0),
    };
    profile.resolved_issues.push(resolved.clone());
    if profile.resolved_issues.len() > 10 {
        profile.resolved_issues.remove(0);
    }
    Some((profile, resolved))
}
