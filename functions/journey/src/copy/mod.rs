//! Every word a customer (or the shop's support inbox) reads in an email or on a page, by
//! stage, with each message's English and Russian side by side, so a copywriter can review them
//! without reading the rules.
//!
//! Each message is one function returning its words in every language ([`ByLanguage`]); the
//! code that assembles the email (in the stage's `message` module) works out the values, calls
//! it, and picks the customer's language once. Values arrive already formatted in the language
//! the email is written in (dates, amounts, counts), and every string here is plain text: the
//! layout escapes all of it.
//!
//! - [`shared`]: greetings, how to reach a person, footers, the labels of facts and buttons.
//! - [`order_status`]: the email of each order status.
//! - [`follow_ups`]: the delivery reminder, the review request, the repurchase reminder,
//!   reactivation and the watchdog's update.
//! - [`answers`]: the replies to a rating and the alert to support.
//! - [`pages`]: the feedback endpoint's pages (after a rating or a comment, broken links, the
//!   email preferences page).

use crate::contact::Language;

pub mod answers;
pub mod follow_ups;
pub mod order_status;
pub mod pages;
pub mod shared;

/// One text in every language we write, side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByLanguage<T> {
    /// In English.
    pub en: T,
    /// In Russian.
    pub ru: T,
}

impl<T> ByLanguage<T> {
    /// The text in `language`.
    pub fn pick(self, language: Language) -> T {
        match language {
            Language::En => self.en,
            Language::Ru => self.ru,
        }
    }
}

/// The words particular to one message: its subject, the inbox preview line and the body's
/// paragraphs, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageWords {
    /// The subject line.
    pub subject: String,
    /// The inbox preview line.
    pub preheader: String,
    /// The body, one paragraph each.
    pub paragraphs: Vec<String>,
}
