//! The local AWS-compatible stack for tests and the demo.
//!
//! [`LocalStack::start`] runs moto server (from the project's `.venv`) on a port of
//! 127.0.0.1 the OS picks, waits until it answers, and stops it when dropped or when this
//! process exits. [`LocalStack::create_table`] creates a journey table from `template.yaml`'s
//! own `JourneyTable` definition, so there is one source of truth for keys and indexes.
//! [`LocalStack::sent_mail`] reads back what SES was asked to send.

#![warn(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

/// The verified sending domain of the local shop used by the demo and the tests.
pub const SENDER_DOMAIN: &str = "leafandkettle.example";

/// The id and hex secret of the local stack's link-signing key. It signs the links in mail
/// sent by the demo, the tests and `make invoke`, and the links in the sample events; deployed
/// stacks generate their own key in a Secrets Manager secret.
pub const LOCAL_LINK_KEY: (&str, &str) = (
    "local-1",
    "6c6f63616c2d6f6e6c792d72616c6f63616c2d6f6e6c792d72616c6f63616c2d6f6e6c792d7261",
);

/// The schedule rule of the local stack: the scheduled events in `infra/events/` name it, and
/// the local schedule function believes only its events, as a deployed one believes only its
/// own rule's.
pub const LOCAL_SCHEDULE_RULE_ARN: &str =
    "arn:aws:events:us-east-1:123456789012:rule/aftercare-ScheduleFunctionSweep";

/// The hex key of the local stack's customer log ids (see `aftercare_adapters::log_ids`): the
/// demo, the tests and `make invoke` log customers under it, and `make log-id LOCAL=1` computes
/// with it; deployed stacks generate their own key in a Secrets Manager secret.
pub const LOCAL_LOG_ID_KEY: &str =
    "6c6f63616c2d6c6f672d69642d6b65792d6c6f63616c2d6c6f672d69642d6b65";

/// The name of the local stack's log-id secret for the journey table `table`, holding
/// [`LOCAL_LOG_ID_KEY`] as deployed stacks hold theirs (`{"key": "<hex>"}`).
pub fn log_id_secret_name(table: &str) -> String {
    format!("{table}-log-id-key")
}

/// The environment of the local shop's functions ("Leaf & Kettle", sending from
/// [`SENDER_DOMAIN`]) over the journey table `table`, with the event bus `<table>-bus`: the
/// variables `template.yaml` gives the deployed functions, with local values.
pub fn local_shop_environment(table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("JOURNEY_TABLE", table.to_owned()),
        ("SENDER_EMAIL", format!("orders@{SENDER_DOMAIN}")),
        ("SHOP_NAME", "Leaf & Kettle".to_owned()),
        ("SUPPORT_EMAIL", format!("help@{SENDER_DOMAIN}")),
        ("SUPPORT_URL", format!("https://{SENDER_DOMAIN}/help")),
        ("EVENT_BUS_NAME", format!("{table}-bus")),
        ("FEEDBACK_URL", format!("https://{SENDER_DOMAIN}")),
        ("SCHEDULE_RULE_ARN", LOCAL_SCHEDULE_RULE_ARN.to_owned()),
        (
            "LINK_SIGNING_KEYS",
            format!("{}:{}", LOCAL_LINK_KEY.0, LOCAL_LINK_KEY.1),
        ),
        ("LOG_ID_KEY", LOCAL_LOG_ID_KEY.to_owned()),
    ]
}

/// Creates the secret `name` holding `value` as its JSON string.
async fn create_secret(
    clients: &aftercare_adapters::aws::AwsClients,
    name: &str,
    value: serde_json::Value,
) -> Result<(), LocalStackError> {
    clients
        .secrets
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| LocalStackError::Aws {
            operation: "CreateSecret",
            detail: aftercare_adapters::error::describe(&e),
        })
}

/// The configuration of the local shop over the journey table `table`, as the functions would
/// read it from [`local_shop_environment`].
pub fn local_shop_config(
    table: &str,
) -> Result<aftercare_adapters::config::Config, aftercare_adapters::config::ConfigError> {
    local_shop_config_with(table, &[])
}

