//! What a shop configures that the domain needs: who it is, how to reach a person, which
//! message kinds are on.

use std::collections::BTreeSet;

use crate::contact::EmailAddress;
use crate::event::WebLink;
use crate::message::MessageKind;
use crate::text::Text;

/// The shop as its customers know it, and how they reach a person there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The shop's name as customers know it.
    pub shop_name: Text,
    /// A monitored inbox. Replies go here (it is the `Reply-To`), and every message names it.
    pub support_email: EmailAddress,
    /// A help page, if the shop has one; every message links it.
    pub support_url: Option<WebLink>,
}

/// The domain's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The shop.
    pub brand: Brand,
    /// Message kinds switched off: decisions for them are recorded, nothing is sent.
    pub disabled_kinds: BTreeSet<MessageKind>,
}

impl Settings {
    /// Whether messages of this kind may be sent at all.
    pub fn is_enabled(&self, kind: MessageKind) -> bool {
        !self.disabled_kinds.contains(&kind)
    }
}
