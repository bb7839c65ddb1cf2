//! What a customer's answer does: a click on a rating link of a review request, a comment
//! added to it, and a helpdesk saying the issue is resolved.
//!
//! A rating is recorded once per order; a second click updates it and never sends a second
//! reply. Happy (4–5): thanks and, where marketing is allowed, a referral invitation with the
//! customer's own code. Neutral (3): thanks. Unhappy (1–2): an apology that promises a person,
//! an alert to the support inbox with the context, a `HandoffRequested` event, and an open
//! issue: while it is open nothing promotional goes out (order news keeps flowing). An
//! `IssueResolved` from the helpdesk closes it and records the time to resolution.

use std::fmt;

use crate::time_shift::between;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalogue::{fact, footer, greeting, support, Action, Copy};
use crate::contact::Language;
use crate::followups::Handoff;
use crate::ids::{CustomerId, OrderId};
use crate::journey::{Order, Profile};
use crate::links::LinkClaims;
use crate::message::{MessageId, MessageKind, OutgoingMessage};
use crate::render::{render, RenderError};
use crate::settings::Settings;

/// Why a value is not a score.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a score is a whole number from 1 to 5")]
pub struct ScoreError;

/// A rating from 1 (poor) to 5 (excellent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    /// Checks the range.
    pub fn new(value: u8) -> Result<Self, ScoreError> {
        (1..=5)
            .contains(&value)
            .then_some(Self(value))
            .ok_or(ScoreError)
    }

    /// Parses the `score` of a link.
    pub fn parse(value: &str) -> Result<Self, ScoreError> {
        value
            .trim()
            .parse::<u8>()
            .map_err(|_| ScoreError)
            .and_then(Self::new)
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// How the customer feels.
    pub fn sentiment(self) -> Sentiment {
        match self.0 {
            1 | 2 => Sentiment::Unhappy,
            3 => Sentiment::Neutral,
            _ => Sentiment::Happy,
        }
    }
}

impl TryFrom<u8> for Score {
    type Error = ScoreError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Score> for u8 {
    fn from(value: Score) -> u8 {
        value.0
    }
}

/// How a score reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    /// 4 or 5.
    Happy,
    /// 3.
    Neutral,
    /// 1 or 2.
    Unhappy,
}

/// Why a comment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentError {
    /// Nothing but white space.
    #[error("the comment is empty")]
    Blank,
    /// Over [`Comment::MAX_LEN`] characters.
    #[error("the comment is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Holds a control character other than a line break or a tab.
    #[error("the comment contains a control character")]
    ControlCharacter,
}

/// A customer's comment: 1 to [`Comment::MAX_LEN`] characters; line breaks allowed, other
/// control characters not. Escaped wherever it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Comment(String);

impl Comment {
    /// The longest comment accepted.
    pub const MAX_LEN: usize = 2_000;

    /// Parses a comment, trimming white space at both ends.
    pub fn parse(value: &str) -> Result<Self, CommentError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(CommentError::Blank);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(CommentError::TooLong { max: Self::MAX_LEN });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(CommentError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Comment {
    type Error = CommentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Comment> for String {
    fn from(value: Comment) -> String {
        value.0
    }
}

impl fmt::Display for Comment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's rating of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// The latest score.
    pub score: Score,
    /// Their comment, if they left one.
    pub comment: Option<Comment>,
    /// When they first answered.
    pub first_at: DateTime<Utc>,
    /// When they last changed it.
    pub updated_at: DateTime<Utc>,
}

/// An unhappy answer waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIssue {
    /// The order it is about.
    pub order_id: OrderId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// The score that opened it.
    pub score: Score,
    /// What the customer said.
    pub comment: Option<Comment>,
}

/// An issue a person resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedIssue {
    /// The order it was about.
    pub order_id: OrderId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: DateTime<Utc>,
    /// How long it took, in seconds.
    pub seconds_to_resolution: i64,
}

