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
