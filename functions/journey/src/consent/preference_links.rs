//! The links to a customer's email preferences that messages carry: the signed link, the
//! `List-Unsubscribe` headers, and the footer's link.

use crate::contact::Language;
use crate::copy::shared::preferences_label;
use crate::ids::CustomerId;
use crate::links::{sign_preferences, PreferenceClaims};
use crate::message::{ListUnsubscribe, MessageKind};
use crate::profile::MailTopic;
use crate::render::Action;
use crate::settings::Settings;

/// The path of preferences links on the feedback endpoint.
pub const UNSUBSCRIBE_PATH: &str = "/unsubscribe";

/// The signed preferences link for a message of `kind` to `customer`, carrying the kind's topic;
/// `None` for the alert to support, or when links cannot be signed (no endpoint or key).
pub fn preferences_link(
    settings: &Settings,
    customer: &CustomerId,
    kind: MessageKind,
) -> Option<String> {
    if kind == MessageKind::SupportAlert {
        return None;
    }
    let links = settings.links.as_ref()?;
    let token = sign_preferences(
        links.signing_key()?,
        &PreferenceClaims {
            customer: customer.clone(),
            topic: MailTopic::of(kind),
        },
    );
    links.url(UNSUBSCRIBE_PATH, &[("token", token.as_str())])
}

/// The unsubscribe headers of a message of `kind` whose preferences link is `link` (see
/// [`preferences_link`]): every message that is not transactional carries them; `None` for
/// transactional ones, or without a link (when links cannot be signed).
pub fn list_unsubscribe(
    settings: &Settings,
    kind: MessageKind,
    link: Option<&str>,
) -> Option<ListUnsubscribe> {
    if kind.is_transactional() {
        return None;
    }
    let topic = MailTopic::of(kind)?;
    Some(ListUnsubscribe {
        https: link?.to_owned(),
        mailto: format!(
            "mailto:{}?subject=unsubscribe%20{}",
            settings.brand.support_email, topic
        ),
    })
}

/// The footer's link to the preferences page at `link`, labelled for the message's kind.
pub fn preferences_action(kind: MessageKind, language: Language, link: String) -> Action {
    Action {
        label: preferences_label(kind.is_transactional())
            .pick(language)
            .to_owned(),
        url: link,
    }
}
