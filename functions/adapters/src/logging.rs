//! Logging: JSON lines in Lambda (what CloudWatch Logs Insights queries best), readable lines
//! elsewhere. Level from `RUST_LOG`, default `info`. Logs carry customer ids, never email
//! addresses or names.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if in_lambda {
        builder.json().with_current_span(false).try_init()
    } else {
        builder.compact().try_init()
    };
}

/// `text` with every email address in it masked (`anna@example.com` becomes
/// `***@example.com`): service error messages (SES names the recipients it refuses) go to logs
/// and the journey log, which must hold no personal data. The domain is kept; it is what
/// tells a mailbox provider's problem from a typo.
pub fn mask_emails(text: &str) -> String {
    let is_local = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut pending_start = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = i;
            while start > pending_start && is_local(chars[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < chars.len() && is_domain(chars[end]) {
                end += 1;
            }
            let domain: String = chars[i + 1..end].iter().collect();
            if start < i && domain.trim_end_matches('.').contains('.') {
                out.extend(&chars[pending_start..start]);
                out.push_str("***@");
                out.push_str(&domain);
                pending_start = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.extend(&chars[pending_start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::mask_emails;

    #[test]
    fn email_addresses_are_masked_and_everything_else_is_kept() {
        assert_eq!(
            mask_emails("MessageRejected: Email address is not verified. The following identities failed the check in region US-EAST-1: anna.p+shop@example.co.uk, orders@shop.example"),
            "MessageRejected: Email address is not verified. The following identities failed the check in region US-EAST-1: ***@example.co.uk, ***@shop.example"
        );
        assert_eq!(mask_emails("<иван@почта.рф>"), "<***@почта.рф>");
        assert_eq!(
            mask_emails("no address @ all, a@b"),
            "no address @ all, a@b"
        );
        assert_eq!(mask_emails(""), "");
    }
}
