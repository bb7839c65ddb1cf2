//! The emails an answer sends: thanks, a referral invitation, an apology, and the alert to the
//! shop's support inbox.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::consent::{list_unsubscribe, preferences_action};
use crate::contact::Language;
use crate::copy::shared::{footer, greeting, support};
use crate::message::{MessageId, MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::profile::{Comment, Profile, Score};
use crate::render::{fact, render, Action, Copy, RenderError};
use crate::settings::Settings;

use crate::ids::CustomerId;

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
        preferences: preferences_action(settings, &profile.customer_id, kind, language),
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
        list_unsubscribe: list_unsubscribe(settings, &profile.customer_id, kind),
    })
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
