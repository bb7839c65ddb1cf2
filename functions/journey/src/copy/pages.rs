//! The words of the small pages the feedback endpoint answers with: after a rating or a
//! comment, for a link that does not work, and the email preferences page.
//!
//! `shop` is the shop's name.

use super::ByLanguage;
use crate::profile::MailTopic;

/// A page's title and paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWords {
    /// The heading (and the document's title).
    pub title: &'static str,
    /// The body, one paragraph each.
    pub paragraphs: Vec<String>,
}

fn page(title: &'static str, paragraphs: &[&str]) -> PageWords {
    PageWords {
        title,
        paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// After a happy or neutral rating.
pub fn thanks() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page(
            "Thank you!",
            &["Your rating reached us. It helps us do better."],
        ),
        ru: page(
            "Спасибо!",
            &["Ваша оценка получена. Она помогает нам стать лучше."],
        ),
    }
}

/// After an unhappy rating: the promise of a person.
pub fn apology(shop: &str) -> ByLanguage<PageWords> {
    ByLanguage {
        en: PageWords {
            title: "We are sorry",
            paragraphs: vec![format!("Thank you for telling us. A person from {shop} will get in touch with you personally to put it right.")],
        },
        ru: PageWords {
            title: "Простите нас",
            paragraphs: vec![format!("Спасибо, что рассказали. Сотрудник {shop} свяжется с вами лично, чтобы всё исправить.")],
        },
    }
}

/// After a comment.
pub fn comment_received() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page(
            "We have your comment",
            &["Thank you. A person reads every comment."],
        ),
        ru: page(
            "Комментарий получен",
            &["Спасибо. Каждый комментарий читает сотрудник."],
        ),
    }
}

/// A link that is malformed, forged or altered.
pub fn invalid_link() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page(
            "This link does not work",
            &["It may have been copied incompletely or changed. Nothing was recorded."],
        ),
        ru: page(
            "Ссылка не работает",
            &["Возможно, она скопирована не полностью или изменена. Ничего не записано."],
        ),
    }
}

/// A link past its expiry.
pub fn expired_link() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page("This link has expired", &["Rating links work for a limited time. Nothing was recorded; you can still reply to our email."]),
        ru: page("Срок действия ссылки истёк", &["Ссылки для оценки действуют ограниченное время. Ничего не записано; вы можете ответить на наше письмо."]),
    }
}

/// A link for an order we do not know.
pub fn unknown_order() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page("We could not find this order", &["Nothing was recorded."]),
        ru: page("Заказ не найден", &["Ничего не записано."]),
    }
}

/// A preferences link for a customer we do not know (any more).
pub fn unknown_customer() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page(
            "We could not find your details",
            &["We hold no email preferences for this link. Nothing was changed."],
        ),
        ru: page(
            "Мы не нашли ваши данные",
            &["Для этой ссылки у нас нет настроек рассылки. Ничего не изменено."],
        ),
    }
}

/// A request we cannot take; the page adds what was wrong.
pub fn bad_request() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page("We could not take this", &[]),
        ru: page("Не удалось принять ответ", &[]),
    }
}

/// Our fault.
pub fn internal() -> ByLanguage<PageWords> {
    ByLanguage {
        en: page(
            "Something went wrong on our side",
            &["Please try again in a few minutes, or reply to our email."],
        ),
        ru: page(
            "Что-то пошло не так на нашей стороне",
            &["Попробуйте ещё раз через несколько минут или ответьте на наше письмо."],
        ),
    }
}

/// The title of the email preferences page.
pub fn preferences_title() -> ByLanguage<&'static str> {
    ByLanguage {
        en: "Your email preferences",
        ru: "Какие письма вы получаете",
    }
}

