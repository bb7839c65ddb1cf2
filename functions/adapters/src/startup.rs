//! The cold start every function shares, in its order: logging first (so that a bad
//! configuration is logged) and the panic hook that logs a bug without its message, the
//! configuration from the environment, the SDK clients (built once, reused by every
//! invocation), how log lines name customers (the log-id key from its secret, unless the shop
//! opted into raw ids), then the link-signing keys from their secret for the functions that
//! sign or verify links. While the keys are read, the connection to DynamoDB is opened (see
//! [`crate::aws::open_dynamodb_connection`]), so the first invocation does not wait for its TLS
//! handshake. A function that sends nothing and signs no link (helpdesk-events) starts with
//! [`cold_start_core`]: the same steps over the [`CoreConfig`] alone.

use crate::aws::AwsClients;
use crate::config::{Config, ConfigError, CoreConfig, LogIdSource};
use crate::log_ids::{AlreadyInstalled, CustomerNaming};
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
    /// A key could not be read from its secret.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// The process named customers another way already.
    #[error(transparent)]
    LogIds(#[from] AlreadyInstalled),
}

/// Runs the cold start and returns the configuration and the clients to build the function
/// from. Every function logs customers, so every one reads the log-id key (one Secrets
/// Manager call), and refuses to start without one unless raw ids were chosen.
pub async fn cold_start(keys: LinkKeys) -> Result<(Config, AwsClients), ColdStartError> {
    crate::logging::init();
    crate::panics::install_hook();
    let mut config = Config::from_environment()?;
    let clients = AwsClients::from_environment().await;
    let read_keys = async {
        crate::log_ids::install(customer_naming(&config, &clients).await?)?;
        if keys == LinkKeys::Load {
            config.load_secrets(&clients).await?;
        }
        Ok::<(), ColdStartError>(())
    };
    let (read, ()) = tokio::join!(
        read_keys,
        crate::aws::open_dynamodb_connection(&clients.dynamodb)
    );
    read?;
    Ok((config, clients))
}

/// The cold start of a function that only applies events to journeys and sends nothing: the
/// logging and the panic hook, the [`CoreConfig`] from the environment, the clients and how log
/// lines name customers (the log-id key from its secret, one Secrets Manager call, unless raw
/// ids were chosen). It reads no shop settings and no link-signing keys.
pub async fn cold_start_core() -> Result<(CoreConfig, AwsClients), ColdStartError> {
    crate::logging::init();
    crate::panics::install_hook();
    let config = CoreConfig::from_environment()?;
    let clients = AwsClients::from_environment().await;
    let (naming, ()) = tokio::join!(
        naming(&config.log_ids, &clients),
        crate::aws::open_dynamodb_connection(&clients.dynamodb)
    );
    crate::log_ids::install(naming?)?;
    Ok((config, clients))
}

/// How this function's log lines name customers, as `config` says.
pub async fn customer_naming(
    config: &Config,
    clients: &AwsClients,
) -> Result<CustomerNaming, ColdStartError> {
    naming(&config.log_ids, clients).await
}

/// How log lines name customers, from where `log_ids` says the key is.
async fn naming(
    log_ids: &LogIdSource,
    clients: &AwsClients,
) -> Result<CustomerNaming, ColdStartError> {
    Ok(match log_ids {
        LogIdSource::Raw => CustomerNaming::Raw,
        LogIdSource::Key(key) => CustomerNaming::Hashed(key.clone()),
        LogIdSource::Secret(secret) => {
            CustomerNaming::Hashed(crate::secrets::load_log_id_key(&clients.secrets, secret).await?)
        }
        LogIdSource::Unset => {
            return Err(ConfigError {
                variable: "LOG_ID_KEY_SECRET",
                problem: "is not set: customer ids in logs are hashed with the key it holds \
                          (LOG_ID_KEY for local runs), unless LOG_RAW_CUSTOMER_IDS is true"
                    .to_owned(),
            }
            .into())
        }
    })
}
