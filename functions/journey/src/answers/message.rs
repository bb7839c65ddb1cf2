//! The emails an answer sends: thanks, a referral invitation, an apology, and the alert to the
//! shop's support inbox.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::contact::Language;
use crate::copy::answers::{self as words, AlertFacts};
use crate::copy::shared::LABELS;
use crate::frame::{greeting, lay_out};
use crate::ids::CustomerId;
use crate::message::{Draft, Envelope, MessageId, MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::profile::{Comment, Profile, Score};
use crate::render::{fact, Action, Copy, RenderError};
use crate::settings::Settings;

/// Composes the answer message of `kind` (or the alert to support) for a rating of `score`.
pub(crate) fn compose(
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
    let mut facts = Vec::new();
    let mut action = None;
    let mut greeting_words = None;
    let words = match kind {
        MessageKind::ReviewThanks => words::review_thanks(id, n).pick(language),
        MessageKind::ReferralInvitation => {
            let code = referral_code(&profile.customer_id);
            let bonus = settings
                .referral_bonus
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default();
            let words = words::referral_invitation(shop, id, n, &code, &bonus).pick(language);
            facts.push(fact(LABELS.pick(language).referral_code, code.clone()));
            if let Some(url) = &brand.shop_url {
                action = Some(Action {
                    label: words.visit_shop,
                    url: url.as_str().into(),
                });
            }
            words.message
        }
        MessageKind::ReviewApology => words::review_apology(shop, id).pick(language),
        // The alert to support: the only other kind an answer sends.
        _ => {
            let name = profile.name.as_ref().map(|n| n.as_str());
            let alert = words::support_alert(&AlertFacts {
                shop,
                id,
                status: &order.status.to_string(),
                score: n,
                name,
                email: &profile.email.to_string(),
                customer_id: &profile.customer_id.to_string(),
                comment: comment.map(Comment::as_str),
                rated_at: &now.to_rfc3339(),
            });
            facts = alert.facts;
            greeting_words = Some(alert.greeting);
            alert.message
        }
    };
    let copy = Copy {
        subject: words.subject,
        preheader: words.preheader,
        greeting: greeting_words.unwrap_or_else(|| greeting(profile, language)),
        paragraphs: words.paragraphs,
        facts,
        items: Vec::new(),
        action,
        choices: Vec::new(),
    };
    let alert = kind == MessageKind::SupportAlert;
    let envelope = Envelope {
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
        trigger: format!("rating:{id}"),
        decided_at: now,
        reason: format!("order {id} rated {n}/5"),
    };
    lay_out(envelope, Draft::of(copy), settings)
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
