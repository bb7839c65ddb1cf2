//! What a customer's rating click and comment do: the rating is recorded once per order, the
//! reply picked by how they feel, and an unhappy answer opens an issue and calls a person.

use chrono::{DateTime, Utc};

use crate::consent::held_back;
use crate::handoff::Handoff;
use crate::insight::attribution::record_touch;
use crate::links::LinkClaims;
use crate::message::{MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::profile::{Comment, OpenIssue, Profile, Rating, Score, Sentiment, Touch, TouchBy};
use crate::render::RenderError;
use crate::settings::Settings;

use super::message::compose;

/// Why an answer cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
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
    /// The order after it, with the rating.
    pub order: Order,
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

fn check(profile: &Profile, order: &Order, claims: &LinkClaims) -> Result<(), AnswerError> {
    if claims.customer != profile.customer_id {
        return Err(AnswerError::WrongCustomer);
    }
    if claims.order != order.order_id {
        return Err(AnswerError::WrongOrder);
    }
    if claims.kind != MessageKind::ReviewRequest {
        return Err(AnswerError::WrongKind);
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
) -> Result<RatingDecision, AnswerError> {
    check(profile, order, claims)?;
    let mut profile = profile.clone();
    let previous = order.rating.clone();
    let first_answer = previous.is_none();
    let rating = Rating {
        score,
        comment: previous.as_ref().and_then(|r| r.comment.clone()),
        first_at: previous.as_ref().map_or(now, |r| r.first_at),
        updated_at: now,
    };
    let mut rated = order.clone();
    rated.rating = Some(rating.clone());
    let order = &rated;
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
                    && held_back(&profile, MessageKind::ReferralInvitation).is_none();
                if referral_allowed {
                    MessageKind::ReferralInvitation
                } else {
                    MessageKind::ReviewThanks
                }
            }
        };
        let held = held_back(&profile, kind);
        if let Some(reason) = held {
            reply_held_back = Some(format!("{kind} not sent: {reason}"));
        } else if settings.is_enabled(kind) {
            let reply = compose(kind, &profile, order, score, None, now, settings)?;
            let touch = Touch {
                at: now,
                by: TouchBy::Treated {
                    message_id: reply.id.clone(),
                },
            };
            record_touch(
                &mut profile.touches,
                kind,
                touch,
                &settings.policy.attribution_days,
            );
            messages.insert(0, reply);
        }
    }
    let page = if sentiment == Sentiment::Unhappy {
        AnswerPage::Apology
    } else {
        AnswerPage::Thanks
    };
    Ok(RatingDecision {
        profile,
        order: rated.clone(),
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
) -> Result<(Profile, Order, Vec<OutgoingMessage>), AnswerError> {
    check(profile, order, claims)?;
    let mut profile = profile.clone();
    let mut rated = order.clone();
    let rating = rated.rating.as_mut().ok_or(AnswerError::NotRated)?;
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
    Ok((profile, rated, messages))
}
