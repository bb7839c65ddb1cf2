//! The follow-up emails: the delivery reminder, the review request with its one-click rating
//! links, the repurchase reminder, reactivation, and the watchdog's honest update.

use chrono::{DateTime, Utc};

use crate::consent::{list_unsubscribe, preferences_action};
use crate::contact::Language;
use crate::copy::shared::{engagement_footer, footer, greeting, support};
use crate::format;
use crate::links::{sign, LinkClaims};
use crate::message::{MessageId, MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::profile::{FollowUpKind, Profile};
use crate::render::{fact, items, render, Action, Copy, RenderError};
use crate::settings::Settings;
use crate::time_shift::{between, Shift};

use super::types::FollowUp;

/// Composes the message of a due follow-up.
pub fn compose(
    task: &FollowUp,
    profile: &Profile,
    order: Option<&Order>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<OutgoingMessage, RenderError> {
    let language = profile.locale.language();
    let en = language == Language::En;
    let brand = &settings.brand;
    let shop = brand.shop_name.as_str();
    let id = order
        .map(|o| o.order_id.as_str().to_owned())
        .unwrap_or_default();
    let mut facts = Vec::new();
    let mut paragraphs = Vec::new();
    let mut action = None;
    let mut choices = Vec::new();
    let mut lines = Vec::new();
    let kind = task.kind.message_kind();

    let (subject, preheader) = match task.kind {
        FollowUpKind::DeliveryReminder => {
            let eta = order
                .and_then(Order::expected_on)
                .map(|d| format::date(d, language))
                .unwrap_or_default();
            let carrier = order
                .and_then(|o| o.delivery.as_ref())
                .and_then(|d| d.carrier.as_ref())
                .map(|c| c.as_str().to_owned());
            facts.push(fact(if en { "Order" } else { "Заказ" }, id.clone()));
            facts.push(fact(
                if en {
                    "Expected delivery"
                } else {
                    "Ожидаемая доставка"
                },
                eta.clone(),
            ));
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
            paragraphs.push(if en {
                format!("Order {id} should arrive tomorrow, {eta}. If nobody will be home, reply to this email and we will help you arrange another time or place.")
            } else {
                format!("Заказ {id} должен приехать завтра, {eta}. Если вас не будет дома, ответьте на это письмо — поможем договориться о другом времени или месте.")
            });
            if let Some(url) = order
                .and_then(|o| o.delivery.as_ref())
                .and_then(|d| d.tracking_url.as_ref())
            {
                action = Some(Action {
                    label: if en {
                        "Track your parcel"
                    } else {
                        "Отследить посылку"
                    }
                    .into(),
                    url: url.as_str().into(),
                });
            }
            if en {
                (
                    format!("Order {id} arrives tomorrow"),
                    format!("Expected {eta}."),
                )
            } else {
                (
                    format!("Заказ {id} приедет завтра"),
                    format!("Ожидаемая доставка: {eta}."),
                )
            }
        }
        FollowUpKind::ReviewRequest => {
            let signing = settings.links.as_ref().and_then(|links| {
                links.base_url.as_ref()?;
                Some((links, links.signing_key()?, links.valid_for))
            });
            let one_click = signing.is_some() && order.is_some();
            paragraphs.push(match (language, one_click) {
                (Language::En, true) => format!("Your order {id} arrived a few days ago. How is it? One click below tells us, and every answer is read by a person at {shop}."),
                (Language::En, false) => format!("Your order {id} arrived a few days ago. How is it? Reply to this email and tell us: every answer is read by a person at {shop}."),
                (Language::Ru, true) => format!("Ваш заказ {id} пришёл несколько дней назад. Как он вам? Один клик ниже — и мы узнаем; каждый ответ читает сотрудник {shop}."),
                (Language::Ru, false) => format!("Ваш заказ {id} пришёл несколько дней назад. Как он вам? Ответьте на это письмо — каждый ответ читает сотрудник {shop}."),
            });
            if let (Some((links, key, valid_for)), Some(order)) = (signing, order) {
                let claims = LinkClaims {
                    customer: profile.customer_id.clone(),
                    order: order.order_id.clone(),
                    kind: MessageKind::ReviewRequest,
                    expires_at: now.plus(valid_for),
                };
                let token = sign(key, &claims);
                for score in 1..=5u8 {
                    let stars = "★".repeat(usize::from(score));
                    let label = match (language, score) {
                        (Language::En, 1) => format!("{stars} Poor"),
                        (Language::En, 5) => format!("{stars} Excellent"),
                        (Language::Ru, 1) => format!("{stars} Плохо"),
                        (Language::Ru, 5) => format!("{stars} Отлично"),
                        _ => stars,
                    };
                    choices.push(Action {
                        label,
                        url: links
                            .url(
                                "/rate",
                                &[("token", token.as_str()), ("score", &score.to_string())],
                            )
                            .unwrap_or_default(),
                    });
                }
            }
            paragraphs.push(if en {
                "Something not right? Reply to this email instead: a person will answer.".to_owned()
            } else {
                "Что-то не так? Просто ответьте на это письмо — вам ответит сотрудник.".to_owned()
            });
            if let Some(order) = order {
                lines = items(order, language);
            }
            if en {
                (
                    format!("How is your order {id}?"),
                    "One click to rate it.".to_owned(),
                )
            } else {
                (
                    format!("Как вам заказ {id}?"),
                    "Оцените в один клик.".to_owned(),
                )
            }
        }
        FollowUpKind::Repurchase => {
            let name = task
                .item_name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default();
            let run_out = task
                .run_out_on
                .map(|d| format::date(d, language))
                .unwrap_or_default();
            paragraphs.push(if en {
                format!("Going by your last order, your {name} may run out around {run_out}. If you would like more, now is a good time to order, so there is no gap.")
            } else {
                format!("Судя по прошлому заказу, «{name}» может закончиться примерно {run_out}. Если хотите ещё, самое время заказать, чтобы не остаться без него.")
            });
            if let Some(url) = &brand.shop_url {
                action = Some(Action {
                    label: if en {
                        "Order again"
                    } else {
                        "Заказать снова"
                    }
                    .into(),
                    url: url.as_str().into(),
                });
            }
            if en {
                (
                    format!("Running low on {name}?"),
                    format!("It may run out around {run_out}."),
                )
            } else {
                (
                    format!("«{name}» скоро закончится?"),
                    format!("Может закончиться примерно {run_out}."),
                )
            }
        }
        FollowUpKind::Reactivation => {
            let days = profile
                .order_times
                .last()
                .map(|last| between(*last, now).num_days().max(0) as u64)
                .unwrap_or(0);
            let favourite = profile.favourite_category().map(str::to_owned);
            let bought: Vec<String> = profile
                .recent_items
                .iter()
                .rev()
                .take(2)
                .map(|t| t.as_str().to_owned())
                .collect();
            let since = if en {
                format!(
                    "{} since your last order",
                    format::count_days(days, language)
                )
            } else {
                format!(
                    "{} с вашего последнего заказа",
                    format::count_days(days, language)
                )
            };
            let first = task.attempt <= 1;
            paragraphs.push(match (language, first) {
                (Language::En, true) => format!("It has been {since}, and we wanted to say hello. We are still here, and still packing every order by hand."),
                (Language::En, false) => "One last note from us, and then we will stop writing about it: if you ever want to come back, we would be glad to see you.".to_owned(),
                (Language::Ru, true) => format!("Прошло {since}, и мы решили напомнить о себе. Мы всё там же и по-прежнему собираем каждый заказ вручную."),
                (Language::Ru, false) => "Последнее письмо от нас на эту тему: если захотите вернуться, мы будем рады.".to_owned(),
            });
            if !bought.is_empty() {
                let list = bought.join(", ");
                paragraphs.push(if en {
                    format!("Last time you chose: {list}.")
                } else {
                    format!("В прошлый раз вы выбрали: {list}.")
                });
            }
            if let Some(category) = favourite {
                facts.push(fact(
                    if en {
                        "Your favourite"
                    } else {
                        "Ваше любимое"
                    },
                    category,
                ));
            }
            match (language, first) {
                (Language::En, true) => (
                    format!("We miss you at {shop}"),
                    "A hello, and what is new.".to_owned(),
                ),
                (Language::En, false) => (
                    format!("One last hello from {shop}"),
                    "We will not write about this again.".to_owned(),
                ),
                (Language::Ru, true) => (
                    format!("Мы скучаем по вам — {shop}"),
                    "Привет и новости.".to_owned(),
                ),
                (Language::Ru, false) => (
                    format!("Последний привет от {shop}"),
                    "Больше не будем писать об этом.".to_owned(),
                ),
            }
        }
        FollowUpKind::Watchdog => {
            let status = order
                .map(|o| o.status)
                .unwrap_or(crate::status::OrderStatus::Placed);
            let since = order
                .map(|o| format::local_time(o.updated_at, profile.time_zone, language))
                .unwrap_or_default();
            facts.push(fact(if en { "Order" } else { "Заказ" }, id.clone()));
            facts.push(fact(
                if en {
                    "Last update"
                } else {
                    "Последнее обновление"
                },
                since.clone(),
            ));
            if let Some(eta) = order.and_then(Order::expected_on) {
                facts.push(fact(
                    if en {
                        "Expected delivery"
                    } else {
                        "Ожидаемая доставка"
                    },
                    format::date(eta, language),
                ));
            }
            let (status_en, status_ru) = match status {
                crate::status::OrderStatus::Placed | crate::status::OrderStatus::Confirmed => {
                    ("waiting to be packed", "ждёт сборки")
                }
                crate::status::OrderStatus::Packed => (
                    "packed and waiting for the carrier",
                    "собран и ждёт перевозчика",
                ),
                crate::status::OrderStatus::OutForDelivery => ("out for delivery", "у курьера"),
                _ => ("with the carrier", "у перевозчика"),
            };
            paragraphs.push(if en {
                format!("We have not forgotten you. Order {id} has been {status_en} since {since}, which is longer than it should be, and we have not had news since.")
            } else {
                format!("Мы о вас помним. Заказ {id} {status_ru} с {since} — дольше, чем должен, и новостей с тех пор нет.")
            });
            paragraphs.push(if en {
                "A person on our team is looking into it now and will write to you with what they find. You do not need to do anything, but you can always reply to this email.".to_owned()
            } else {
                "Сотрудник уже разбирается и напишет вам, что удалось выяснить. Ничего делать не нужно, но вы всегда можете ответить на это письмо.".to_owned()
            });
            if en {
                (
                    format!("An update on order {id}: we have not forgotten you"),
                    "A person is looking into it.".to_owned(),
                )
            } else {
                (
                    format!("Новости о заказе {id}: мы о вас помним"),
                    "Сотрудник уже разбирается.".to_owned(),
                )
            }
        }
    };

    let preferences = preferences_action(settings, &profile.customer_id, kind, language);
    let copy = Copy {
        subject,
        preheader,
        greeting: greeting(profile, language),
        paragraphs,
        facts,
        items: lines,
        action,
        choices,
        support: support(brand, language),
        footer: if kind.is_transactional() {
            footer(brand, language)
        } else {
            engagement_footer(settings, language, preferences.is_some())
        },
        preferences,
    };
    let rendered = render(&copy, shop, language)?;
    Ok(OutgoingMessage {
        id: follow_up_message_id(task),
        kind,
        customer_id: profile.customer_id.clone(),
        order_id: task.order_id.clone(),
        to: profile.email.clone(),
        to_name: profile.name.clone(),
        language,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        trigger: format!("follow-up:{}#{}", task.key, task.attempt),
        decided_at: now,
        reason: format!("{} due {}", task.key, task.due_at.to_rfc3339()),
        list_unsubscribe: list_unsubscribe(settings, &profile.customer_id, kind),
    })
}

/// The message id of a follow-up's message: one per key and attempt.
pub fn follow_up_message_id(task: &FollowUp) -> MessageId {
    MessageId::derive(
        &task.customer_id,
        &format!("{}#{}", task.key, task.attempt),
        task.kind.message_kind(),
    )
}
