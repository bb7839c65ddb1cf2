//! The words every message shares: the greeting, how to reach a person, and the footers.

use crate::contact::Language;
use crate::profile::Profile;
use crate::render::Support;
use crate::settings::{Brand, Settings};

fn first_name(profile: &Profile) -> Option<&str> {
    profile
        .name
        .as_ref()
        .and_then(|n| n.as_str().split_whitespace().next())
}

pub(crate) fn greeting(profile: &Profile, language: Language) -> String {
    match (language, first_name(profile)) {
        (Language::En, Some(name)) => format!("Hi {name},"),
        (Language::En, None) => "Hello,".to_owned(),
        (Language::Ru, Some(name)) => format!("Здравствуйте, {name}!"),
        (Language::Ru, None) => "Здравствуйте!".to_owned(),
    }
}

pub(crate) fn support(brand: &Brand, language: Language) -> Support {
    let shop = brand.shop_name.as_str();
    let email = brand.support_email.as_str().to_owned();
    let (text, url_label) = match language {
        Language::En => (
            format!("Questions, or something not right? Just reply to this email: a person at {shop} reads every reply. You can also write to {email}."),
            "Help centre",
        ),
        Language::Ru => (
            format!("Есть вопрос или что-то не так? Просто ответьте на это письмо: его прочитает сотрудник {shop}. Можно также написать на {email}."),
            "Центр помощи",
        ),
    };
    Support {
        text,
        email,
        url: brand.support_url.as_ref().map(|u| u.as_str().to_owned()),
        url_label: url_label.to_owned(),
    }
}

pub(crate) fn footer(brand: &Brand, language: Language) -> String {
    let shop = brand.shop_name.as_str();
    match language {
        Language::En => format!("You receive this email because you ordered from {shop}. Updates about your orders are part of the purchase and are always sent."),
        Language::Ru => format!("Вы получили это письмо, потому что сделали заказ в {shop}. Уведомления о заказах — часть покупки, они приходят всегда."),
    }
}

/// The footer of messages the customer did not ask for: why they get it and how to stop it
/// (the preferences link when there is one, a reply to a person otherwise).
pub(crate) fn engagement_footer(settings: &Settings, language: Language, has_link: bool) -> String {
    let shop = settings.brand.shop_name.as_str();
    match (language, has_link) {
        (Language::En, true) => format!("You receive this because you bought from {shop}."),
        (Language::En, false) => format!("You receive this because you bought from {shop}. Don't want these emails? Reply to this one and a person will take you off the list."),
        (Language::Ru, true) => format!("Вы получили это письмо, потому что покупали в {shop}."),
        (Language::Ru, false) => format!("Вы получили это письмо, потому что покупали в {shop}. Не хотите получать такие письма? Ответьте на это — сотрудник исключит вас из рассылки."),
    }
}

/// The label of the footer's link to the preferences page: a message the customer can do
/// without offers to unsubscribe, a transactional one only to choose.
pub(crate) fn preferences_label(transactional: bool, language: Language) -> String {
    match (transactional, language) {
        (false, Language::En) => "Unsubscribe or choose which emails you get",
        (false, Language::Ru) => "Отписаться или выбрать, какие письма получать",
        (true, Language::En) => "Choose which emails you get",
        (true, Language::Ru) => "Выбрать, какие письма получать",
    }
    .to_owned()
}