/// [`local_shop_config`] with some variables set otherwise (`("QUIET_HOURS", "off")`).
pub fn local_shop_config_with(
    table: &str,
    overrides: &[(&str, &str)],
) -> Result<aftercare_adapters::config::Config, aftercare_adapters::config::ConfigError> {
    let pairs = local_shop_environment(table);
    aftercare_adapters::config::Config::from_lookup(|name| {
        overrides
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            })
    })
}

/// The template whose `JourneyTable` the local tables copy.
const TEMPLATE: &str = include_str!("../../../template.yaml");

/// What went wrong with the local stack.
#[derive(Debug, thiserror::Error)]
pub enum LocalStackError {
    /// moto is not installed where it is looked for.
    #[error("moto server is not installed: {python} was not found or cannot import moto. Run `make venv` (or `make test` / `make demo`, which do it) to install the local tooling into .venv")]
    NotInstalled {
        /// The Python interpreter looked for.
        python: String,
    },
    /// The server did not come up.
    #[error("moto server did not start: {0}")]
    Start(String),
    /// `template.yaml` does not define the table as expected.
    #[error("template.yaml: {0}")]
    Template(String),
    /// An AWS call to the emulator failed.
    #[error("{operation} against the emulator failed: {detail}")]
    Aws {
        /// The call.
        operation: &'static str,
        /// Why.
        detail: String,
    },
    /// Reading sent mail failed.
    #[error("reading sent mail from the emulator failed: {0}")]
    Mail(String),
}

/// A running moto server.
pub struct LocalStack {
    child: Child,
    endpoint: String,
}

