//! The frame every email shares, in the language it is written in: the greeting, how to reach
//! a person, the footer and the preferences link, from the words of [`crate::copy::shared`].

use crate::consent::{list_unsubscribe, preferences_action, preferences_link};
use crate::contact::Language;
use crate::copy::shared;
use crate::ids::CustomerId;
use crate::links::{sign, LinkClaims};
use crate::message::{Draft, Envelope, MessageKind, OutgoingMessage};
use crate::profile::Profile;
use crate::render::{Action, Frame, RenderError, Support};
use crate::settings::{Brand, Settings};
use crate::time_shift::Shift;

/// The customer's first name, when we know their name.
fn first_name(profile: &Profile) -> Option<&str> {
    profile
        .name
        .as_ref()
        .and_then(|n| n.as_str().split_whitespace().next())
}

/// "Hi Anna," / "Здравствуйте, Анна!"
pub(crate) fn greeting(profile: &Profile, language: Language) -> String {
    shared::greeting(first_name(profile)).pick(language)
}

impl Frame {
    /// The frame of a message of `kind` to `customer` in `language`, for the shop `settings`
    /// describe: its name, how to reach a person, the footer (a transactional message's says
    /// it is part of the purchase; any other's why the customer gets it and how to stop it),
    /// and the signed link to the customer's preferences where links can be signed.
    pub fn of(
        settings: &Settings,
        customer: &CustomerId,
        kind: MessageKind,
        language: Language,
    ) -> Frame {
        let brand = &settings.brand;
        let preferences = preferences_link(settings, customer, kind)
            .map(|link| preferences_action(kind, language, link));
        let shop = brand.shop_name.as_str();
        Frame {
            shop: shop.to_owned(),
            support: support(brand, language),
            footer: if kind.is_transactional() {
                shared::footer(shop).pick(language)
            } else {
                shared::engagement_footer(shop, preferences.is_some()).pick(language)
            },
            preferences,
        }
    }
}

/// Lays `draft` out for `envelope` in the frame `settings` give it ([`Frame::of`]), with the
/// unsubscribe headers of its kind: the one way a message is made, when it is decided and again
/// when the outbox sends what it kept of it.
pub fn lay_out(
    envelope: Envelope,
    draft: Draft,
    settings: &Settings,
) -> Result<OutgoingMessage, RenderError> {
    let frame = Frame::of(
        settings,
        &envelope.customer_id,
        envelope.kind,
        envelope.language,
    );
    let rating_links = rating_links(settings, &envelope, &draft.rating_labels);
    let laid_out = draft.render(&frame, envelope.language, rating_links)?;
    // The headers point where the footer's link does: signed once, for both.
    let link = frame.preferences.as_ref().map(|action| action.url.as_str());
    let list_unsubscribe = list_unsubscribe(settings, envelope.kind, link);
    Ok(OutgoingMessage {
        subject: laid_out.subject,
        text: laid_out.text,
        html: laid_out.html,
        draft,
        list_unsubscribe,
        id: envelope.id,
        kind: envelope.kind,
        customer_id: envelope.customer_id,
        order_id: envelope.order_id,
        to: envelope.to,
        to_name: envelope.to_name,
        language: envelope.language,
        trigger: envelope.trigger,
        decided_at: envelope.decided_at,
        reason: envelope.reason,
    })
}

/// The links of a draft's rating row: for each label, in order, the signed `/rate` link of its
/// score (1 to 5), vouching for the envelope's customer, order and kind until the shop's link
/// lifetime after the decision. None when there are no labels, no order, or no key or base URL
/// to sign links with.
fn rating_links(settings: &Settings, envelope: &Envelope, labels: &[String]) -> Vec<Action> {
    let (Some(links), Some(order)) = (settings.links.as_ref(), envelope.order_id.as_ref()) else {
        return Vec::new();
    };
    let Some(key) = links.signing_key() else {
        return Vec::new();
    };
    let claims = LinkClaims {
        customer: envelope.customer_id.clone(),
        order: order.clone(),
        kind: envelope.kind,
        expires_at: envelope.decided_at.plus(links.valid_for),
    };
    let token = sign(key, &claims);
    let mut actions = Vec::with_capacity(labels.len());
    for (score, label) in (1..=5u8).zip(labels) {
        let Some(url) = links.url(
            "/rate",
            &[("token", token.as_str()), ("score", &score.to_string())],
        ) else {
            return Vec::new();
        };
        actions.push(Action {
            label: label.clone(),
            url,
        });
    }
    actions
}

/// How to reach a person at the shop: the support inbox and the help page, if any.
fn support(brand: &Brand, language: Language) -> Support {
    let email = brand.support_email.as_str().to_owned();
    let words = shared::support(brand.shop_name.as_str(), &email).pick(language);
    Support {
        text: words.text,
        email,
        url: brand.support_url.as_ref().map(|u| u.as_str().to_owned()),
        url_label: words.help_page.to_owned(),
    }
}
