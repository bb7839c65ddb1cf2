//! Logging: JSON lines in Lambda (what CloudWatch Logs Insights queries best), readable lines
//! elsewhere. Level from `RUST_LOG`, default `info`.
//!
//! What the lines may hold: our own words, counts and times, the shop's event ids, order ids
//! and SKUs, SQS and SES message ids, customers by their log id (see [`crate::log_ids`]),
//! refusals by field path and kind of problem (see `aftercare_journey::rejection`), and service
//! error messages with every email address masked ([`mask_emails`]). Never an email address, a
//! name, a street, a phone number, a link token or any other value a sender wrote.

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Targets that are off whatever `RUST_LOG` says, because their lines can quote what a sender
/// wrote: the Lambda runtime's trace of every raw event, and its error line when a payload
/// cannot be read as the function's event type (serde's message there quotes values). Such
/// an invocation still fails, and counts (and alarms) as a function error.
pub const QUOTING_TARGETS: [&str; 1] = ["lambda_runtime::layers::api_response"];

/// Targets (prefixes: `aws` is every crate of the AWS SDK) whose debug and trace lines quote
/// whole requests and answers: the SDK's orchestrator logs every DynamoDB item it writes or
/// reads, with the customer's address and name, and errors with the item a condition saw; the
/// HTTP and TLS stack below it logs what crosses the wire. They log at `info` at most,
/// whatever `RUST_LOG` says.
pub const WIRE_TARGETS: [&str; 5] = ["aws", "hyper", "h2", "rustls", "tower"];

/// Whether a line (or span) of this kind may be logged at all: not from the
/// [`QUOTING_TARGETS`], and not above `info` from the [`WIRE_TARGETS`].
pub fn may_log(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    if QUOTING_TARGETS.iter().any(|t| target.starts_with(t)) {
        return false;
    }
    if WIRE_TARGETS.iter().any(|t| target.starts_with(t)) {
        return *metadata.level() <= Level::INFO;
    }
    true
}

/// The filter every function logs through: what `spec` (a `RUST_LOG` value; `info` when it
/// does not parse) lets through, and of that only what [`may_log`] allows.
pub fn filter<S>(spec: &str) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let levels = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    levels.and_then(tracing_subscriber::filter::filter_fn(may_log))
}

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let registry = tracing_subscriber::registry().with(filter(&spec));
    let _ = if in_lambda {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_target(false),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_target(false),
            )
            .try_init()
    };
}

/// Whether `c` may appear in an unquoted local part: RFC 5322's `atext` (letters, digits and
/// ``!#$%&'*+-/=?^_`{|}~``), with RFC 6532's non-ASCII characters.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
}

/// The end (one past the closing quote) of the RFC 5322 quoted-string that opens at `start`,
/// with its quoted pairs (`\"`, `\\`); `None` if it is not closed.
fn quoted_string_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The end of the local part that may begin at `start`: a run of atoms, dots and quoted
/// strings (RFC 5322's dot-atom and quoted-string, and the obsolete `word *("." word)` that
/// joins them).
fn local_part_end(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while i < chars.len() {
        if is_atext(chars[i]) || chars[i] == '.' {
            i += 1;
        } else if chars[i] == '"' {
            match quoted_string_end(chars, i) {
                Some(end) => i = end,
                None => break,
            }
        } else {
            break;
        }
    }
    i
}