/// What the preferences page says above the form: `unsubscribed` names the topic a one-click
/// unsubscribe just switched off (`topic_label` in the page's language), `saved` that the form
/// was saved; otherwise it invites the customer to tick.
pub fn preferences_notice(unsubscribed: Option<&str>, saved: bool) -> ByLanguage<String> {
    match (unsubscribed, saved) {
        (Some(topic), _) => ByLanguage {
            en: format!(
                "You are unsubscribed from “{topic}”. You can change it back below at any time."
            ),
            ru: format!(
                "Вы отписались от рассылки «{topic}». Это можно изменить ниже в любой момент."
            ),
        },
        (None, true) => ByLanguage {
            en: "Saved. We will only send what is ticked.".to_owned(),
            ru: "Сохранено. Мы будем присылать только отмеченное.".to_owned(),
        },
        (None, false) => ByLanguage {
            en: "Tick what you would like to receive from us.".to_owned(),
            ru: "Отметьте, какие письма вы хотите получать.".to_owned(),
        },
    }
}

/// The preferences page's note for an address we stopped sending to because mail bounced.
pub fn suppressed() -> ByLanguage<&'static str> {
    ByLanguage {
        en: "We have stopped sending to your address because mail to it was returned. Write to us if it works again.",
        ru: "Мы перестали отправлять письма на ваш адрес: они возвращались. Напишите нам, если адрес снова работает.",
    }
}

/// The preferences form's button.
pub fn save_button() -> ByLanguage<&'static str> {
    ByLanguage {
        en: "Save",
        ru: "Сохранить",
    }
}

/// A topic as the preferences page shows it: its name and one line on what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicWords {
    /// What the page calls it.
    pub label: &'static str,
    /// What it holds.
    pub description: &'static str,
}

/// How the preferences page shows `topic`.
pub fn topic(topic: MailTopic) -> ByLanguage<TopicWords> {
    let (en, ru) = match topic {
        MailTopic::OrderUpdates => (
            TopicWords {
                label: "Order updates",
                description: "Where your order is: confirmed, shipped, late, delivered. A cancellation always reaches you, because it concerns your money.",
            },
            TopicWords {
                label: "Новости о заказах",
                description: "Где ваш заказ: подтверждён, отправлен, задерживается, доставлен. Об отмене мы сообщим всегда — это касается ваших денег.",
            },
        ),
        MailTopic::ReviewRequests => (
            TopicWords {
                label: "Review requests",
                description: "A few days after delivery, one question: how was it?",
            },
            TopicWords {
                label: "Просьбы об отзыве",
                description: "Через несколько дней после доставки — один вопрос: как всё прошло?",
            },
        ),
        MailTopic::Reminders => (
            TopicWords {
                label: "Reorder reminders",
                description: "A note before something you buy regularly runs out.",
            },
            TopicWords {
                label: "Напоминания о повторном заказе",
                description: "Напоминание, пока то, что вы покупаете регулярно, не закончилось.",
            },
        ),
        MailTopic::Offers => (
            TopicWords {
                label: "Offers",
                description: "Now and then, after a long pause, and invitations to bring a friend.",
            },
            TopicWords {
                label: "Предложения",
                description: "Изредка, после долгого перерыва, и приглашения для друзей.",
            },
        ),
    };
    ByLanguage { en, ru }
}

/// The comment form under a thanks or apology page: its label and button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentFormWords {
    /// The question above the box.
    pub label: &'static str,
    /// The button.
    pub button: &'static str,
}

/// The comment form's words.
pub fn comment_form() -> ByLanguage<CommentFormWords> {
    ByLanguage {
        en: CommentFormWords {
            label: "Anything you would like to add?",
            button: "Send",
        },
        ru: CommentFormWords {
            label: "Хотите что-нибудь добавить?",
            button: "Отправить",
        },
    }
}

/// How to reach a person at `shop`, whose support inbox is `email`: every page says it.
pub fn support_line(shop: &str, email: &str) -> ByLanguage<String> {
    ByLanguage {
        en: format!("To reach a person at {shop}, write to {email}."),
        ru: format!("Чтобы связаться с сотрудником {shop}, напишите на {email}."),
    }
}
