//! `make log-id CUSTOMER=<id>`: prints the log id the functions' log lines name a customer by
//! (`cust_` and 16 hex digits; see `aftercare_adapters::log_ids`), so a support engineer can
//! find a customer's lines.
//!
//! ```text
//! aftercare-log-id --secret <secret id or ARN> <customer id>...   # a deployed stack's key
//! aftercare-log-id --local <customer id>...                       # the local stack's key
//! ```
//!
//! `--secret` reads the key with the ambient AWS credentials and region (the AWS CLI's), as the
//! functions read it at cold start; `make log-id` finds the secret in the stack's
//! `LogIdKeySecretArn` output. One log id per customer id, one a line, in order.

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::log_ids::{LogIdKey, LogIdKeyError};
use aftercare_adapters::secrets::{load_log_id_key, SecretError};

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeySource {
    /// The Secrets Manager secret of a deployed stack.
    Secret(String),
    /// The local stack's key.
    Local,
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    key: KeySource,
    customers: Vec<String>,
}

/// Why no log id was printed.
#[derive(Debug, thiserror::Error)]
enum LogIdError {
    /// The command line is not one of the two forms.
    #[error("usage: aftercare-log-id (--secret <secret id or ARN> | --local) <customer id>...")]
    Usage,
    /// The secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The local key does not read (a bug: it is a constant).
    #[error("the local stack's log-id key {0}")]
    LocalKey(#[from] LogIdKeyError),
}

/// Reads the command line (without the program's name).
fn parse(args: &[String]) -> Result<Request, LogIdError> {
    let (key, rest) = match args {
        [flag, secret, rest @ ..] if flag == "--secret" && !secret.is_empty() => {
            (KeySource::Secret(secret.clone()), rest)
        }
        [flag, rest @ ..] if flag == "--local" => (KeySource::Local, rest),
        _ => return Err(LogIdError::Usage),
    };
    if rest.is_empty() || rest.iter().any(String::is_empty) {
        return Err(LogIdError::Usage);
    }
    Ok(Request {
        key,
        customers: rest.to_vec(),
    })
}

/// The key `source` names.
async fn key(source: &KeySource) -> Result<LogIdKey, LogIdError> {
    match source {
        KeySource::Local => Ok(LogIdKey::from_hex(aftercare_localstack::LOCAL_LOG_ID_KEY)?),
        KeySource::Secret(secret) => {
            let clients = AwsClients::from_environment().await;
            Ok(load_log_id_key(&clients.secrets, secret).await?)
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = async {
        let request = parse(&args)?;
        let key = key(&request.key).await?;
        Ok::<_, LogIdError>(
            request
                .customers
                .iter()
                .map(|customer| key.log_id(customer))
                .collect::<Vec<_>>(),
        )
    }
    .await;
    match result {
        Ok(log_ids) => {
            for log_id in log_ids {
                println!("{log_id}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn the_two_forms_are_read_and_anything_else_is_refused_with_the_usage() {
        assert_eq!(
            parse(&args(&["--secret", "arn:aws:secretsmanager:x", "cus-1001"])).unwrap(),
            Request {
                key: KeySource::Secret("arn:aws:secretsmanager:x".into()),
                customers: vec!["cus-1001".into()],
            }
        );
        assert_eq!(
            parse(&args(&["--local", "a", "b"])).unwrap().customers,
            ["a", "b"]
        );
        for bad in [
            &[][..],
            &["cus-1001"][..],
            &["--local"][..],
            &["--secret", "s"][..],
            &["--local", ""][..],
        ] {
            assert!(
                matches!(parse(&args(bad)), Err(LogIdError::Usage)),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_local_key_gives_the_log_ids_the_local_functions_write() {
        // Python: hmac.new(bytes.fromhex(LOCAL_LOG_ID_KEY), b"cus-1001",
        // hashlib.sha256).hexdigest()[:16]
        let key = key(&KeySource::Local).await.unwrap();
        assert_eq!(key.log_id("cus-1001"), "cust_711c7f8c3f739c22");
    }
}