/// `text` with the local part of every email address in it masked (`anna@example.com`
/// becomes `***@example.com`): service error messages (SES names the recipients it refuses)
/// go to logs and the journey log, which must hold no personal data. A local part is what RFC
/// 5322 allows before the `@`: a dot-atom of any `atext` characters (`first!last`,
/// `emily{c}`), a quoted string (`"emily carter"`, with `\"` inside), or words of both joined
/// by dots; a quotation mark that opens no address is read past, so an address quoted in
/// prose is masked too. The domain is kept; it is what tells a mailbox provider's problem from
/// a typo. Anything that could be an address is masked: masking too much only loses words.
pub fn mask_emails(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        let end = local_part_end(&chars, i);
        if end > i && chars.get(end) == Some(&'@') {
            out.extend(&chars[copied..i]);
            out.push_str("***@");
            copied = end + 1;
            i = end + 1;
        } else if chars[i] == '"' || end == i {
            // A quotation mark that opens no address: what it quotes is read again.
            i += 1;
        } else {
            // No address begins inside this run before its first quotation mark: from any
            // such start it would end where this one does.
            i = chars[i..end]
                .iter()
                .position(|c| *c == '"')
                .map_or(end, |quote| i + quote);
        }
    }
    out.extend(&chars[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[test]
    fn email_addresses_are_masked_and_everything_else_is_kept() {
        assert_eq!(
            mask_emails("MessageRejected: Email address is not verified. The following identities failed the check in region US-EAST-1: anna.p+shop@example.co.uk, orders@shop.example"),
            "MessageRejected: Email address is not verified. The following identities failed the check in region US-EAST-1: ***@example.co.uk, ***@shop.example"
        );
        assert_eq!(mask_emails("<иван@почта.рф>"), "<***@почта.рф>");
        assert_eq!(mask_emails("no address @ all"), "no address @ all");
        assert_eq!(mask_emails(""), "");
    }

    #[test]
    fn every_local_part_rfc_5322_allows_is_masked_whole() {
        for (text, masked) in [
            ("first!last@example.com", "***@example.com"),
            ("emily{c}@example.com", "***@example.com"),
            (
                "a#b$c%d&e'f*g+h-i/j=k?l^m_n`o|p~q@example.com",
                "***@example.com",
            ),
            ("\"emily carter\"@example.com", "***@example.com"),
            ("\"emily\\\"c@x\"@example.com", "***@example.com"),
            ("\"emily\".carter@example.com", "***@example.com"),
            ("to: first..last@example.com.", "to: ***@example.com."),
            ("a@b", "***@b"),
        ] {
            assert_eq!(mask_emails(text), masked, "{text}");
        }
    }

    #[test]
    fn an_address_inside_quotation_marks_in_prose_is_masked() {
        assert_eq!(
            mask_emails("the address \"emily.carter@example.com\" bounced"),
            "the address \"***@example.com\" bounced"
        );
        assert_eq!(
            mask_emails("x\"emily.carter@example.com\"x"),
            "x\"***@example.com\"x"
        );
        assert_eq!(
            mask_emails("unterminated \"emily.carter@example.com"),
            "unterminated \"***@example.com"
        );
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_at(spec: &str, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(filter(spec)).with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, log);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_runtimes_lines_that_quote_payloads_are_off_even_at_trace() {
        for spec in [
            "trace",
            "trace,lambda_runtime=trace",
            "trace,lambda_runtime::layers::api_response=trace",
        ] {
            let logged = logged_at(spec, || {
                tracing::trace!(target: "lambda_runtime::layers::api_response", body = "emily.carter@example.com", "raw JSON event received from Lambda");
                tracing::error!(target: "lambda_runtime::layers::api_response", error = "invalid type: string \"emily.carter@example.com\"", "Request payload deserialization into LambdaEvent<T> failed");
                tracing::trace!(target: "aftercare", "a line of ours");
            });
            assert!(logged.contains("a line of ours"), "{spec}: {logged}");
            assert!(!logged.contains("emily"), "{spec}: {logged}");
        }
    }

    #[test]
    fn the_sdks_lines_that_quote_requests_stop_at_info_and_rust_log_can_still_quiet_them() {
        let lines = || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", request = "emily.carter@example.com", "transmitting request");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", err = "emily.carter@example.com", "encountered orchestrator error");
            tracing::debug!(target: "hyper_util::client", "emily.carter@example.com");
            tracing::info!(target: "aws_config", "loaded the configuration");
            tracing::debug!(target: "aftercare", "a debug line of ours");
        };
        let logged = logged_at("trace", lines);
        assert!(!logged.contains("emily"), "{logged}");
        assert!(logged.contains("loaded the configuration"), "{logged}");
        assert!(logged.contains("a debug line of ours"), "{logged}");
        let quiet = logged_at("warn", lines);
        assert!(!quiet.contains("loaded the configuration"), "{quiet}");
    }
}
