//! The cold start every function shares, in its order: logging first (so that a bad
//! configuration is logged) and the panic hook that logs a bug without its message, the configuration from the environment, the SDK clients (built
//! once, reused by every invocation), then the link-signing keys from their secret for the
//! functions that sign or verify links.

use crate::aws::AwsClients;
use crate::config::{Config, ConfigError};
use crate::secrets::SecretError;

/// Whether a function reads the link-signing keys at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKeys {
    /// It signs or verifies links: read the keys from `LINK_SIGNING_KEYS_SECRET` (one
    /// Secrets Manager call) when that is set.
    Load,
    /// It neither signs nor verifies links (and may not read the secret).
    NotNeeded,
}

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum ColdStartError {
    /// The environment does not configure it.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The link-signing keys could not be read.
    #[error(transparent)]
    Secrets(#[from] SecretError),
}

/// Runs the cold start and returns the configuration and the clients to build the function
/// from.
pub async fn cold_start(keys: LinkKeys) -> Result<(Config, AwsClients), ColdStartError> {
    crate::logging::init();
    crate::panics::install_hook();
    let mut config = Config::from_environment()?;
    let clients = AwsClients::from_environment().await;
    if keys == LinkKeys::Load {
        config.load_secrets(&clients).await?;
    }
    Ok((config, clients))
}