/// Why an answer cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// The link was made for another customer.
    #[error("the link belongs to another customer")]
    WrongCustomer,
    /// The link was made for another order.
    #[error("the link belongs to another order")]
    WrongOrder,
    /// The link was not in a review request.
    #[error("the link is not a rating link")]
    WrongKind,
    /// A comment for an order never rated.
    #[error("there is no rating to comment on")]
    NotRated,
    /// The copy failed to render (a bug).
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The page the customer sees after clicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerPage {
    /// Thanks (happy or neutral), with a comment form.
    Thanks,
    /// An apology and the promise of a person, with a comment form.
    Apology,
}

/// What a rating click does.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingDecision {
    /// The profile after it.
    pub profile: Profile,
    /// Whether this is the customer's first answer for the order (only then do they get a reply).
    pub first_answer: bool,
    /// How they feel.
    pub sentiment: Sentiment,
    /// What to send: the reply to the customer (first answer only) and the alert to support.
    pub messages: Vec<OutgoingMessage>,
    /// A person should look.
    pub handoff: Option<Handoff>,
    /// What the customer sees.
    pub page: AnswerPage,
    /// Why the reply to the customer was not sent, when it was held back (an unsubscribed
    /// topic, a suppressed address); the caller records it.
    pub reply_held_back: Option<String>,
}

/// The customer's own referral code: eight characters from an alphabet without look-alikes,
/// the same every time for the same customer.
pub fn referral_code(customer: &CustomerId) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let digest = Sha256::new()
        .chain_update(b"referral\0")
        .chain_update(customer.as_str().as_bytes())
        .finalize();
    digest
        .iter()
        .take(8)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn check(profile: &Profile, order: &Order, claims: &LinkClaims) -> Result<(), FeedbackError> {
    if claims.customer != profile.customer_id {
        return Err(FeedbackError::WrongCustomer);
    }
    if claims.order != order.order_id {
        return Err(FeedbackError::WrongOrder);
    }
    if claims.kind != MessageKind::ReviewRequest {
        return Err(FeedbackError::WrongKind);
    }
    Ok(())
}

