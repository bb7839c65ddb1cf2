//! The emails an answer sends: thanks for a rating, a referral invitation, an apology, and the
//! alert to the shop's support inbox (in English: it goes to the shop's own team).
//!
//! `id` is the order number, `shop` the shop's name and `score` the rating, 1 to 5.

use super::{ByLanguage, MessageWords};
use crate::render::Fact;

/// Thanks for a neutral (3) or positive rating; a 3 also asks what could have been better.
pub fn review_thanks(id: &str, score: u8) -> ByLanguage<MessageWords> {
    let mut en = MessageWords {
        subject: format!("Thank you for rating order {id}"),
        preheader: "Your answer reached us.".to_owned(),
        paragraphs: vec![format!(
            "You gave order {id} {score} out of 5. Thank you: every answer helps us do better."
        )],
    };
    let mut ru = MessageWords {
        subject: format!("Спасибо за оценку заказа {id}"),
        preheader: "Ваш ответ получен.".to_owned(),
        paragraphs: vec![format!("Вы поставили заказу {id} {score} из 5. Спасибо: каждый ответ помогает нам стать лучше.")],
    };
    if score == 3 {
        en.paragraphs.push("If something could have been better, reply and tell us what: a person reads every reply.".to_owned());
        ru.paragraphs.push("Если что-то могло быть лучше, ответьте и расскажите, что именно: каждый ответ читает сотрудник.".to_owned());
    }
    ByLanguage { en, ru }
}

/// The words of a referral invitation: the message, and the label of its button to the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralWords {
    /// Subject, preview and paragraphs.
    pub message: MessageWords,
    /// The button to the shop's front page.
    pub visit_shop: String,
}

/// Thanks for a happy rating, with the customer's referral `code` and what it gives (`bonus`).
pub fn referral_invitation(
    shop: &str,
    id: &str,
    score: u8,
    code: &str,
    bonus: &str,
) -> ByLanguage<ReferralWords> {
    ByLanguage {
        en: ReferralWords {
            message: MessageWords {
                subject: format!("Thank you! A gift from {shop} to share"),
                preheader: format!("Your code: {code}."),
                paragraphs: vec![
                    format!("We are glad order {id} made you happy: thank you for the {score} out of 5."),
                    format!("If a friend would like {shop} too, give them your code {code}: {bonus}."),
                ],
            },
            visit_shop: format!("Visit {shop}"),
        },
        ru: ReferralWords {
            message: MessageWords {
                subject: format!("Спасибо! Подарок от {shop}, чтобы поделиться"),
                preheader: format!("Ваш код: {code}."),
                paragraphs: vec![
                    format!("Мы рады, что заказ {id} вам понравился: спасибо за {score} из 5."),
                    format!("Если друзьям тоже понравится {shop}, поделитесь кодом {code}: {bonus}."),
                ],
            },
            visit_shop: format!("Перейти в {shop}"),
        },
    }
}

/// An apology for an unhappy rating, promising that a person will be in touch.
pub fn review_apology(shop: &str, id: &str) -> ByLanguage<MessageWords> {
    ByLanguage {
        en: MessageWords {
            subject: format!("We are sorry about order {id}"),
            preheader: "A person will be in touch.".to_owned(),
            paragraphs: vec![
                format!("Thank you for telling us that order {id} was not right. We are sorry."),
                format!("A person from {shop} has been told and will get in touch with you personally to put it right. If you would like to tell us more now, reply to this email."),
            ],
        },
        ru: MessageWords {
            subject: format!("Простите нас за заказ {id}"),
            preheader: "Сотрудник свяжется с вами.".to_owned(),
            paragraphs: vec![
                format!("Спасибо, что рассказали, что с заказом {id} что-то не так. Простите нас."),
                format!("Сотрудник {shop} уже знает об этом и свяжется с вами лично, чтобы всё исправить. Если хотите рассказать подробнее, ответьте на это письмо."),
            ],
        },
    }
}

/// Who and what the alert to support is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertFacts<'a> {
    /// The shop's name.
    pub shop: &'a str,
    /// The order number.
    pub id: &'a str,
    /// The order's status now (`delivered`).
    pub status: &'a str,
    /// The rating, 1 to 5.
    pub score: u8,
    /// The customer's name, if we know it.
    pub name: Option<&'a str>,
    /// The customer's address.
    pub email: &'a str,
    /// The shop's customer id.
    pub customer_id: &'a str,
    /// What the customer said, if anything yet.
    pub comment: Option<&'a str>,
    /// When they rated, RFC 3339.
    pub rated_at: &'a str,
}

/// The words of the alert to support: its own greeting and fact rows besides the message.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWords {
    /// Subject, preview and paragraphs.
    pub message: MessageWords,
    /// "Hello Leaf & Kettle team,"
    pub greeting: String,
    /// Customer, order, score and comment.
    pub facts: Vec<Fact>,
}

/// The alert to the shop's support inbox about an unhappy customer. English only.
pub fn support_alert(alert: &AlertFacts<'_>) -> AlertWords {
    let AlertFacts {
        shop,
        id,
        status,
        score,
        name,
        email,
        customer_id,
        comment,
        rated_at,
    } = *alert;
    let row = |label: &str, value: String| Fact {
        label: label.to_owned(),
        value,
    };
    AlertWords {
        message: MessageWords {
            subject: format!("Unhappy customer: order {id} rated {score}/5"),
            preheader: "A person is needed.".to_owned(),
            paragraphs: vec![format!(
                "The customer rated order {id} {score} out of 5 at {rated_at}. They were promised that a person will get in touch. Reply to them directly; when it is resolved, send IssueResolved so promotions resume."
            )],
        },
        greeting: format!("Hello {shop} team,"),
        facts: vec![
            row(
                "Customer",
                format!("{} <{email}> ({customer_id})", name.unwrap_or("(no name)")),
            ),
            row("Order", format!("{id} ({status})")),
            row("Score", format!("{score}/5")),
            row("Comment", comment.unwrap_or("(none yet)").to_owned()),
        ],
    }
}
