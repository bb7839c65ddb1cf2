//! The small pages the feedback endpoint answers with, in the customer's language: thanks,
//! an apology with the promise of a person, and honest error pages. Every value is escaped.

use serde::Serialize;

use crate::contact::Language;
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
    /// A request we cannot take (a bad score, an empty or overlong comment).
    BadRequest,
    /// Our fault.
    Internal,
}

impl Page {
    /// The HTTP status that goes with it.
    pub fn status(self) -> u16 {
        match self {
            Page::Thanks | Page::Apology | Page::CommentReceived => 200,
            Page::InvalidLink => 403,
            Page::ExpiredLink => 410,
            Page::UnknownOrder => 404,
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
    support: String,
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
        (Page::BadRequest, true) => ("We could not take this", vec![]),
        (Page::BadRequest, false) => ("Не удалось принять ответ", vec![]),
        (Page::Internal, true) => ("Something went wrong on our side", vec!["Please try again in a few minutes, or reply to our email.".to_owned()]),
        (Page::Internal, false) => ("Что-то пошло не так на нашей стороне", vec!["Попробуйте ещё раз через несколько минут или ответьте на наше письмо.".to_owned()]),
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
    let support = if en {
        format!(
            "To reach a person at {shop}, write to {}.",
            brand.support_email
        )
    } else {
        format!(
            "Чтобы связаться с сотрудником {shop}, напишите на {}.",
            brand.support_email
        )
    };
    let copy = PageCopy {
        title: title.to_owned(),
        paragraphs,
        form,
        support,
    };
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
}