/// The repository root, where `.venv` and `infra/` are.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl LocalStack {
    /// Starts moto server with the Python in `AFTERCARE_PYTHON`, or else `.venv/bin/python`
    /// of the repository; fails with instructions when it is missing.
    pub fn start() -> Result<Self, LocalStackError> {
        let root = repository_root();
        let python = std::env::var("AFTERCARE_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join(".venv/bin/python"));
        let not_installed = || LocalStackError::NotInstalled {
            python: python.display().to_string(),
        };
        if !python.exists() {
            return Err(not_installed());
        }
        let mut child = Command::new(&python)
            .arg(root.join("infra/local/moto_supervised.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LocalStackError::Start(e.to_string()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LocalStackError::Start("no stdout".into()))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| LocalStackError::Start(e.to_string()))?;
        let Some(port) = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse::<u16>().ok())
        else {
            let mut stderr = String::new();
            if let Some(err) = child.stderr.take() {
                use std::io::Read;
                let _ = BufReader::new(err).take(4_000).read_to_string(&mut stderr);
            }
            let _ = child.kill();
            if stderr.contains("ModuleNotFoundError") {
                return Err(not_installed());
            }
            return Err(LocalStackError::Start(format!(
                "unexpected output {line:?}; stderr: {stderr}"
            )));
        };
        // moto logs every request to stderr; nobody reads it, so let it go nowhere.
        drop(child.stderr.take());
        let stack = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        stack.wait_ready(Duration::from_secs(30))?;
        Ok(stack)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), LocalStackError> {
        let deadline = Instant::now() + timeout;
        loop {
            match ureq::get(&format!("{}/moto-api/", self.endpoint)).call() {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(LocalStackError::Start(e.to_string()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The emulator's URL (`http://127.0.0.1:<port>`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK configuration for the emulator, with aftercare's timeouts and retries and
    /// fixed test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.endpoint).await
    }

    /// Creates a journey table named `name` from template.yaml's `JourneyTable`, with its TTL.
    pub async fn create_table(
        &self,
        client: &aws_sdk_dynamodb::Client,
        name: &str,
    ) -> Result<(), LocalStackError> {
        let definition = table_definition()?;
        let aws = |operation: &'static str| {
            move |e: String| LocalStackError::Aws {
                operation,
                detail: e,
            }
        };
        client
            .create_table()
            .table_name(name)
            .set_attribute_definitions(Some(definition.attributes))
            .set_key_schema(Some(definition.keys))
            .set_global_secondary_indexes(Some(definition.indexes))
            .billing_mode(definition.billing)
            .send()
            .await
            .map_err(|e| aws("CreateTable")(aftercare_adapters::error::describe(&e)))?;
        if let Some(attribute) = definition.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .map_err(|e| aws("UpdateTimeToLive")(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| aws("UpdateTimeToLive")(aftercare_adapters::error::describe(&e)))?;
        }
        Ok(())
    }

    /// Verifies an SES identity (a domain or an address), as a shop does once before sending.
    pub async fn verify_identity(
        &self,
        client: &aws_sdk_sesv2::Client,
        identity: &str,
    ) -> Result<(), LocalStackError> {
        client
            .create_email_identity()
            .email_identity(identity)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| LocalStackError::Aws {
                operation: "CreateEmailIdentity",
                detail: aftercare_adapters::error::describe(&e),
            })
    }

    /// Creates the event bus `bus` and routes its `HandoffRequested` events to a new SQS
    /// queue, so that [`LocalStack::handoffs`] can read them back.
    pub async fn route_handoffs(
        &self,
        client: &aws_sdk_eventbridge::Client,
        bus: &str,
    ) -> Result<(), LocalStackError> {
        let aws = |operation: &'static str| {
            move |detail: String| LocalStackError::Aws { operation, detail }
        };
        client
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .map_err(|e| aws("CreateEventBus")(aftercare_adapters::error::describe(&e)))?;
        let queue = format!("{bus}-handoffs");
        ureq::post(&self.endpoint)
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0")
            .send_form([("Action", "CreateQueue"), ("QueueName", queue.as_str()), ("Version", "2012-11-05")])
            .map_err(|e| aws("CreateQueue")(e.to_string()))?;
        client
            .put_rule()
            .name(format!("{bus}-handoffs"))
            .event_bus_name(bus)
            .event_pattern(r#"{"detail-type": ["HandoffRequested"]}"#)
            .send()
            .await
            .map_err(|e| aws("PutRule")(aftercare_adapters::error::describe(&e)))?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(format!("arn:aws:sqs:us-east-1:123456789012:{queue}"))
            .build()
            .map_err(|e| aws("PutTargets")(e.to_string()))?;
        client
            .put_targets()
            .rule(format!("{bus}-handoffs"))
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .map_err(|e| aws("PutTargets")(aftercare_adapters::error::describe(&e)))?;
        Ok(())
    }

    /// Sets up what a deployed stack has, for the local shop over `table`: the table, the
    /// verified sending domain, the event bus `<table>-bus` with its handoffs routed, the
    /// link-signing secret `<table>-link-keys` holding [`LOCAL_LINK_KEY`], and the log-id secret
    /// [`log_id_secret_name`] holding [`LOCAL_LOG_ID_KEY`]. Returns the link secret's name.
    /// Safe to call again for a table that exists: nothing is created twice (a stack
    /// provisioned before the log-id secret existed gets it now).
    pub async fn provision(
        &self,
        clients: &aftercare_adapters::aws::AwsClients,
        table: &str,
    ) -> Result<String, LocalStackError> {
        let exists = clients
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .is_ok();
        let secret = format!("{table}-link-keys");
        self.create_log_id_secret(clients, table).await?;
        if exists {
            return Ok(secret);
        }
        self.create_table(&clients.dynamodb, table).await?;
        // Verifying twice is refused as already done; either way the domain is verified.
        let _ = self.verify_identity(&clients.sesv2, SENDER_DOMAIN).await;
        self.route_handoffs(&clients.eventbridge, &format!("{table}-bus"))
            .await?;
        let (key_id, key) = LOCAL_LINK_KEY;
        create_secret(
            clients,
            &secret,
            serde_json::json!({ "key_id": key_id, "secret": key }),
        )
        .await?;
        Ok(secret)
    }

    /// Creates the log-id secret of `table` ([`log_id_secret_name`]) unless it exists.
    async fn create_log_id_secret(
        &self,
        clients: &aftercare_adapters::aws::AwsClients,
        table: &str,
    ) -> Result<(), LocalStackError> {
        let secrets = &clients.secrets;
        let name = log_id_secret_name(table);
        if secrets
            .describe_secret()
            .secret_id(&name)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        create_secret(
            clients,
            &name,
            serde_json::json!({ "key": LOCAL_LOG_ID_KEY }),
        )
        .await
    }

    /// What moto recorded: its `/moto-api/data.json`.
    fn recorded(&self) -> Result<serde_json::Value, LocalStackError> {
        recorded_at(&self.endpoint)
    }

    /// The details of every `HandoffRequested` event routed so far (by any bus).
    pub fn handoffs(&self) -> Result<Vec<serde_json::Value>, LocalStackError> {
        let data = self.recorded()?;
        Ok(data["sqs"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(m["body"].as_str()?).ok())
            .filter(|event| event["detail-type"] == "HandoffRequested")
            .map(|event| event["detail"].clone())
            .collect())
    }

    /// Every message SES was asked to send so far, oldest first.
    pub fn sent_mail(&self) -> Result<Vec<SentMail>, LocalStackError> {
        sent_mail_at(&self.endpoint)
    }
}

/// An SDK configuration for the emulator, or a proxy in front of it, at `endpoint`, with
/// aftercare's timeouts and retries and fixed test credentials.
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aftercare_adapters::aws::base_loader()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "aftercare-local",
        ))
        .load()
        .await
}

