//! Lays a message's [`Copy`] out as plain text and as HTML. The HTML template auto-escapes every
//! value, so nothing a shop or customer sends can become markup.

use std::sync::OnceLock;

use minijinja::{context, Environment};

use crate::catalogue::Copy;
use crate::contact::Language;

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

/// Lays out `copy` for a shop named `shop`, in `language`.
pub fn render(copy: &Copy, shop: &str, language: Language) -> Result<Rendered, RenderError> {
    let env = environment();
    let ctx = context! { copy => copy, shop => shop, lang => language.tag() };
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
