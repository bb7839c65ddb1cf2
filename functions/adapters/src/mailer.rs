//! Sending through SES v2 as raw MIME: multipart/alternative with text and HTML, `From` the
//! configured sender under the shop's name, `Reply-To` the support inbox, the configuration
//! set, and tags for kind and order. The `Message-ID` written here is derived from the message
//! id (SES replaces it with its own on the way out; it identifies the message locally and in
//! the outbox of `make demo`).

use aftercare_journey::contact::EmailAddress;
use aftercare_journey::message::OutgoingMessage;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;

use crate::config::Config;
use crate::error::{classify, describe, Retry};
use crate::reference::{MessageReference, CUSTOMER_TAG, MESSAGE_TAG, REFERENCE_HEADER};

/// Why SES did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// It may take it later: throttling, a 5xx, a timeout, a paused account, a missing
    /// configuration set. The message stays in the outbox.
    #[error("SES could not take the message now: {0}")]
    Transient(String),
    /// It will never take it (a rejected recipient or content). The message is marked failed.
    #[error("SES refused the message: {0}")]
    Rejected(String),
}

/// Sends rendered messages through SES v2.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    sender: EmailAddress,
    sender_name: String,
    reply_to: EmailAddress,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// A mailer sending as `SENDER_EMAIL` under `SHOP_NAME`, replies to `SUPPORT_EMAIL`.
    pub fn new(client: aws_sdk_sesv2::Client, config: &Config) -> Self {
        Self {
            client,
            sender: config.sender.clone(),
            sender_name: config.settings.brand.shop_name.as_str().to_owned(),
            reply_to: config.settings.brand.support_email.clone(),
            configuration_set: config.configuration_set.clone(),
        }
    }

    /// The MIME message for `message`. Headers are encoded by mail-builder; names and subjects
    /// cannot carry line breaks (the domain types refuse them).
    pub fn mime(&self, message: &OutgoingMessage) -> Result<Vec<u8>, std::io::Error> {
        let to = match &message.to_name {
            Some(name) => (name.as_str().to_owned(), message.to.as_str().to_owned()),
            None => (String::new(), message.to.as_str().to_owned()),
        };
        let mut builder = MessageBuilder::new()
            .from((self.sender_name.clone(), self.sender.as_str().to_owned()))
            .to(to)
            .reply_to(self.reply_to.as_str())
            .subject(message.subject.as_str())
            .message_id(format!("{}@{}", message.id, self.sender.domain()))
            .date(message.decided_at.timestamp())
            .header("Content-Language", Raw::new(message.language.tag()))
            .header("X-Aftercare-Kind", Raw::new(message.kind.as_str()))
            .header(
                REFERENCE_HEADER,
                Raw::new(MessageReference::of(message).header_value()),
            );
        if let Some(unsubscribe) = &message.list_unsubscribe {
            // RFC 2369 and RFC 8058: the https link takes the one-click POST.
            builder = builder
                .header(
                    "List-Unsubscribe",
                    Raw::new(format!("<{}>, <{}>", unsubscribe.https, unsubscribe.mailto)),
                )
                .header(
                    "List-Unsubscribe-Post",
                    Raw::new("List-Unsubscribe=One-Click"),
                );
        }
        builder
            .text_body(message.text.as_str())
            .html_body(message.html.as_str())
            .write_to_vec()
    }

    /// Sends `message`; returns SES's message id.
    pub async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError> {
        let mime = self
            .mime(message)
            .map_err(|e| SendError::Rejected(format!("MIME could not be built: {e}")))?;
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| SendError::Rejected(e.to_string()))?;
        let reference = MessageReference::of(message);
        let mut tags = vec![
            tag("kind", message.kind.as_str())?,
            tag(MESSAGE_TAG, &reference.message_tag())?,
        ];
        if let Some(order) = &message.order_id {
            tags.push(tag("order", order.as_str())?);
        }
        if let Some(customer) = reference.customer_tag() {
            tags.push(tag(CUSTOMER_TAG, &customer)?);
        }
        let output = self
            .client
            .send_email()
            .from_email_address(format!(
                "{} <{}>",
                self.sender_name.replace(['"', '<', '>'], ""),
                self.sender
            ))
            .destination(
                Destination::builder()
                    .to_addresses(message.to.as_str())
                    .build(),
            )
            .reply_to_addresses(self.reply_to.as_str())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(Some(tags))
            .send()
            .await
            .map_err(|e| {
                let code = e.as_service_error().map(|s| {
                    aws_sdk_sesv2::error::ProvideErrorMetadata::code(s)
                        .unwrap_or_default()
                        .to_owned()
                });
                let detail = describe(&e);
                match (classify(&e), code.as_deref()) {
                    (Retry::Permanent, Some("MessageRejected" | "BadRequestException")) => {
                        SendError::Rejected(detail)
                    }
                    _ => SendError::Transient(detail),
                }
            })?;
        output
            .message_id
            .ok_or_else(|| SendError::Transient("SES answered without a message id".into()))
    }
}

/// A message tag; SES allows only letters, digits, `_` and `-` in values.
fn tag(name: &str, value: &str) -> Result<MessageTag, SendError> {
    let value: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect();
    MessageTag::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| SendError::Rejected(e.to_string()))
}
