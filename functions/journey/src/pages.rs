//! The small pages the feedback endpoint answers with, in the customer's language: thanks,
//! an apology with the promise of a person, honest error pages, and the email preferences
//! page. Their words are in [`crate::copy::pages`]; every value is escaped.

use serde::Serialize;

use crate::contact::Language;
use crate::copy::pages::{self as words, PageWords};
use crate::copy::ByLanguage;
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
    let unsubscribed = match notice {
        PreferencesNotice::Unsubscribed(topic) => Some(words::topic(topic).pick(language).label),
        PreferencesNotice::Saved | PreferencesNotice::None => None,
    };
    let mut paragraphs =
        vec![
            words::preferences_notice(unsubscribed, notice == PreferencesNotice::Saved)
                .pick(language),
        ];
    if suppressed {
        paragraphs.push(words::suppressed().pick(language).to_owned());
    }
    let preferences = PreferencesForm {
        action: action.to_owned(),
        token: token.to_owned(),
        topics: subscribed
            .iter()
            .map(|(topic, checked)| {
                let shown = words::topic(*topic).pick(language);
                TopicChoice {
                    name: topic.as_str(),
                    label: shown.label,
                    description: shown.description,
                    checked: *checked,
                }
            })
            .collect(),
        button: words::save_button().pick(language).to_owned(),
    };
    render(
        Page::Preferences,
        brand,
        language,
        PageCopy {
            title: words::preferences_title().pick(language).to_owned(),
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
    let shop = brand.shop_name.as_str();
    let mut shown = match page {
        Page::Thanks => words::thanks(),
        Page::Apology => words::apology(shop),
        Page::CommentReceived => words::comment_received(),
        Page::InvalidLink => words::invalid_link(),
        Page::ExpiredLink => words::expired_link(),
        Page::UnknownOrder => words::unknown_order(),
        Page::UnknownCustomer => words::unknown_customer(),
        Page::BadRequest => words::bad_request(),
        Page::Internal => words::internal(),
        Page::Preferences => {
            let title = words::preferences_title();
            ByLanguage {
                en: PageWords {
                    title: title.en,
                    paragraphs: Vec::new(),
                },
                ru: PageWords {
                    title: title.ru,
                    paragraphs: Vec::new(),
                },
            }
        }
    }
    .pick(language);
    if let Some(detail) = detail {
        shown.paragraphs.push(detail.to_owned());
    }
    let form = form.map(|(action, token)| {
        let form = words::comment_form().pick(language);
        CommentForm {
            action: action.to_owned(),
            token: token.to_owned(),
            label: form.label.to_owned(),
            button: form.button.to_owned(),
        }
    });
    let copy = PageCopy {
        title: shown.title.to_owned(),
        paragraphs: shown.paragraphs,
        form,
        preferences: None,
        support: support_line(brand, language),
    };
    render(page, brand, language, copy)
}

/// How to reach a person at the shop, in `language`.
fn support_line(brand: &Brand, language: Language) -> String {
    words::support_line(brand.shop_name.as_str(), &brand.support_email.to_string()).pick(language)
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
