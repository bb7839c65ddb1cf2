//! The frame every email shares, in the language it is written in: the greeting, how to reach
//! a person and the footer, from the words of [`crate::copy::shared`].

use crate::contact::Language;
use crate::copy::shared;
use crate::profile::Profile;
use crate::render::Support;
use crate::settings::Brand;

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

/// How to reach a person at the shop: the support inbox and the help page, if any.
pub(crate) fn support(brand: &Brand, language: Language) -> Support {
    let email = brand.support_email.as_str().to_owned();
    let words = shared::support(brand.shop_name.as_str(), &email).pick(language);
    Support {
        text: words.text,
        email,
        url: brand.support_url.as_ref().map(|u| u.as_str().to_owned()),
        url_label: words.help_page.to_owned(),
    }
}

/// The footer of transactional messages.
pub(crate) fn footer(brand: &Brand, language: Language) -> String {
    shared::footer(brand.shop_name.as_str()).pick(language)
}

/// The footer of messages the customer did not ask for; `has_link` when the message carries a
/// link to the preferences page.
pub(crate) fn engagement_footer(brand: &Brand, language: Language, has_link: bool) -> String {
    shared::engagement_footer(brand.shop_name.as_str(), has_link).pick(language)
}