/// What the emulator at `endpoint` recorded: its `/moto-api/data.json`.
fn recorded_at(endpoint: &str) -> Result<serde_json::Value, LocalStackError> {
    ureq::get(&format!("{endpoint}/moto-api/data.json"))
        .call()
        .map_err(|e| LocalStackError::Mail(e.to_string()))?
        .body_mut()
        // Everything sent so far is in it: a soak's mail runs to hundreds of megabytes.
        .with_config()
        .limit(4 << 30)
        .read_json()
        .map_err(|e| LocalStackError::Mail(e.to_string()))
}

/// Every message SES was asked to send so far by the emulator at `endpoint` (one this process
/// may not have started), oldest first.
pub fn sent_mail_at(endpoint: &str) -> Result<Vec<SentMail>, LocalStackError> {
    let data = recorded_at(endpoint)?;
    let raw = data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    raw.iter()
        .map(|m| {
            let text = m["raw_data"]
                .as_str()
                .ok_or_else(|| LocalStackError::Mail("a message without raw_data".into()))?;
            SentMail::parse(m["id"].as_str().unwrap_or_default(), text)
        })
        .collect()
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        // Closing stdin stops the server cleanly; kill in case it does not.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message as SES received it, with the parts tests and the demo look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// SES's message id.
    pub ses_message_id: String,
    /// The raw MIME.
    pub raw: String,
    /// The decoded subject.
    pub subject: String,
    /// The message kind, from the `X-Aftercare-Kind` header.
    pub kind: String,
    /// The `To` address.
    pub to: String,
    /// The `From` header's address.
    pub from: String,
    /// The `Reply-To` address.
    pub reply_to: String,
    /// The `Message-ID`.
    pub message_id: String,
    /// The decoded text part.
    pub text: String,
    /// The decoded HTML part.
    pub html: String,
    /// The `List-Unsubscribe` header, when there is one.
    pub list_unsubscribe: Option<String>,
    /// The `List-Unsubscribe-Post` header, when there is one.
    pub list_unsubscribe_post: Option<String>,
    /// The `X-Aftercare-Ref` header: which journey message this is.
    pub reference: String,
}

