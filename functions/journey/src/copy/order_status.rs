//! The email of each order status, for a first, a returning and a long-standing customer.
//!
//! `id` is the order number and `shop` the shop's name; dates and amounts come formatted in the
//! language the email is written in.

use super::{ByLanguage, MessageWords};
use crate::format;

/// How long the customer has been with the shop, which sets the tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenure {
    /// This is their first order.
    First,
    /// They have ordered before.
    Returning,
    /// Ten orders or more.
    Loyal,
}

impl Tenure {
    /// The tenure at the time of the customer's `sequence`-th order.
    pub fn of_order(sequence: u32) -> Tenure {
        match sequence {
            0 | 1 => Tenure::First,
            2..=9 => Tenure::Returning,
            _ => Tenure::Loyal,
        }
    }
}

/// We have the order: the `sequence`-th of this customer.
pub fn placed(shop: &str, id: &str, tenure: Tenure, sequence: u32) -> ByLanguage<MessageWords> {
    let (en, ru) = match tenure {
        Tenure::First => (
            format!("Thank you for your first order with {shop}! We have received order {id} and will write again at every step, so you never have to wonder where it is."),
            format!("Спасибо за ваш первый заказ в {shop}! Мы получили заказ {id} и будем писать на каждом шаге, чтобы вам не приходилось гадать, где он."),
        ),
        Tenure::Returning => (
            format!("Good to see you again! We have received order {id} and will keep you posted at every step, as before."),
            format!("Рады видеть вас снова! Мы получили заказ {id} и, как и раньше, сообщим о каждом шаге."),
        ),
        Tenure::Loyal => (
            format!(
                "This is your {} order with {shop}, and we are grateful you keep coming back. Order {id} is in, and we will keep you posted at every step.",
                format::ordinal_en(u64::from(sequence))
            ),
            format!("Это ваш {sequence}-й заказ в {shop} — спасибо, что остаётесь с нами. Заказ {id} принят, мы сообщим о каждом шаге."),
        ),
    };
    if tenure == Tenure::First {
        ByLanguage {
            en: MessageWords {
                subject: format!("We have your order {id}"),
                preheader: "Thank you for your first order. Here is what happens next.".to_owned(),
                paragraphs: vec![en],
            },
            ru: MessageWords {
                subject: format!("Мы получили ваш заказ {id}"),
                preheader: "Спасибо за первый заказ. Вот что будет дальше.".to_owned(),
                paragraphs: vec![ru],
            },
        }
    } else {
        ByLanguage {
            en: MessageWords {
                subject: format!("Order {id} received, thank you"),
                preheader: "We will keep you posted at every step.".to_owned(),
                paragraphs: vec![en],
            },
            ru: MessageWords {
                subject: format!("Заказ {id} принят, спасибо"),
                preheader: "Мы сообщим о каждом шаге.".to_owned(),
                paragraphs: vec![ru],
            },
        }
    }
}

/// The shop accepted the order; `eta` is the expected delivery date, when known.
pub fn confirmed(id: &str, eta: Option<&str>) -> ByLanguage<MessageWords> {
    let (en, ru) = match eta {
        Some(eta) => (
            format!("Payment went through and your items are reserved. We are getting order {id} ready and expect it to reach you on {eta}."),
            format!("Оплата прошла, товары зарезервированы. Мы готовим заказ {id} и ожидаем доставку: {eta}."),
        ),
        None => (
            format!("Payment went through and your items are reserved. We are getting order {id} ready and will tell you when it ships."),
            format!("Оплата прошла, товары зарезервированы. Мы готовим заказ {id} и сообщим, когда он будет отправлен."),
        ),
    };
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} is confirmed"),
            preheader: "Payment received, items reserved.".to_owned(),
            paragraphs: vec![en],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} подтверждён"),
            preheader: "Оплата получена, товары зарезервированы.".to_owned(),
            paragraphs: vec![ru],
        },
    }
}

/// The order is being packed.
pub fn packed(id: &str) -> ByLanguage<MessageWords> {
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} is being packed"),
            preheader: "Next step: handing it to the carrier.".to_owned(),
            paragraphs: vec![format!("Your order {id} is being assembled and packed right now. Next, we hand it to the carrier and send you the tracking link.")],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} собирают"),
            preheader: "Следующий шаг — передача перевозчику.".to_owned(),
            paragraphs: vec![format!("Ваш заказ {id} сейчас собирают и упаковывают. Дальше мы передадим его перевозчику и пришлём ссылку для отслеживания.")],
        },
    }
}

/// The order travels with `carrier`; `eta` is the expected date, when known; `tracked` when the
/// email carries the carrier's tracking link (without one, it offers to check by reply).
pub fn shipped(
    id: &str,
    carrier: &str,
    eta: Option<&str>,
    tracked: bool,
) -> ByLanguage<MessageWords> {
    let (mut en, mut ru) = match eta {
        Some(eta) => (
            vec![format!("Order {id} has left us and is travelling with {carrier}. It should reach you on {eta}.")],
            vec![format!("Заказ {id} отправлен, его везёт {carrier}. Ожидаемая дата доставки: {eta}.")],
        ),
        None => (
            vec![format!("Order {id} has left us and is travelling with {carrier}.")],
            vec![format!("Заказ {id} отправлен, его везёт {carrier}.")],
        ),
    };
    if !tracked {
        en.push("The carrier has not given us a tracking link for this parcel. If you would like us to check where it is, reply to this email.".to_owned());
        ru.push("Перевозчик не дал ссылку для отслеживания этой посылки. Если хотите, чтобы мы проверили, где она, ответьте на это письмо.".to_owned());
    }
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} is on its way"),
            preheader: eta.map_or_else(
                || "Your parcel is with the carrier.".to_owned(),
                |e| format!("Expected {e}."),
            ),
            paragraphs: en,
        },
        ru: MessageWords {
            subject: format!("Заказ {id} в пути"),
            preheader: eta.map_or_else(
                || "Посылка у перевозчика.".to_owned(),
                |e| format!("Ожидаемая доставка: {e}."),
            ),
            paragraphs: ru,
        },
    }
}

