//! The words every message shares: the greeting, how to reach a person, the footers, the link
//! to the preferences page, and the labels of facts and buttons.

use super::ByLanguage;

/// The greeting, with the customer's first name when we know it.
pub fn greeting(first_name: Option<&str>) -> ByLanguage<String> {
    match first_name {
        Some(name) => ByLanguage {
            en: format!("Hi {name},"),
            ru: format!("Здравствуйте, {name}!"),
        },
        None => ByLanguage {
            en: "Hello,".to_owned(),
            ru: "Здравствуйте!".to_owned(),
        },
    }
}

/// How to reach a person: the sentence inviting a reply, and the help page's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportWords {
    /// The sentence inviting a reply, naming the support inbox.
    pub text: String,
    /// The label of the link to the help page.
    pub help_page: &'static str,
}

/// How to reach a person at `shop`, whose support inbox is `email`: every message has it.
pub fn support(shop: &str, email: &str) -> ByLanguage<SupportWords> {
    ByLanguage {
        en: SupportWords {
            text: format!("Questions, or something not right? Just reply to this email: a person at {shop} reads every reply. You can also write to {email}."),
            help_page: "Help centre",
        },
        ru: SupportWords {
            text: format!("Есть вопрос или что-то не так? Просто ответьте на это письмо: его прочитает сотрудник {shop}. Можно также написать на {email}."),
            help_page: "Центр помощи",
        },
    }
}

/// The footer of transactional messages: why the customer receives them, always.
pub fn footer(shop: &str) -> ByLanguage<String> {
    ByLanguage {
        en: format!("You receive this email because you ordered from {shop}. Updates about your orders are part of the purchase and are always sent."),
        ru: format!("Вы получили это письмо, потому что сделали заказ в {shop}. Уведомления о заказах — часть покупки, они приходят всегда."),
    }
}

/// The footer of messages the customer did not ask for: why they get it and how to stop it
/// (the preferences link below when `has_link`, a reply to a person otherwise).
pub fn engagement_footer(shop: &str, has_link: bool) -> ByLanguage<String> {
    if has_link {
        ByLanguage {
            en: format!("You receive this because you bought from {shop}."),
            ru: format!("Вы получили это письмо, потому что покупали в {shop}."),
        }
    } else {
        ByLanguage {
            en: format!("You receive this because you bought from {shop}. Don't want these emails? Reply to this one and a person will take you off the list."),
            ru: format!("Вы получили это письмо, потому что покупали в {shop}. Не хотите получать такие письма? Ответьте на это — сотрудник исключит вас из рассылки."),
        }
    }
}

/// The label of the footer's link to the preferences page: a message the customer can do
/// without offers to unsubscribe, a `transactional` one only to choose.
pub fn preferences_label(transactional: bool) -> ByLanguage<&'static str> {
    if transactional {
        ByLanguage {
            en: "Choose which emails you get",
            ru: "Выбрать, какие письма получать",
        }
    } else {
        ByLanguage {
            en: "Unsubscribe or choose which emails you get",
            ru: "Отписаться или выбрать, какие письма получать",
        }
    }
}

/// The labels of the fact rows and buttons messages show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    /// The order number.
    pub order: &'static str,
    /// What the order holds: "3 items, €27.00".
    pub contents: &'static str,
    /// When the order was placed.
    pub placed: &'static str,
    /// The date the parcel should arrive.
    pub expected_delivery: &'static str,
    /// Who carries the parcel.
    pub carrier: &'static str,
    /// When the order was delivered.
    pub delivered: &'static str,
    /// Why the order is late or was cancelled.
    pub reason: &'static str,
    /// The date a late order should arrive now.
    pub new_delivery_date: &'static str,
    /// The date a late order was expected before.
    pub previously_expected: &'static str,
    /// When the order last had news.
    pub last_update: &'static str,
    /// The category the customer buys most.
    pub favourite: &'static str,
    /// The customer's referral code.
    pub referral_code: &'static str,
    /// The button to the carrier's tracking page.
    pub track_parcel: &'static str,
    /// The button to follow the courier on the last mile.
    pub follow_courier: &'static str,
    /// The button to the shop's front page, to order again.
    pub order_again: &'static str,
}

/// The labels, in every language.
pub const LABELS: ByLanguage<Labels> = ByLanguage {
    en: Labels {
        order: "Order",
        contents: "Contents",
        placed: "Placed",
        expected_delivery: "Expected delivery",
        carrier: "Carrier",
        delivered: "Delivered",
        reason: "Reason",
        new_delivery_date: "New delivery date",
        previously_expected: "Previously expected",
        last_update: "Last update",
        favourite: "Your favourite",
        referral_code: "Your code",
        track_parcel: "Track your parcel",
        follow_courier: "Follow the courier",
        order_again: "Order again",
    },
    ru: Labels {
        order: "Заказ",
        contents: "Состав",
        placed: "Оформлен",
        expected_delivery: "Ожидаемая доставка",
        carrier: "Перевозчик",
        delivered: "Доставлен",
        reason: "Причина",
        new_delivery_date: "Новая дата доставки",
        previously_expected: "Ожидалась ранее",
        last_update: "Последнее обновление",
        favourite: "Ваше любимое",
        referral_code: "Ваш код",
        track_parcel: "Отследить посылку",
        follow_courier: "Следить за курьером",
        order_again: "Заказать снова",
    },
};
