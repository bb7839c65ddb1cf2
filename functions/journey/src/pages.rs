//! The small pages the feedback endpoint answers with, in the customer's language: thanks,
//! an apology with the promise of a person, and honest error pages. Every value is escaped.

use serde::Serialize;

use crate::contact::Language;
use crate::profile::MailTopic;
use crate::settings::Brand;

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// After a happy or neutral rating.
    Thanks,
    /// After an unhappy rating.
    Apology,
    /// After a comment.
    CommentReceived,
    /// A link that is malformed, forged or altered.
    InvalidLink,
    /// A link past its expiry.
    ExpiredLink,
    /// A link for an order we do not know.
    UnknownOrder,
    /// A preferences link for a customer we do not know (any more).
    UnknownCustomer,
    /// A request we cannot take (a bad score, an empty or overlong comment).
    BadRequest,
    /// Our fault.
    Internal,
    /// The customer's email preferences.
    Preferences,
}

impl Page {
    /// The HTTP status that goes with it.
    pub fn status(self) -> u16 {
        match self {
            Page::Thanks | Page::Apology | Page::CommentReceived | Page::Preferences => 200,
            Page::InvalidLink => 403,
            Page::ExpiredLink => 410,
            Page::UnknownOrder | Page::UnknownCustomer => 404,
            Page::BadRequest => 400,
            Page::Internal => 500,
        }
    }
}

/// The comment form under a thanks or apology page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentForm {
    /// Where it posts.
    pub action: String,
    /// The rating link's token, which vouches for the comment.
    pub token: String,
    /// The label.
    pub label: String,
    /// The button.
    pub button: String,
}

#[derive(Serialize)]
struct PageCopy {
    title: String,
    paragraphs: Vec<String>,
    form: Option<CommentForm>,
    preferences: Option<PreferencesForm>,
    support: String,
}

/// The preferences form: one checkbox per topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct PreferencesForm {
    action: String,
    token: String,
    topics: Vec<TopicChoice>,
    button: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct TopicChoice {
    name: &'static str,
    label: &'static str,
    description: &'static str,
    checked: bool,
}

/// What the preferences page says above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferencesNotice {
    /// Just the form (a GET of the link).
    None,
    /// The one-click unsubscribe took effect for this topic.
    Unsubscribed(MailTopic),
    /// The form was saved.
    Saved,
}

/// Renders the preferences page: a checkbox per topic, checked when the customer receives it,
/// posting to `action` with `token`. `suppressed` adds that mail to the address bounced.
pub fn render_preferences(
    brand: &Brand,
    language: Language,
    (action, token): (&str, &str),
    subscribed: &[(MailTopic, bool)],
    notice: PreferencesNotice,
    suppressed: bool,
) -> String {
    let en = language == Language::En;
    let mut paragraphs = Vec::new();
    match (notice, en) {
        (PreferencesNotice::Unsubscribed(topic), true) => paragraphs.push(format!(
            "You are unsubscribed from “{}”. You can change it back below at any time.",
            topic.label(language)
        )),
        (PreferencesNotice::Unsubscribed(topic), false) => paragraphs.push(format!(
            "Вы отписались от рассылки «{}». Это можно изменить ниже в любой момент.",
            topic.label(language)
        )),
        (PreferencesNotice::Saved, true) => {
            paragraphs.push("Saved. We will only send what is ticked.".to_owned())
        }
        (PreferencesNotice::Saved, false) => {
            paragraphs.push("Сохранено. Мы будем присылать только отмеченное.".to_owned())
        }
        (PreferencesNotice::None, true) => {
            paragraphs.push("Tick what you would like to receive from us.".to_owned())
        }
        (PreferencesNotice::None, false) => {
            paragraphs.push("Отметьте, какие письма вы хотите получать.".to_owned())
        }
    }
    if suppressed {
        paragraphs.push(if en {
            "We have stopped sending to your address because mail to it was returned. Write to us if it works again.".to_owned()
        } else {
            "Мы перестали отправлять письма на ваш адрес: они возвращались. Напишите нам, если адрес снова работает.".to_owned()
        });
    }
    let preferences = PreferencesForm {
        action: action.to_owned(),
        token: token.to_owned(),
        topics: subscribed
            .iter()
            .map(|(topic, checked)| TopicChoice {
                name: topic.as_str(),
                label: topic.label(language),
                description: topic.description(language),
                checked: *checked,
            })
            .collect(),
        button: if en { "Save" } else { "Сохранить" }.to_owned(),
    };
    let title = if en {
        "Your email preferences"
    } else {
        "Какие письма вы получаете"
    };
    render(
        Page::Preferences,
        brand,
        language,
        PageCopy {
            title: title.to_owned(),
            paragraphs,
            form: None,
            preferences: Some(preferences),
            support: support_line(brand, language),
        },
    )
}

