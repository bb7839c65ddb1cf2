//! The shell every message shares: a message's [`Copy`](struct@Copy) (its words, facts and
//! buttons, before layout) laid out as plain text and as HTML. The HTML template auto-escapes
//! every value, so nothing a shop or customer sends can become markup. The words themselves live
//! in [`crate::copy`].

use std::sync::OnceLock;

use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};

use crate::contact::Language;

/// The words of one message, before layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Copy {
    /// The subject line.
    pub subject: String,
    /// The inbox preview line.
    pub preheader: String,
    /// "Hi Anna," / "Здравствуйте, Анна!"
    pub greeting: String,
    /// The body, one paragraph each.
    pub paragraphs: Vec<String>,
    /// Label and value rows: order number, carrier, dates.
    pub facts: Vec<Fact>,
    /// The order's lines, where the message shows them.
    pub items: Vec<ItemLine>,
    /// The one button, where there is one.
    pub action: Option<Action>,
    /// One-click answers shown as a row (the rating links of a review request).
    pub choices: Vec<Action>,
}

/// What every message of a shop shares around its [`Copy`](struct@Copy): the shop's name, how
/// to reach a person, why the customer receives it and the link to their preferences. It is a
/// function of the shop's settings, the customer and the message's kind and language
/// ([`Frame::of`]), so the outbox keeps only the copy and frames it again when it sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The shop's name, in the layout's header.
    pub shop: String,
    /// How to reach a person: every message has it.
    pub support: Support,
    /// Why the customer receives this.
    pub footer: String,
    /// The link to the customer's email preferences, where there is one.
    pub preferences: Option<Action>,
}

/// A label and a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// "Carrier"
    pub label: String,
    /// "DHL Express"
    pub value: String,
}

/// One line of the order as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemLine {
    /// The product name.
    pub name: String,
    /// "× 2"
    pub quantity: u32,
    /// The line price, when known.
    pub price: Option<String>,
}

/// A button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What it says.
    pub label: String,
    /// Where it goes: always an http(s) URL.
    pub url: String,
}

/// How to reach a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Support {
    /// The sentence inviting a reply.
    pub text: String,
    /// The support inbox.
    pub email: String,
    /// The help page, if any, and its label.
    pub url: Option<String>,
    /// "Help centre"
    pub url_label: String,
}

/// A fact row.
pub(crate) fn fact(label: &str, value: impl Into<String>) -> Fact {
    Fact {
        label: label.to_owned(),
        value: value.into(),
    }
}

/// A message laid out, ready for MIME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, control characters removed.
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
}

/// The layout templates failed. They are part of the program, so this is a bug, caught by the
/// tests that render every message kind in every language.
#[derive(Debug, thiserror::Error)]
#[error("rendering the {template} layout failed: {source}")]
pub struct RenderError {
    template: &'static str,
    #[source]
    source: minijinja::Error,
}

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        // Names ending in .html are auto-escaped by minijinja's default callback.
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        env.set_keep_trailing_newline(true);
        // The templates are compiled into the binary; a syntax error fails `render_every_kind_*` tests.
        let _ = env.add_template("message.html", include_str!("../templates/message.html"));
        let _ = env.add_template("message.txt", include_str!("../templates/message.txt"));
        let _ = env.add_template("page.html", include_str!("../templates/page.html"));
        env
    })
}

/// Lays out `copy` in `frame`, in `language`.
pub fn render(copy: &Copy, frame: &Frame, language: Language) -> Result<Rendered, RenderError> {
    let env = environment();
    let ctx = context! { copy => copy, frame => frame, lang => language.tag() };
    let render = |name: &'static str| {
        env.get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|source| RenderError {
                template: name,
                source,
            })
    };
    Ok(Rendered {
        subject: one_line(&copy.subject),
        text: render("message.txt")?,
        html: render("message.html")?,
    })
}

/// Replaces control characters (line breaks above all) with spaces, so a subject can never
/// carry a header of its own.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Renders one of the crate's templates by name with `context`.
pub(crate) fn render_named(
    name: &str,
    context: minijinja::Value,
) -> Result<String, minijinja::Error> {
    environment().get_template(name)?.render(context)
}
