//! The email telling a customer their order has a new status, assembled from the shared
//! layout and the words of [`crate::copy::order_status`].

use chrono::{DateTime, Utc};

use crate::consent::preferences_action;
use crate::contact::Language;
use crate::copy::shared::{footer, greeting, support};
use crate::event::OrderEvent;
use crate::format;
use crate::message::{MessageId, MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::profile::Profile;
use crate::render::{fact, items, render, Action, Copy, RenderError};
use crate::settings::{Brand, Settings};
use crate::status::OrderStatus;

/// Composes the status message of `kind` for an applied `event`.
pub(crate) fn compose(
    kind: MessageKind,
    profile: &Profile,
    order: &Order,
    event: &OrderEvent,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<OutgoingMessage, RenderError> {
    let language = profile.locale.language();
    let ctx = OrderMessageContext {
        brand: &settings.brand,
        profile,
        order,
    };
    let mut copy = order_status_copy(event.status, &ctx, language);
    copy.preferences = preferences_action(settings, &profile.customer_id, kind, language);
    let rendered = render(&copy, settings.brand.shop_name.as_str(), language)?;
    Ok(OutgoingMessage {
        id: MessageId::derive(&profile.customer_id, event.event_id.as_str(), kind),
        kind,
        customer_id: profile.customer_id.clone(),
        order_id: Some(order.order_id.clone()),
        to: profile.email.clone(),
        to_name: profile.name.clone(),
        language,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        trigger: format!("event:{}", event.event_id),
        decided_at: now,
        reason: format!(
            "order {} is {} (event {})",
            order.order_id, event.status, event.event_id
        ),
        list_unsubscribe: None,
    })
}

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

/// What the copy of an order-status message is made from.
pub struct OrderMessageContext<'a> {
    /// The shop.
    pub brand: &'a Brand,
    /// The customer.
    pub profile: &'a Profile,
    /// The order, with the event already applied.
    pub order: &'a Order,
}

fn item_count(order: &Order) -> u64 {
    order
        .items
        .iter()
        .map(|i| u64::from(i.quantity.get()))
        .sum()
}

/// "3 items, €27.00", or what of it is known.
fn order_summary(order: &Order, language: Language) -> Option<String> {
    let count = item_count(order);
    let count = (count > 0).then(|| format::count_items(count, language));
    let total = order.total.map(|t| format::money(t, language));
    match (count, total) {
        (Some(c), Some(t)) => Some(format!("{c}, {t}")),
        (Some(c), None) => Some(c),
        (None, Some(t)) => Some(t),
        (None, None) => None,
    }
}

/// The copy of the message telling the customer their order now has `status`, in `language`.
pub fn order_status_copy(
    status: OrderStatus,
    ctx: &OrderMessageContext<'_>,
    language: Language,
) -> Copy {
    let OrderMessageContext {
        brand,
        profile,
        order,
    } = *ctx;
    let shop = brand.shop_name.as_str();
    let id = order.order_id.as_str();
    let tenure = Tenure::of_order(order.sequence);
    let summary = order_summary(order, language);
    let eta = order.expected_on().map(|d| format::date(d, language));
    let carrier = order
        .delivery
        .as_ref()
        .and_then(|d| d.carrier.as_ref())
        .map(|c| c.as_str().to_owned());
    let tracking = order
        .delivery
        .as_ref()
        .and_then(|d| d.tracking_url.as_ref())
        .map(|u| u.as_str().to_owned());

    let mut facts = Vec::new();
    let mut paragraphs = Vec::new();
    let mut action = None;
    let mut show_items = true;
    let en = language == Language::En;
    facts.push(fact(if en { "Order" } else { "Заказ" }, id));
    if let Some(summary) = &summary {
        facts.push(fact(
            if en { "Contents" } else { "Состав" },
            summary.clone(),
        ));
    }

    let (subject, preheader) = match status {
        OrderStatus::Placed => {
            let placed = format::local_time(order.placed_at, profile.time_zone, language);
            facts.push(fact(if en { "Placed" } else { "Оформлен" }, placed));
            match (language, tenure) {
                (Language::En, Tenure::First) => paragraphs.push(format!(
                    "Thank you for your first order with {shop}! We have received order {id} and will write again at every step, so you never have to wonder where it is."
                )),
                (Language::En, Tenure::Returning) => paragraphs.push(format!(
                    "Good to see you again! We have received order {id} and will keep you posted at every step, as before."
                )),
                (Language::En, Tenure::Loyal) => paragraphs.push(format!(
                    "This is your {} order with {shop}, and we are grateful you keep coming back. Order {id} is in, and we will keep you posted at every step.",
                    format::ordinal_en(u64::from(order.sequence))
                )),
                (Language::Ru, Tenure::First) => paragraphs.push(format!(
                    "Спасибо за ваш первый заказ в {shop}! Мы получили заказ {id} и будем писать на каждом шаге, чтобы вам не приходилось гадать, где он."
                )),
                (Language::Ru, Tenure::Returning) => paragraphs.push(format!(
                    "Рады видеть вас снова! Мы получили заказ {id} и, как и раньше, сообщим о каждом шаге."
                )),
                (Language::Ru, Tenure::Loyal) => paragraphs.push(format!(
                    "Это ваш {}-й заказ в {shop} — спасибо, что остаётесь с нами. Заказ {id} принят, мы сообщим о каждом шаге.",
                    order.sequence
                )),
            }
            match (language, tenure) {
                (Language::En, Tenure::First) => (
                    format!("We have your order {id}"),
                    "Thank you for your first order. Here is what happens next.".to_owned(),
                ),
                (Language::En, _) => (
                    format!("Order {id} received, thank you"),
                    "We will keep you posted at every step.".to_owned(),
                ),
                (Language::Ru, Tenure::First) => (
                    format!("Мы получили ваш заказ {id}"),
                    "Спасибо за первый заказ. Вот что будет дальше.".to_owned(),
                ),
                (Language::Ru, _) => (
                    format!("Заказ {id} принят, спасибо"),
                    "Мы сообщим о каждом шаге.".to_owned(),
                ),
            }
        }
        OrderStatus::Confirmed => {
            if let Some(eta) = &eta {
                facts.push(fact(
                    if en {
                        "Expected delivery"
                    } else {
                        "Ожидаемая доставка"
                    },
                    eta.clone(),
                ));
            }
            paragraphs.push(match (language, &eta) {
                (Language::En, Some(eta)) => format!("Payment went through and your items are reserved. We are getting order {id} ready and expect it to reach you on {eta}."),
                (Language::En, None) => format!("Payment went through and your items are reserved. We are getting order {id} ready and will tell you when it ships."),
                (Language::Ru, Some(eta)) => format!("Оплата прошла, товары зарезервированы. Мы готовим заказ {id} и ожидаем доставку: {eta}."),
                (Language::Ru, None) => format!("Оплата прошла, товары зарезервированы. Мы готовим заказ {id} и сообщим, когда он будет отправлен."),
            });
            if en {
                (
                    format!("Order {id} is confirmed"),
                    "Payment received, items reserved.".to_owned(),
                )
            } else {
                (
                    format!("Заказ {id} подтверждён"),
                    "Оплата получена, товары зарезервированы.".to_owned(),
                )
            }
        }
        OrderStatus::Packed => {
            show_items = true;
            paragraphs.push(if en {
                format!("Your order {id} is being assembled and packed right now. Next, we hand it to the carrier and send you the tracking link.")
            } else {
                format!("Ваш заказ {id} сейчас собирают и упаковывают. Дальше мы передадим его перевозчику и пришлём ссылку для отслеживания.")
            });
            if en {
                (
                    format!("Order {id} is being packed"),
                    "Next step: handing it to the carrier.".to_owned(),
                )
            } else {
                (
                    format!("Заказ {id} собирают"),
                    "Следующий шаг — передача перевозчику.".to_owned(),
                )
            }
        }
        OrderStatus::Shipped => {
            if let Some(carrier) = &carrier {
                facts.push(fact(
                    if en {
                        "Carrier"
                    } else {
                        "Перевозчик"
                    },
                    carrier.clone(),
                ));
            }
            if let Some(eta) = &eta {
                facts.push(fact(
                    if en {
                        "Expected delivery"
                    } else {
                        "Ожидаемая доставка"
                    },
                    eta.clone(),
                ));
            }
            let with = carrier.clone().unwrap_or_default();
            paragraphs.push(match (language, &eta) {
                (Language::En, Some(eta)) => format!("Order {id} has left us and is travelling with {with}. It should reach you on {eta}."),
                (Language::En, None) => format!("Order {id} has left us and is travelling with {with}."),
                (Language::Ru, Some(eta)) => format!("Заказ {id} отправлен, его везёт {with}. Ожидаемая дата доставки: {eta}."),
                (Language::Ru, None) => format!("Заказ {id} отправлен, его везёт {with}."),
            });
            match &tracking {
                Some(url) => {
                    action = Some(Action {
                        label: if en { "Track your parcel" } else { "Отследить посылку" }.to_owned(),
                        url: url.clone(),
                    });
                }
                None => paragraphs.push(if en {
                    "The carrier has not given us a tracking link for this parcel. If you would like us to check where it is, reply to this email.".to_owned()
                } else {
                    "Перевозчик не дал ссылку для отслеживания этой посылки. Если хотите, чтобы мы проверили, где она, ответьте на это письмо.".to_owned()
                }),
            }
            if en {
                (
                    format!("Order {id} is on its way"),
                    eta.as_ref().map_or_else(
                        || "Your parcel is with the carrier.".to_owned(),
                        |e| format!("Expected {e}."),
                    ),
                )
            } else {
                (
                    format!("Заказ {id} в пути"),
                    eta.as_ref().map_or_else(
                        || "Посылка у перевозчика.".to_owned(),
                        |e| format!("Ожидаемая доставка: {e}."),
                    ),
                )
            }
        }
        OrderStatus::OutForDelivery => {
            show_items = false;
            paragraphs.push(if en {
                format!("The courier is on the way with order {id} and should arrive within the hour. Please keep your phone close in case they call.")
            } else {
                format!("Курьер уже едет с заказом {id} и будет у вас в течение часа. Держите, пожалуйста, телефон под рукой — курьер может позвонить.")
            });
            if let Some(url) = &tracking {
                action = Some(Action {
                    label: if en {
                        "Follow the courier"
                    } else {
                        "Следить за курьером"
                    }
                    .to_owned(),
                    url: url.clone(),
                });
            }
            if en {
                (
                    format!("Order {id} arrives within the hour"),
                    "The courier is on the way.".to_owned(),
                )
            } else {
                (
                    format!("Заказ {id} приедет в течение часа"),
                    "Курьер уже в пути.".to_owned(),
                )
            }
        }
        OrderStatus::Delivered => {
            let at = format::local_time(order.updated_at, profile.time_zone, language);
            facts.push(fact(
                if en {
                    "Delivered"
                } else {
                    "Доставлен"
                },
                at,
            ));
            paragraphs.push(match (language, tenure) {
                (Language::En, Tenure::First) => format!("Order {id} has been delivered. We hope you love it, and that this first order with {shop} is the start of something good."),
                (Language::En, _) => format!("Order {id} has been delivered. Thank you for shopping with {shop} again."),
                (Language::Ru, Tenure::First) => format!("Заказ {id} доставлен. Надеемся, вам всё понравится и этот первый заказ в {shop} — только начало."),
                (Language::Ru, _) => format!("Заказ {id} доставлен. Спасибо, что снова выбрали {shop}."),
            });
            paragraphs.push(if en {
                "If anything is missing, damaged or not what you expected, reply to this email and we will put it right.".to_owned()
            } else {
                "Если чего-то не хватает, что-то повреждено или не соответствует ожиданиям, ответьте на это письмо — мы всё исправим.".to_owned()
            });
            if en {
                (
                    format!("Order {id} has been delivered"),
                    "We hope you love it.".to_owned(),
                )
            } else {
                (
                    format!("Заказ {id} доставлен"),
                    "Надеемся, вам всё понравится.".to_owned(),
                )
            }
        }
        OrderStatus::Delayed => {
            let delay = order.delay.as_ref();
            let reason = delay
                .map(|d| d.reason.as_str().to_owned())
                .unwrap_or_default();
            let new_date = delay
                .map(|d| format::date(d.new_eta, language))
                .unwrap_or_default();
            let old_date = order
                .delivery
                .as_ref()
                .and_then(|d| d.eta)
                .map(|d| format::date(d, language));
            facts.push(fact(if en { "Reason" } else { "Причина" }, reason.clone()));
            facts.push(fact(
                if en {
                    "New delivery date"
                } else {
                    "Новая дата доставки"
                },
                new_date.clone(),
            ));
            if let Some(old) = &old_date {
                facts.push(fact(
                    if en {
                        "Previously expected"
                    } else {
                        "Ожидалась ранее"
                    },
                    old.clone(),
                ));
            }
            paragraphs.push(if en {
                format!("We are sorry: order {id} is running late. The reason: {reason}. The new delivery date is {new_date}.")
            } else {
                format!("Приносим извинения: заказ {id} задерживается. Причина: {reason}. Новая дата доставки — {new_date}.")
            });
            paragraphs.push(if en {
                "You do not need to do anything. If the new date does not work for you, reply to this email and a person will help you find another way.".to_owned()
            } else {
                "Ничего делать не нужно. Если новая дата вам не подходит, ответьте на это письмо — сотрудник поможет найти решение.".to_owned()
            });
            if let Some(url) = &tracking {
                action = Some(Action {
                    label: if en {
                        "Track your parcel"
                    } else {
                        "Отследить посылку"
                    }
                    .to_owned(),
                    url: url.clone(),
                });
            }
            show_items = false;
            if en {
                (
                    format!("Order {id} is delayed: new date {new_date}"),
                    format!("Reason: {reason}."),
                )
            } else {
                (
                    format!("Заказ {id} задерживается: новая дата {new_date}"),
                    format!("Причина: {reason}."),
                )
            }
        }
        OrderStatus::Cancelled => {
            let cancellation = order.cancellation.as_ref();
            let reason = cancellation
                .and_then(|c| c.reason.as_ref())
                .map(|r| r.as_str().to_owned());
            let refund = cancellation
                .and_then(|c| c.refund)
                .map(|r| format::money(r, language));
            let total = order.total.map(|t| format::money(t, language));
            if let Some(reason) = &reason {
                facts.push(fact(if en { "Reason" } else { "Причина" }, reason.clone()));
            }
            paragraphs.push(match (language, &reason) {
                (Language::En, Some(reason)) => {
                    format!("Order {id} has been cancelled. The reason: {reason}.")
                }
                (Language::En, None) => format!("Order {id} has been cancelled."),
                (Language::Ru, Some(reason)) => format!("Заказ {id} отменён. Причина: {reason}."),
                (Language::Ru, None) => format!("Заказ {id} отменён."),
            });
            paragraphs.push(match (language, &refund, &total) {
                (Language::En, Some(refund), _) => format!("We have refunded {refund} to your original payment method. Banks usually take 3 to 10 business days to show it."),
                (Language::En, None, Some(total)) => format!("If you were charged, the full {total} goes back to your original payment method. Banks usually take 3 to 10 business days to show it."),
                (Language::En, None, None) => "If you were charged, the money goes back to your original payment method. Banks usually take 3 to 10 business days to show it.".to_owned(),
                (Language::Ru, Some(refund), _) => format!("Мы вернули {refund} на карту или счёт, с которого вы платили. Обычно банку нужно от 3 до 10 рабочих дней, чтобы деньги отобразились."),
                (Language::Ru, None, Some(total)) => format!("Если оплата была списана, вся сумма {total} вернётся туда, откуда вы платили. Обычно банку нужно от 3 до 10 рабочих дней."),
                (Language::Ru, None, None) => "Если оплата была списана, деньги вернутся туда, откуда вы платили. Обычно банку нужно от 3 до 10 рабочих дней.".to_owned(),
            });
            paragraphs.push(if en {
                "If you did not ask for this, or would still like these items, reply to this email and we will sort it out.".to_owned()
            } else {
                "Если вы не отменяли заказ или всё ещё хотите эти товары, ответьте на это письмо — мы разберёмся.".to_owned()
            });
            if en {
                (
                    format!("Order {id} has been cancelled"),
                    "Here is what happens to your money.".to_owned(),
                )
            } else {
                (
                    format!("Заказ {id} отменён"),
                    "Что будет с деньгами.".to_owned(),
                )
            }
        }
    };

    Copy {
        subject,
        preheader,
        greeting: greeting(profile, language),
        paragraphs,
        facts,
        items: if show_items {
            items(order, language)
        } else {
            Vec::new()
        },
        action,
        choices: Vec::new(),
        support: support(brand, language),
        footer: footer(brand, language),
        preferences: None,
    }
}