/// Renders `page` for `brand` in `language`; `form` is `(action, token)` for pages that take a
/// comment, `detail` an extra sentence for error pages (never internal details).
pub fn render_page(
    page: Page,
    brand: &Brand,
    language: Language,
    form: Option<(&str, &str)>,
    detail: Option<&str>,
) -> String {
    let en = language == Language::En;
    let shop = brand.shop_name.as_str();
    let (title, mut paragraphs) = match (page, en) {
        (Page::Thanks, true) => ("Thank you!", vec!["Your rating reached us. It helps us do better.".to_owned()]),
        (Page::Thanks, false) => ("Спасибо!", vec!["Ваша оценка получена. Она помогает нам стать лучше.".to_owned()]),
        (Page::Apology, true) => ("We are sorry", vec![format!("Thank you for telling us. A person from {shop} will get in touch with you personally to put it right.")]),
        (Page::Apology, false) => ("Простите нас", vec![format!("Спасибо, что рассказали. Сотрудник {shop} свяжется с вами лично, чтобы всё исправить.")]),
        (Page::CommentReceived, true) => ("We have your comment", vec!["Thank you. A person reads every comment.".to_owned()]),
        (Page::CommentReceived, false) => ("Комментарий получен", vec!["Спасибо. Каждый комментарий читает сотрудник.".to_owned()]),
        (Page::InvalidLink, true) => ("This link does not work", vec!["It may have been copied incompletely or changed. Nothing was recorded.".to_owned()]),
        (Page::InvalidLink, false) => ("Ссылка не работает", vec!["Возможно, она скопирована не полностью или изменена. Ничего не записано.".to_owned()]),
        (Page::ExpiredLink, true) => ("This link has expired", vec!["Rating links work for a limited time. Nothing was recorded; you can still reply to our email.".to_owned()]),
        (Page::ExpiredLink, false) => ("Срок действия ссылки истёк", vec!["Ссылки для оценки действуют ограниченное время. Ничего не записано; вы можете ответить на наше письмо.".to_owned()]),
        (Page::UnknownOrder, true) => ("We could not find this order", vec!["Nothing was recorded.".to_owned()]),
        (Page::UnknownOrder, false) => ("Заказ не найден", vec!["Ничего не записано.".to_owned()]),
        (Page::UnknownCustomer, true) => ("We could not find your details", vec!["We hold no email preferences for this link. Nothing was changed.".to_owned()]),
        (Page::UnknownCustomer, false) => ("Мы не нашли ваши данные", vec!["Для этой ссылки у нас нет настроек рассылки. Ничего не изменено.".to_owned()]),
        (Page::BadRequest, true) => ("We could not take this", vec![]),
        (Page::BadRequest, false) => ("Не удалось принять ответ", vec![]),
        (Page::Internal, true) => ("Something went wrong on our side", vec!["Please try again in a few minutes, or reply to our email.".to_owned()]),
        (Page::Internal, false) => ("Что-то пошло не так на нашей стороне", vec!["Попробуйте ещё раз через несколько минут или ответьте на наше письмо.".to_owned()]),
        (Page::Preferences, true) => ("Your email preferences", vec![]),
        (Page::Preferences, false) => ("Какие письма вы получаете", vec![]),
    };
    if let Some(detail) = detail {
        paragraphs.push(detail.to_owned());
    }
    let form = form.map(|(action, token)| CommentForm {
        action: action.to_owned(),
        token: token.to_owned(),
        label: if en {
            "Anything you would like to add?"
        } else {
            "Хотите что-нибудь добавить?"
        }
        .to_owned(),
        button: if en { "Send" } else { "Отправить" }.to_owned(),
    });
    let copy = PageCopy {
        title: title.to_owned(),
        paragraphs,
        form,
        preferences: None,
        support: support_line(brand, language),
    };
    render(page, brand, language, copy)
}

fn support_line(brand: &Brand, language: Language) -> String {
    let shop = brand.shop_name.as_str();
    if language == Language::En {
        format!(
            "To reach a person at {shop}, write to {}.",
            brand.support_email
        )
    } else {
        format!(
            "Чтобы связаться с сотрудником {shop}, напишите на {}.",
            brand.support_email
        )
    }
}

fn render(page: Page, brand: &Brand, language: Language, copy: PageCopy) -> String {
    let shop = brand.shop_name.as_str();
    crate::render::render_named(
        "page.html",
        minijinja::context! { page => copy, shop => shop, lang => language.tag() },
    )
    .unwrap_or_else(|_| {
        format!(
            "<!DOCTYPE html><title>{}</title><p>{}</p>",
            page.status(),
            shop.replace('<', "&lt;")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_localised_escaped_and_carry_the_comment_form() {
        let brand = crate::fixtures::settings().brand;
        let html = render_page(
            Page::Apology,
            &brand,
            Language::Ru,
            Some(("/rate/comment", "v1.k1.a\"b.c")),
            None,
        );
        assert!(html.contains("Простите нас") && html.contains("name=\"comment\""));
        assert!(!html.contains("a\"b"), "the token is attribute-escaped");
        assert!(html.contains("help@leafandkettle.example"));
        let html = render_page(
            Page::BadRequest,
            &brand,
            Language::En,
            None,
            Some("<script>x</script>"),
        );
        assert!(!html.contains("<script>"));
        assert_eq!(Page::ExpiredLink.status(), 410);
    }

    #[test]
    fn the_preferences_page_shows_each_topic_checked_as_chosen_and_escapes_the_token() {
        let brand = crate::fixtures::settings().brand;
        let html = render_preferences(
            &brand,
            Language::En,
            ("/preferences", "p1.k1.a\"b.c"),
            &[
                (MailTopic::OrderUpdates, true),
                (MailTopic::ReviewRequests, true),
                (MailTopic::Reminders, false),
                (MailTopic::Offers, true),
            ],
            PreferencesNotice::Unsubscribed(MailTopic::Reminders),
            false,
        );
        assert!(html.contains("You are unsubscribed from “Reorder reminders”"));
        assert!(
            html.contains(r#"name="topic" value="reminders">"#),
            "{html}"
        );
        assert!(html.contains(r#"name="topic" value="offers" checked>"#));
        assert!(!html.contains("a\"b"));
        let ru = render_preferences(
            &brand,
            Language::Ru,
            ("/preferences", "t"),
            &[(MailTopic::Offers, false)],
            PreferencesNotice::Saved,
            true,
        );
        assert!(ru.contains("Сохранено") && ru.contains("возвращались"));
    }
}