/// The courier is on the way.
pub fn out_for_delivery(id: &str) -> ByLanguage<MessageWords> {
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} arrives within the hour"),
            preheader: "The courier is on the way.".to_owned(),
            paragraphs: vec![format!("The courier is on the way with order {id} and should arrive within the hour. Please keep your phone close in case they call.")],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} приедет в течение часа"),
            preheader: "Курьер уже в пути.".to_owned(),
            paragraphs: vec![format!("Курьер уже едет с заказом {id} и будет у вас в течение часа. Держите, пожалуйста, телефон под рукой — курьер может позвонить.")],
        },
    }
}

/// The order was delivered.
pub fn delivered(shop: &str, id: &str, tenure: Tenure) -> ByLanguage<MessageWords> {
    let (en, ru) = match tenure {
        Tenure::First => (
            format!("Order {id} has been delivered. We hope you love it, and that this first order with {shop} is the start of something good."),
            format!("Заказ {id} доставлен. Надеемся, вам всё понравится и этот первый заказ в {shop} — только начало."),
        ),
        Tenure::Returning | Tenure::Loyal => (
            format!("Order {id} has been delivered. Thank you for shopping with {shop} again."),
            format!("Заказ {id} доставлен. Спасибо, что снова выбрали {shop}."),
        ),
    };
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} has been delivered"),
            preheader: "We hope you love it.".to_owned(),
            paragraphs: vec![
                en,
                "If anything is missing, damaged or not what you expected, reply to this email and we will put it right.".to_owned(),
            ],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} доставлен"),
            preheader: "Надеемся, вам всё понравится.".to_owned(),
            paragraphs: vec![
                ru,
                "Если чего-то не хватает, что-то повреждено или не соответствует ожиданиям, ответьте на это письмо — мы всё исправим.".to_owned(),
            ],
        },
    }
}

/// The order is late, for `reason`, and now expected on `new_date`.
pub fn delayed(id: &str, reason: &str, new_date: &str) -> ByLanguage<MessageWords> {
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} is delayed: new date {new_date}"),
            preheader: format!("Reason: {reason}."),
            paragraphs: vec![
                format!("We are sorry: order {id} is running late. The reason: {reason}. The new delivery date is {new_date}."),
                "You do not need to do anything. If the new date does not work for you, reply to this email and a person will help you find another way.".to_owned(),
            ],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} задерживается: новая дата {new_date}"),
            preheader: format!("Причина: {reason}."),
            paragraphs: vec![
                format!("Приносим извинения: заказ {id} задерживается. Причина: {reason}. Новая дата доставки — {new_date}."),
                "Ничего делать не нужно. Если новая дата вам не подходит, ответьте на это письмо — сотрудник поможет найти решение.".to_owned(),
            ],
        },
    }
}

/// The order was cancelled, for `reason` when the shop gave one; `refund` is the amount
/// refunded, when the shop said, else `total` is what goes back if the customer was charged.
pub fn cancelled(
    id: &str,
    reason: Option<&str>,
    refund: Option<&str>,
    total: Option<&str>,
) -> ByLanguage<MessageWords> {
    let (why_en, why_ru) = match reason {
        Some(reason) => (
            format!("Order {id} has been cancelled. The reason: {reason}."),
            format!("Заказ {id} отменён. Причина: {reason}."),
        ),
        None => (
            format!("Order {id} has been cancelled."),
            format!("Заказ {id} отменён."),
        ),
    };
    let (money_en, money_ru) = match (refund, total) {
        (Some(refund), _) => (
            format!("We have refunded {refund} to your original payment method. Banks usually take 3 to 10 business days to show it."),
            format!("Мы вернули {refund} на карту или счёт, с которого вы платили. Обычно банку нужно от 3 до 10 рабочих дней, чтобы деньги отобразились."),
        ),
        (None, Some(total)) => (
            format!("If you were charged, the full {total} goes back to your original payment method. Banks usually take 3 to 10 business days to show it."),
            format!("Если оплата была списана, вся сумма {total} вернётся туда, откуда вы платили. Обычно банку нужно от 3 до 10 рабочих дней."),
        ),
        (None, None) => (
            "If you were charged, the money goes back to your original payment method. Banks usually take 3 to 10 business days to show it.".to_owned(),
            "Если оплата была списана, деньги вернутся туда, откуда вы платили. Обычно банку нужно от 3 до 10 рабочих дней.".to_owned(),
        ),
    };
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} has been cancelled"),
            preheader: "Here is what happens to your money.".to_owned(),
            paragraphs: vec![
                why_en,
                money_en,
                "If you did not ask for this, or would still like these items, reply to this email and we will sort it out.".to_owned(),
            ],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} отменён"),
            preheader: "Что будет с деньгами.".to_owned(),
            paragraphs: vec![
                why_ru,
                money_ru,
                "Если вы не отменяли заказ или всё ещё хотите эти товары, ответьте на это письмо — мы разберёмся.".to_owned(),
            ],
        },
    }
}