impl SentMail {
    /// Parses raw MIME.
    pub fn parse(ses_message_id: &str, raw: &str) -> Result<Self, LocalStackError> {
        let message = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .ok_or_else(|| {
                LocalStackError::Mail(format!("message {ses_message_id} is not MIME"))
            })?;
        let first_address = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned()
        };
        let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_owned());
        Ok(Self {
            ses_message_id: ses_message_id.to_owned(),
            raw: raw.to_owned(),
            subject: message.subject().unwrap_or_default().to_owned(),
            kind: message
                .header_raw("X-Aftercare-Kind")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            to: first_address(message.to()),
            from: first_address(message.from()),
            reply_to: first_address(message.reply_to()),
            message_id: message.message_id().unwrap_or_default().to_owned(),
            text: message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: message
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            list_unsubscribe: header("List-Unsubscribe"),
            list_unsubscribe_post: header("List-Unsubscribe-Post"),
            reference: header("X-Aftercare-Ref").unwrap_or_default(),
        })
    }
}

struct TableDefinition {
    attributes: Vec<AttributeDefinition>,
    keys: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
    billing: BillingMode,
    ttl_attribute: Option<String>,
}

fn table_definition() -> Result<TableDefinition, LocalStackError> {
    let template: Value =
        serde_yaml::from_str(TEMPLATE).map_err(|e| LocalStackError::Template(e.to_string()))?;
    let properties = &template["Resources"]["JourneyTable"]["Properties"];
    if properties.is_null() {
        return Err(LocalStackError::Template(
            "Resources.JourneyTable.Properties is missing".into(),
        ));
    }
    let text = |v: &Value, what: &str| {
        v.as_str().map(str::to_owned).ok_or_else(|| {
            LocalStackError::Template(format!("JourneyTable: {what} is not a string"))
        })
    };
    let build = |e: aws_sdk_dynamodb::error::BuildError| LocalStackError::Template(e.to_string());
    let key_schema = |v: &Value| -> Result<Vec<KeySchemaElement>, LocalStackError> {
        v.as_sequence()
            .ok_or_else(|| LocalStackError::Template("KeySchema is not a list".into()))?
            .iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(text(&k["AttributeName"], "AttributeName")?)
                    .key_type(KeyType::from(text(&k["KeyType"], "KeyType")?.as_str()))
                    .build()
                    .map_err(build)
            })
            .collect()
    };
    let attributes = properties["AttributeDefinitions"]
        .as_sequence()
        .ok_or_else(|| LocalStackError::Template("AttributeDefinitions is not a list".into()))?
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(text(&a["AttributeName"], "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(
                    text(&a["AttributeType"], "AttributeType")?.as_str(),
                ))
                .build()
                .map_err(build)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(|list| {
            list.iter()
                .map(|i| {
                    GlobalSecondaryIndex::builder()
                        .index_name(text(&i["IndexName"], "IndexName")?)
                        .set_key_schema(Some(key_schema(&i["KeySchema"])?))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::from(
                                    text(&i["Projection"]["ProjectionType"], "ProjectionType")?
                                        .as_str(),
                                ))
                                .build(),
                        )
                        .build()
                        .map_err(build)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(TableDefinition {
        attributes,
        keys: key_schema(&properties["KeySchema"])?,
        indexes,
        billing: BillingMode::from(
            properties["BillingMode"]
                .as_str()
                .unwrap_or("PAY_PER_REQUEST"),
        ),
        ttl_attribute: properties["TimeToLiveSpecification"]["AttributeName"]
            .as_str()
            .map(str::to_owned),
    })
}

/// What SES would publish (through its EventBridge destination, as the SQS body the rule
/// queues) for `event_type` (`Bounce`, `Delivery`, ...) about `mail`, with `report` as the
/// event's own object (`bounce`, `delivery`, ...). The tags and the reference header are those
/// the mailer set on the message; `None` if the mail carries no `X-Aftercare-Ref`.
pub fn ses_event_body(
    mail: &SentMail,
    event_type: &str,
    report: serde_json::Value,
) -> Option<String> {
    let (customer, message) = mail.reference.split_once('.')?;
    let mut detail = serde_json::json!({
        "eventType": event_type,
        "mail": {
            "timestamp": "2026-11-06T18:05:00.000Z",
            "source": format!("orders@{SENDER_DOMAIN}"),
            "messageId": mail.ses_message_id,
            "destination": [mail.to],
            "headersTruncated": false,
            "headers": [
                {"name": "X-Aftercare-Ref", "value": mail.reference},
                {"name": "X-Aftercare-Kind", "value": mail.kind},
            ],
            "tags": {
                "kind": [mail.kind],
                "message": [message],
                "customer": [customer],
                "ses:configuration-set": ["aftercare-local"],
            },
        },
    });
    let key = match event_type {
        "DeliveryDelay" => "deliveryDelay".to_owned(),
        other => other.to_lowercase(),
    };
    detail[key] = report;
    let detail_type = match event_type {
        "Bounce" => "Email Bounced",
        "Complaint" => "Email Complaint Received",
        "Delivery" => "Email Delivered",
        "Open" => "Email Opened",
        "Click" => "Email Clicked",
        "Send" => "Email Sent",
        _ => "Email Event",
    };
    Some(
        serde_json::json!({
            "version": "0", "id": format!("ses-{event_type}-{}", mail.ses_message_id),
            "detail-type": detail_type, "source": "aws.ses", "account": "123456789012",
            "time": "2026-11-06T18:05:03Z", "region": "us-east-1", "resources": [],
            "detail": detail,
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_definition_is_read_from_the_template() {
        let definition = table_definition().unwrap();
        assert_eq!(definition.keys.len(), 2);
        assert_eq!(definition.indexes.len(), 1);
        assert_eq!(definition.indexes[0].index_name(), "due_keys");
        assert_eq!(definition.ttl_attribute.as_deref(), Some("expires_at"));
        assert_eq!(definition.billing, BillingMode::PayPerRequest);
    }

    /// The value under a CloudFormation tag (`!GetAtt X.Arn` gives `X.Arn`), or the value.
    fn untagged(value: &Value) -> &Value {
        match value {
            Value::Tagged(tagged) => &tagged.value,
            other => other,
        }
    }

    #[test]
    fn every_function_outlasts_its_sdk_calls_and_every_queue_outlasts_its_function() {
        use aftercare_adapters::aws::{OPERATION_TIMEOUT, SES_SEND_TIMEOUT};
        let template: Value = serde_yaml::from_str(TEMPLATE).unwrap();
        let default = template["Globals"]["Function"]["Timeout"].as_u64().unwrap();
        let resources = template["Resources"].as_mapping().unwrap();
        let mut functions = 0;
        for (name, resource) in resources {
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            functions += 1;
            let name = name.as_str().unwrap();
            let timeout = resource["Properties"]["Timeout"]
                .as_u64()
                .unwrap_or(default);
            assert!(
                timeout > OPERATION_TIMEOUT.as_secs() && timeout > SES_SEND_TIMEOUT.as_secs(),
                "{name}: a timeout of {timeout} s leaves an SDK call no room to time out itself"
            );
            let events = resource["Properties"]["Events"].as_mapping();
            for event in events.into_iter().flat_map(|events| events.values()) {
                if event["Type"] != "SQS" {
                    continue;
                }
                let queue = untagged(&event["Properties"]["Queue"])
                    .as_str()
                    .and_then(|arn| arn.strip_suffix(".Arn"))
                    .unwrap();
                let visibility = template["Resources"][queue]["Properties"]["VisibilityTimeout"]
                    .as_u64()
                    .unwrap();
                let window = event["Properties"]["MaximumBatchingWindowInSeconds"]
                    .as_u64()
                    .unwrap_or(0);
                assert!(
                    visibility >= 6 * timeout + window,
                    "{name}: {queue} hides a record for {visibility} s, less than six times the function's {timeout} s plus its {window} s batching window"
                );
            }
        }
        assert_eq!(functions, 5);
    }
}