/// Decides what a verified rating click does. The link's signature and expiry are checked by
/// [`crate::links::verify`] before; this checks that it belongs to this customer and order.
pub fn decide_rating(
    profile: &Profile,
    order: &Order,
    claims: &LinkClaims,
    score: Score,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<RatingDecision, FeedbackError> {
    check(profile, order, claims)?;
    let mut profile = profile.clone();
    let previous = profile.ratings.get(&order.order_id).cloned();
    let first_answer = previous.is_none();
    let rating = Rating {
        score,
        comment: previous.as_ref().and_then(|r| r.comment.clone()),
        first_at: previous.as_ref().map_or(now, |r| r.first_at),
        updated_at: now,
    };
    profile
        .ratings
        .insert(order.order_id.clone(), rating.clone());
    let sentiment = score.sentiment();
    let mut messages = Vec::new();
    let mut handoff = None;
    let mut reply_held_back = None;
    let became_unhappy = sentiment == Sentiment::Unhappy
        && previous
            .as_ref()
            .is_none_or(|p| p.score.sentiment() != Sentiment::Unhappy);
    if became_unhappy && profile.open_issue.is_none() {
        profile.open_issue = Some(OpenIssue {
            order_id: order.order_id.clone(),
            opened_at: now,
            score,
            comment: rating.comment.clone(),
        });
        handoff = Some(Handoff {
            customer_id: profile.customer_id.clone(),
            order_id: order.order_id.clone(),
            status: order.status,
            since: now,
            reason: format!(
                "the customer rated order {} {}/5",
                order.order_id,
                score.get()
            ),
        });
        messages.push(compose(
            MessageKind::SupportAlert,
            &profile,
            order,
            score,
            rating.comment.as_ref(),
            now,
            settings,
        )?);
    }
    if first_answer {
        let kind = match sentiment {
            Sentiment::Unhappy => MessageKind::ReviewApology,
            Sentiment::Neutral => MessageKind::ReviewThanks,
            Sentiment::Happy => {
                let referral_allowed = settings.referral_bonus.is_some()
                    && settings.is_enabled(MessageKind::ReferralInvitation)
                    && settings
                        .policy
                        .consent
                        .allows_marketing(profile.marketing_consent)
                    && profile.open_issue.is_none()
                    && crate::preferences::held_back(&profile, MessageKind::ReferralInvitation)
                        .is_none();
                if referral_allowed {
                    MessageKind::ReferralInvitation
                } else {
                    MessageKind::ReviewThanks
                }
            }
        };
        let held = crate::preferences::held_back(&profile, kind);
        if let Some(reason) = held {
            reply_held_back = Some(format!("{kind} not sent: {reason}"));
        } else if settings.is_enabled(kind) {
            messages.insert(
                0,
                compose(kind, &profile, order, score, None, now, settings)?,
            );
        }
    }
    let page = if sentiment == Sentiment::Unhappy {
        AnswerPage::Apology
    } else {
        AnswerPage::Thanks
    };
    Ok(RatingDecision {
        profile,
        first_answer,
        sentiment,
        messages,
        handoff,
        page,
        reply_held_back,
    })
}

/// What a comment added to a rating does: it is kept, and when the rating is unhappy it goes
/// to support (the issue gets it too, if it is still open).
pub fn add_comment(
    profile: &Profile,
    order: &Order,
    claims: &LinkClaims,
    comment: Comment,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<(Profile, Vec<OutgoingMessage>), FeedbackError> {
    check(profile, order, claims)?;
    let mut profile = profile.clone();
    let rating = profile
        .ratings
        .get_mut(&order.order_id)
        .ok_or(FeedbackError::NotRated)?;
    rating.comment = Some(comment.clone());
    rating.updated_at = now;
    let score = rating.score;
    if let Some(issue) = profile
        .open_issue
        .as_mut()
        .filter(|i| i.order_id == order.order_id)
    {
        issue.comment = Some(comment.clone());
    }
    let messages = if score.sentiment() == Sentiment::Unhappy {
        vec![compose(
            MessageKind::SupportAlert,
            &profile,
            order,
            score,
            Some(&comment),
            now,
            settings,
        )?]
    } else {
        Vec::new()
    };
    Ok((profile, messages))
}

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

fn compose(
    kind: MessageKind,
    profile: &Profile,
    order: &Order,
    score: Score,
    comment: Option<&Comment>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<OutgoingMessage, RenderError> {
    let brand = &settings.brand;
    let shop = brand.shop_name.as_str();
    let id = order.order_id.as_str();
    let n = score.get();
    // The alert goes to the shop's own team, in English.
    let language = if kind == MessageKind::SupportAlert {
        Language::En
    } else {
        profile.locale.language()
    };
    let en = language == Language::En;
    let mut facts = Vec::new();
    let mut action = None;
    let (subject, preheader, paragraphs) = match kind {
        MessageKind::ReviewThanks => {
            let mut paragraphs = vec![if en {
                format!(
                    "You gave order {id} {n} out of 5. Thank you: every answer helps us do better."
                )
            } else {
                format!("Вы поставили заказу {id} {n} из 5. Спасибо: каждый ответ помогает нам стать лучше.")
            }];
            if n == 3 {
                paragraphs.push(if en {
                    "If something could have been better, reply and tell us what: a person reads every reply.".to_owned()
                } else {
                    "Если что-то могло быть лучше, ответьте и расскажите, что именно: каждый ответ читает сотрудник.".to_owned()
                });
            }
            if en {
                (
                    format!("Thank you for rating order {id}"),
                    "Your answer reached us.".to_owned(),
                    paragraphs,
                )
            } else {
                (
                    format!("Спасибо за оценку заказа {id}"),
                    "Ваш ответ получен.".to_owned(),
                    paragraphs,
                )
            }
        }
        MessageKind::ReferralInvitation => {
            let code = referral_code(&profile.customer_id);
            let bonus = settings
                .referral_bonus
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default();
            facts.push(fact(if en { "Your code" } else { "Ваш код" }, code.clone()));
            if let Some(url) = &brand.shop_url {
                action = Some(Action {
                    label: if en {
                        format!("Visit {shop}")
                    } else {
                        format!("Перейти в {shop}")
                    },
                    url: url.as_str().into(),
                });
            }
            let paragraphs = vec![
                if en {
                    format!(
                        "We are glad order {id} made you happy: thank you for the {n} out of 5."
                    )
                } else {
                    format!("Мы рады, что заказ {id} вам понравился: спасибо за {n} из 5.")
                },
                if en {
                    format!(
                        "If a friend would like {shop} too, give them your code {code}: {bonus}."
                    )
                } else {
                    format!(
                        "Если друзьям тоже понравится {shop}, поделитесь кодом {code}: {bonus}."
                    )
                },
            ];
            if en {
                (
                    format!("Thank you! A gift from {shop} to share"),
                    format!("Your code: {code}."),
                    paragraphs,
                )
            } else {
                (
                    format!("Спасибо! Подарок от {shop}, чтобы поделиться"),
                    format!("Ваш код: {code}."),
                    paragraphs,
                )
            }
        }
        MessageKind::ReviewApology => {
            let paragraphs = vec![
                if en {
                    format!("Thank you for telling us that order {id} was not right. We are sorry.")
                } else {
                    format!(
                        "Спасибо, что рассказали, что с заказом {id} что-то не так. Простите нас."
                    )
                },
                if en {
                    format!("A person from {shop} has been told and will get in touch with you personally to put it right. If you would like to tell us more now, reply to this email.")
                } else {
                    format!("Сотрудник {shop} уже знает об этом и свяжется с вами лично, чтобы всё исправить. Если хотите рассказать подробнее, ответьте на это письмо.")
                },
            ];
            if en {
                (
                    format!("We are sorry about order {id}"),
                    "A person will be in touch.".to_owned(),
                    paragraphs,
                )
            } else {
                (
                    format!("Простите нас за заказ {id}"),
                    "Сотрудник свяжется с вами.".to_owned(),
                    paragraphs,
                )
            }
        }
        _ => {
            let name = profile
                .name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_else(|| "(no name)".into());
            facts.push(fact(
                "Customer",
                format!("{name} <{}> ({})", profile.email, profile.customer_id),
            ));
            facts.push(fact("Order", format!("{id} ({})", order.status)));
            facts.push(fact("Score", format!("{n}/5")));
            facts.push(fact(
                "Comment",
                comment.map_or_else(|| "(none yet)".to_owned(), |c| c.as_str().to_owned()),
            ));
            let paragraphs = vec![format!(
                "The customer rated order {id} {n} out of 5 at {}. They were promised that a person will get in touch. Reply to them directly; when it is resolved, send IssueResolved so promotions resume.",
                now.to_rfc3339()
            )];
            (
                format!("Unhappy customer: order {id} rated {n}/5"),
                "A person is needed.".to_owned(),
                paragraphs,
            )
        }
    };
    let copy = Copy {
        subject,
        preheader,
        greeting: if kind == MessageKind::SupportAlert {
            format!("Hello {shop} team,")
        } else {
            greeting(profile, language)
        },
        paragraphs,
        facts,
        items: Vec::new(),
        action,
        choices: Vec::new(),
        support: support(brand, language),
        footer: footer(brand, language),
        preferences: crate::preferences::preferences_action(
            settings,
            &profile.customer_id,
            kind,
            language,
        ),
    };
    let rendered = render(&copy, shop, language)?;
    let alert = kind == MessageKind::SupportAlert;
    Ok(OutgoingMessage {
        // The comment is part of the cause: the alert for a rating and the alert for a comment
        // added in the same second are different messages; an identical repeat is the same one.
        id: MessageId::derive(
            &profile.customer_id,
            &format!(
                "rating#{id}#{}#{}",
                now.timestamp(),
                comment.map_or_else(
                    || "-".to_owned(),
                    |c| hex::encode(&Sha256::digest(c.as_str().as_bytes())[..8])
                )
            ),
            kind,
        ),
        kind,
        customer_id: profile.customer_id.clone(),
        order_id: Some(order.order_id.clone()),
        to: if alert {
            brand.support_email.clone()
        } else {
            profile.email.clone()
        },
        to_name: if alert { None } else { profile.name.clone() },
        language,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        trigger: format!("rating:{id}"),
        decided_at: now,
        reason: format!("order {id} rated {n}/5"),
        list_unsubscribe: crate::preferences::list_unsubscribe(
            settings,
            &profile.customer_id,
            kind,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_order_event;
    use crate::followups::{decide_follow_up, FollowUp, FollowUpDecision, FollowUpKind};
    use crate::order_events::{decide_order_event, OrderJourney};
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A delivered order 1042 of customer c-1.
    fn delivered(consent: Option<bool>) -> (Profile, Order, Settings) {
        let settings = crate::fixtures::settings();
        let mut journey = OrderJourney::default();
        for (status, when) in [
            ("placed", "2026-11-18T09:00:00Z"),
            ("delivered", "2026-11-20T09:00:00Z"),
        ] {
            let mut body = json!({
                "event_id": format!("e-{status}"), "order_id": "1042", "status": status, "occurred_at": when,
                "customer": {"id": "c-1", "email": "anna@example.com", "name": "Anna <i>P</i>", "locale": "en", "time_zone": "Europe/Berlin"},
                "items": [{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "replenish_every_days": 30}],
            });
            if let Some(consent) = consent {
                body["customer"]["marketing_consent"] = json!(consent);
            }
            let d = decide_order_event(
                &journey,
                &parse_order_event(&body.to_string(), &crate::event::AcceptedYears::default())
                    .unwrap(),
                &settings,
            )
            .unwrap();
            journey = OrderJourney {
                profile: Some(d.profile),
                order: Some(d.order),
            };
        }
        (journey.profile.unwrap(), journey.order.unwrap(), settings)
    }

    fn claims(order: &Order) -> LinkClaims {
        LinkClaims {
            customer: CustomerId::parse("c-1").unwrap(),
            order: order.order_id.clone(),
            kind: MessageKind::ReviewRequest,
            expires_at: at("2026-12-31T00:00:00Z"),
        }
    }

    fn kinds(messages: &[OutgoingMessage]) -> Vec<MessageKind> {
        messages.iter().map(|m| m.kind).collect()
    }

    #[test]
    fn a_happy_first_answer_gets_thanks_with_a_referral_code_and_a_second_click_sends_nothing() {
        let (profile, order, settings) = delivered(None);
        let now = at("2026-11-23T10:00:00Z");
        let first = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(5).unwrap(),
            now,
            &settings,
        )
        .unwrap();
        assert_eq!((first.first_answer, first.page), (true, AnswerPage::Thanks));
        assert_eq!(kinds(&first.messages), [MessageKind::ReferralInvitation]);
        let code = referral_code(&profile.customer_id);
        assert!(
            first.messages[0].text.contains(&code),
            "{}",
            first.messages[0].text
        );
        assert!(first.messages[0].text.contains("€10 off"));

        let second = decide_rating(
            &first.profile,
            &order,
            &claims(&order),
            Score::new(4).unwrap(),
            now + chrono::Duration::minutes(1),
            &settings,
        )
        .unwrap();
        assert!(!second.first_answer && second.messages.is_empty());
        assert_eq!(
            second.profile.ratings[&order.order_id].score.get(),
            4,
            "the second click updates the score"
        );
        assert_eq!(second.profile.ratings[&order.order_id].first_at, now);
    }

    #[test]
    fn a_happy_customer_without_marketing_consent_gets_thanks_and_no_referral() {
        let (profile, order, settings) = delivered(Some(false));
        let d = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(5).unwrap(),
            at("2026-11-23T10:00:00Z"),
            &settings,
        )
        .unwrap();
        assert_eq!(kinds(&d.messages), [MessageKind::ReviewThanks]);
    }

    #[test]
    fn a_happy_customer_who_switched_off_offers_gets_thanks_and_a_bounced_one_gets_nothing() {
        let (profile, order, settings) = delivered(None);
        let (no_offers, _) = crate::preferences::unsubscribe(
            &profile,
            &[crate::preferences::MailTopic::Offers],
            crate::preferences::OptOutSource::PreferencesPage,
            at("2026-11-21T10:00:00Z"),
        );
        let rate = |profile: &Profile, score: u8| {
            decide_rating(
                profile,
                &order,
                &claims(&order),
                Score::new(score).unwrap(),
                at("2026-11-23T10:00:00Z"),
                &settings,
            )
            .unwrap()
        };
        assert_eq!(
            kinds(&rate(&no_offers, 5).messages),
            [MessageKind::ReviewThanks]
        );
        let (bounced, _) = crate::preferences::apply_bounce(
            &profile,
            &crate::preferences::Bounce {
                address: profile.email.clone(),
                permanent: true,
                subtype: "General".into(),
                feedback_id: "f-1".into(),
                at: at("2026-11-21T10:00:00Z"),
            },
        );
        let silent = rate(&bounced, 5);
        assert!(silent.messages.is_empty());
        assert!(silent
            .reply_held_back
            .as_deref()
            .is_some_and(|r| r.contains("suppressed")));
        assert_eq!(
            kinds(&rate(&bounced, 1).messages),
            [MessageKind::SupportAlert],
            "support still hears of an unhappy customer"
        );
    }

    #[test]
    fn a_neutral_answer_gets_thanks_that_asks_what_could_be_better() {
        let (profile, order, settings) = delivered(None);
        let d = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(3).unwrap(),
            at("2026-11-23T10:00:00Z"),
            &settings,
        )
        .unwrap();
        assert_eq!(kinds(&d.messages), [MessageKind::ReviewThanks]);
        assert!(d.messages[0].text.contains("could have been better"));
        assert!(d.handoff.is_none() && d.profile.open_issue.is_none());
    }

    #[test]
    fn an_unhappy_answer_apologises_calls_a_person_and_holds_promotions_until_resolved() {
        let (profile, order, settings) = delivered(None);
        let now = at("2026-11-23T10:00:00Z");
        let d = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(1).unwrap(),
            now,
            &settings,
        )
        .unwrap();
        assert_eq!(d.page, AnswerPage::Apology);
        assert_eq!(
            kinds(&d.messages),
            [MessageKind::ReviewApology, MessageKind::SupportAlert]
        );
        assert!(d.messages[0]
            .text
            .contains("get in touch with you personally"));
        let alert = &d.messages[1];
        assert_eq!(alert.to.as_str(), "help@leafandkettle.example");
        assert!(alert.subject.contains("rated 1/5"));
        assert!(
            !alert.html.contains("<i>P</i>"),
            "the customer's name is escaped"
        );
        assert_eq!(d.handoff.as_ref().unwrap().order_id, order.order_id);
        assert!(d.profile.open_issue.is_some());

        // While the issue is open, a repurchase reminder is withheld...
        let reminder = FollowUp {
            key: "repurchase#TEA-1".into(),
            kind: FollowUpKind::Repurchase,
            customer_id: profile.customer_id.clone(),
            order_id: Some(order.order_id.clone()),
            due_at: at("2026-12-13T09:00:00Z"),
            planned_at: at("2026-11-20T09:00:00Z"),
            attempt: 1,
            watch_status: None,
            sku: Some(crate::ids::Sku::parse("TEA-1").unwrap()),
            item_name: Some(crate::text::Text::parse("Assam").unwrap()),
            category: None,
            run_out_on: None,
            handoff_raised: false,
        };
        let held = decide_follow_up(
            &reminder,
            &d.profile,
            Some(&order),
            at("2026-12-13T09:00:00Z"),
            &settings,
        )
        .unwrap();
        assert!(
            matches!(held.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("open complaint")),
            "{:?}",
            held.decision
        );

        // ...and once a person resolved it, promotions resume.
        let (resolved_profile, resolved) =
            resolve_issue(&d.profile, at("2026-11-24T10:00:00Z")).unwrap();
        assert_eq!(resolved.seconds_to_resolution, 24 * 3600);
        assert!(resolved_profile.open_issue.is_none());
        let sent = decide_follow_up(
            &reminder,
            &resolved_profile,
            Some(&order),
            at("2026-12-13T09:00:00Z"),
            &settings,
        )
        .unwrap();
        assert!(
            matches!(sent.decision, FollowUpDecision::Send { .. }),
            "{:?}",
            sent.decision
        );
        assert!(
            resolve_issue(&resolved_profile, at("2026-11-25T10:00:00Z")).is_none(),
            "nothing left to resolve"
        );
    }

    #[test]
    fn changing_a_happy_answer_to_an_unhappy_one_calls_a_person_but_sends_no_second_reply() {
        let (profile, order, settings) = delivered(None);
        let now = at("2026-11-23T10:00:00Z");
        let happy = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(4).unwrap(),
            now,
            &settings,
        )
        .unwrap();
        let unhappy = decide_rating(
            &happy.profile,
            &order,
            &claims(&order),
            Score::new(2).unwrap(),
            now,
            &settings,
        )
        .unwrap();
        assert_eq!(kinds(&unhappy.messages), [MessageKind::SupportAlert]);
        assert!(unhappy.handoff.is_some() && unhappy.profile.open_issue.is_some());
    }

    #[test]
    fn a_link_for_another_customer_order_or_kind_is_refused() {
        let (profile, order, settings) = delivered(None);
        let now = at("2026-11-23T10:00:00Z");
        let five = Score::new(5).unwrap();
        let mut other = claims(&order);
        other.customer = CustomerId::parse("c-2").unwrap();
        assert!(matches!(
            decide_rating(&profile, &order, &other, five, now, &settings),
            Err(FeedbackError::WrongCustomer)
        ));
        let mut other = claims(&order);
        other.order = OrderId::parse("9999").unwrap();
        assert!(matches!(
            decide_rating(&profile, &order, &other, five, now, &settings),
            Err(FeedbackError::WrongOrder)
        ));
        let mut other = claims(&order);
        other.kind = MessageKind::OrderDelivered;
        assert!(matches!(
            decide_rating(&profile, &order, &other, five, now, &settings),
            Err(FeedbackError::WrongKind)
        ));
    }

    #[test]
    fn an_unhappy_customers_comment_reaches_support_and_the_open_issue() {
        let (profile, order, settings) = delivered(None);
        let now = at("2026-11-23T10:00:00Z");
        let d = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(2).unwrap(),
            now,
            &settings,
        )
        .unwrap();
        let comment = Comment::parse("The tin arrived dented <b>and</b> half empty").unwrap();
        let (after, messages) = add_comment(
            &d.profile,
            &order,
            &claims(&order),
            comment.clone(),
            now,
            &settings,
        )
        .unwrap();
        assert_eq!(
            after.open_issue.as_ref().unwrap().comment.as_ref(),
            Some(&comment)
        );
        assert_eq!(kinds(&messages), [MessageKind::SupportAlert]);
        assert!(
            messages[0].text.contains("half empty") && !messages[0].html.contains("<b>and</b>")
        );
    }

    #[test]
    fn a_comment_in_the_same_second_as_its_rating_is_a_message_of_its_own() {
        let (profile, order, settings) = delivered(None);
        let now = at("2026-11-23T10:00:00Z");
        let rated = decide_rating(
            &profile,
            &order,
            &claims(&order),
            Score::new(1).unwrap(),
            now,
            &settings,
        )
        .unwrap();
        let (_, comment_alerts) = add_comment(
            &rated.profile,
            &order,
            &claims(&order),
            Comment::parse("dented").unwrap(),
            now,
            &settings,
        )
        .unwrap();
        let rating_alert = rated
            .messages
            .iter()
            .find(|m| m.kind == MessageKind::SupportAlert)
            .unwrap();
        assert_ne!(rating_alert.id, comment_alerts[0].id);
    }

    #[test]
    fn comments_and_scores_are_bounded() {
        assert!(Comment::parse("   ").is_err());
        assert!(Comment::parse(&"x".repeat(2_001)).is_err());
        assert!(Comment::parse("line one\nline two").is_ok());
        assert!(Comment::parse("bell\u{7}").is_err());
        assert!(
            Score::parse("0").is_err()
                && Score::parse("6").is_err()
                && Score::parse("five").is_err()
        );
        assert_eq!(Score::parse("4").unwrap().sentiment(), Sentiment::Happy);
    }

    #[test]
    fn referral_codes_are_stable_readable_and_distinct() {
        let a = referral_code(&CustomerId::parse("c-1").unwrap());
        assert_eq!(a, referral_code(&CustomerId::parse("c-1").unwrap()));
        assert_ne!(a, referral_code(&CustomerId::parse("c-2").unwrap()));
        assert_eq!(a.len(), 8);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_uppercase() && !"IO".contains(c) || ('2'..='9').contains(&c)),
            "{a}"
        );
    }

    #[test]
    fn an_issue_resolved_event_is_read_whole_and_a_foreign_one_is_refused_by_field() {
        let event = parse_issue_resolved_event(&json!({
            "version": "0", "detail-type": ISSUE_RESOLVED, "source": "helpdesk.zendesk",
            "time": "2026-11-08T16:00:00Z", "detail": {"customer_id": "cus-1", "ticket": "ZD-77"}
        }), &crate::event::AcceptedYears::default())
        .unwrap();
        assert_eq!(event.detail.customer_id.as_str(), "cus-1");
        assert_eq!(event.resolved_at(), Some(at("2026-11-08T16:00:00Z")));

        let refusal = |value: serde_json::Value| {
            parse_issue_resolved_event(&value, &crate::event::AcceptedYears::default())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refusal(json!({"detail-type": "emily.carter@example.com", "detail": {}})),
            "field `detail-type` must be \"IssueResolved\""
        );
        assert_eq!(
            refusal(
                json!({"detail-type": ISSUE_RESOLVED, "detail": {"customer_id": 4_155_550_123u64}})
            ),
            "field `detail.customer_id` must be a string"
        );
        assert_eq!(
            refusal(
                json!({"detail-type": ISSUE_RESOLVED, "detail": "{\"customer_id\": \"emily\"}"})
            ),
            "field `detail` must be an object"
        );
        assert_eq!(
            refusal(json!({"Records": [{"body": "emily.carter@example.com"}]})),
            "field `detail-type` is required"
        );
        assert_eq!(refusal(json!("emily")), "field `body` must be an object");
        assert_eq!(
            refusal(
                json!({"detail-type": ISSUE_RESOLVED, "time": "1970-01-01T00:00:00Z",
                           "detail": {"customer_id": "cus-1"}})
            ),
            "field `time` is outside the accepted years 2000 to 2100"
        );
        assert_eq!(
            refusal(json!({"detail-type": ISSUE_RESOLVED,
                           "detail": {"customer_id": "cus-1", "resolved_at": "-262143-01-01T00:00:00Z"}})),
            "field `detail.resolved_at` is outside the accepted years 2000 to 2100"
        );
    }
}
