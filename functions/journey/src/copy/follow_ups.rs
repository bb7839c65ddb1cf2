//! The follow-up emails: the delivery reminder, the review request with its one-click rating
//! links, the repurchase reminder, reactivation, and the watchdog's honest update.
//!
//! `id` is the order number and `shop` the shop's name; dates and counts come formatted in the
//! language the email is written in.

use super::{ByLanguage, MessageWords};
use crate::status::OrderStatus;

/// The order should arrive tomorrow, on `eta`.
pub fn delivery_reminder(id: &str, eta: &str) -> ByLanguage<MessageWords> {
    ByLanguage {
        en: MessageWords {
            subject: format!("Order {id} arrives tomorrow"),
            preheader: format!("Expected {eta}."),
            paragraphs: vec![format!("Order {id} should arrive tomorrow, {eta}. If nobody will be home, reply to this email and we will help you arrange another time or place.")],
        },
        ru: MessageWords {
            subject: format!("Заказ {id} приедет завтра"),
            preheader: format!("Ожидаемая доставка: {eta}."),
            paragraphs: vec![format!("Заказ {id} должен приехать завтра, {eta}. Если вас не будет дома, ответьте на это письмо — поможем договориться о другом времени или месте.")],
        },
    }
}

/// The words of a review request: the message, and the labels of its five rating links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRequestWords {
    /// Subject, preview and paragraphs.
    pub message: MessageWords,
    /// The label of the link for each score, 1 to 5.
    pub choices: [String; 5],
}

/// How is the order? `one_click` when the email carries the rating links (without them, it
/// asks for a reply).
pub fn review_request(shop: &str, id: &str, one_click: bool) -> ByLanguage<ReviewRequestWords> {
    let (ask_en, ask_ru) = if one_click {
        (
            format!("Your order {id} arrived a few days ago. How is it? One click below tells us, and every answer is read by a person at {shop}."),
            format!("Ваш заказ {id} пришёл несколько дней назад. Как он вам? Один клик ниже — и мы узнаем; каждый ответ читает сотрудник {shop}."),
        )
    } else {
        (
            format!("Your order {id} arrived a few days ago. How is it? Reply to this email and tell us: every answer is read by a person at {shop}."),
            format!("Ваш заказ {id} пришёл несколько дней назад. Как он вам? Ответьте на это письмо — каждый ответ читает сотрудник {shop}."),
        )
    };
    let stars = |score: usize| "★".repeat(score);
    ByLanguage {
        en: ReviewRequestWords {
            message: MessageWords {
                subject: format!("How is your order {id}?"),
                preheader: "One click to rate it.".to_owned(),
                paragraphs: vec![
                    ask_en,
                    "Something not right? Reply to this email instead: a person will answer."
                        .to_owned(),
                ],
            },
            choices: [
                format!("{} Poor", stars(1)),
                stars(2),
                stars(3),
                stars(4),
                format!("{} Excellent", stars(5)),
            ],
        },
        ru: ReviewRequestWords {
            message: MessageWords {
                subject: format!("Как вам заказ {id}?"),
                preheader: "Оцените в один клик.".to_owned(),
                paragraphs: vec![
                    ask_ru,
                    "Что-то не так? Просто ответьте на это письмо — вам ответит сотрудник."
                        .to_owned(),
                ],
            },
            choices: [
                format!("{} Плохо", stars(1)),
                stars(2),
                stars(3),
                stars(4),
                format!("{} Отлично", stars(5)),
            ],
        },
    }
}

/// The customer's `item` may run out around `run_out`.
pub fn repurchase(item: &str, run_out: &str) -> ByLanguage<MessageWords> {
    ByLanguage {
        en: MessageWords {
            subject: format!("Running low on {item}?"),
            preheader: format!("It may run out around {run_out}."),
            paragraphs: vec![format!("Going by your last order, your {item} may run out around {run_out}. If you would like more, now is a good time to order, so there is no gap.")],
        },
        ru: MessageWords {
            subject: format!("«{item}» скоро закончится?"),
            preheader: format!("Может закончиться примерно {run_out}."),
            paragraphs: vec![format!("Судя по прошлому заказу, «{item}» может закончиться примерно {run_out}. Если хотите ещё, самое время заказать, чтобы не остаться без него.")],
        },
    }
}

/// A hello to a customer who has not ordered for `days` ("120 days"): the `first` attempt, or
/// the last one; `bought` names what they chose last time, when we know.
pub fn reactivation(
    shop: &str,
    days: &str,
    first: bool,
    bought: Option<&str>,
) -> ByLanguage<MessageWords> {
    let mut en = if first {
        MessageWords {
            subject: format!("We miss you at {shop}"),
            preheader: "A hello, and what is new.".to_owned(),
            paragraphs: vec![format!("It has been {days} since your last order, and we wanted to say hello. We are still here, and still packing every order by hand.")],
        }
    } else {
        MessageWords {
            subject: format!("One last hello from {shop}"),
            preheader: "We will not write about this again.".to_owned(),
            paragraphs: vec!["One last note from us, and then we will stop writing about it: if you ever want to come back, we would be glad to see you.".to_owned()],
        }
    };
    let mut ru = if first {
        MessageWords {
            subject: format!("Мы скучаем по вам — {shop}"),
            preheader: "Привет и новости.".to_owned(),
            paragraphs: vec![format!("Прошло {days} с вашего последнего заказа, и мы решили напомнить о себе. Мы всё там же и по-прежнему собираем каждый заказ вручную.")],
        }
    } else {
        MessageWords {
            subject: format!("Последний привет от {shop}"),
            preheader: "Больше не будем писать об этом.".to_owned(),
            paragraphs: vec![
                "Последнее письмо от нас на эту тему: если захотите вернуться, мы будем рады."
                    .to_owned(),
            ],
        }
    };
    if let Some(list) = bought {
        en.paragraphs.push(format!("Last time you chose: {list}."));
        ru.paragraphs
            .push(format!("В прошлый раз вы выбрали: {list}."));
    }
    ByLanguage { en, ru }
}

/// The watchdog's update: order `id` has been in `status` since `since`, longer than it should.
pub fn watchdog(id: &str, status: OrderStatus, since: &str) -> ByLanguage<MessageWords> {
    let (status_en, status_ru) = match status {
        OrderStatus::Placed | OrderStatus::Confirmed => ("waiting to be packed", "ждёт сборки"),
        OrderStatus::Packed => (
            "packed and waiting for the carrier",
            "собран и ждёт перевозчика",
        ),
        OrderStatus::OutForDelivery => ("out for delivery", "у курьера"),
        _ => ("with the carrier", "у перевозчика"),
    };
    ByLanguage {
        en: MessageWords {
            subject: format!("An update on order {id}: we have not forgotten you"),
            preheader: "A person is looking into it.".to_owned(),
            paragraphs: vec![
                format!("We have not forgotten you. Order {id} has been {status_en} since {since}, which is longer than it should be, and we have not had news since."),
                "A person on our team is looking into it now and will write to you with what they find. You do not need to do anything, but you can always reply to this email.".to_owned(),
            ],
        },
        ru: MessageWords {
            subject: format!("Новости о заказе {id}: мы о вас помним"),
            preheader: "Сотрудник уже разбирается.".to_owned(),
            paragraphs: vec![
                format!("Мы о вас помним. Заказ {id} {status_ru} с {since} — дольше, чем должен, и новостей с тех пор нет."),
                "Сотрудник уже разбирается и напишет вам, что удалось выяснить. Ничего делать не нужно, но вы всегда можете ответить на это письмо.".to_owned(),
            ],
        },
    }
}
