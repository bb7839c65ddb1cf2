//! Sending through SES v2 as raw MIME: multipart/alternative with text and HTML, `From` the
//! configured sender under the shop's name, `Reply-To` the support inbox, the configuration
//! set, and tags for kind and order. The `Message-ID` written here is derived from the message
//! id (SES replaces it with its own on the way out; it identifies the message locally and in
//! the outbox of `make demo`).

use aftercare_journey::contact::EmailAddress;
use aftercare_journey::message::OutgoingMessage;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use mail_builder::MessageBuilder;

use crate::config::Config;
use crate::error::{classify, describe, Retry};
use crate::ports::{Mailer, SendError};
use crate::reference::{MessageReference, CUSTOMER_TAG, MESSAGE_TAG, REFERENCE_HEADER};

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

    /// The MIME message for `message`. The header fields are written by
    /// [`crate::mime_header`] (encoded-words outside quotes, folded lines); mail-builder writes
    /// the multipart/alternative body. Names and subjects cannot carry line breaks (the domain
    /// types refuse them).
    pub fn mime(&self, message: &OutgoingMessage) -> Result<Vec<u8>, std::io::Error> {
        use crate::mime_header::{mailbox, unstructured, verbatim};
        let mut headers = String::new();
        headers.push_str(&mailbox(
            "From",
            Some(&self.sender_name),
            self.sender.as_str(),
        ));
        headers.push_str(&mailbox(
            "To",
            message.to_name.as_ref().map(|n| n.as_str()),
            message.to.as_str(),
        ));
        headers.push_str(&mailbox("Reply-To", None, self.reply_to.as_str()));
        headers.push_str(&unstructured("Subject", &message.subject));
        headers.push_str(&verbatim(
            "Message-ID",
            &format!("<{}@{}>", message.id, self.sender.domain()),
        ));
        headers.push_str(&verbatim("Date", &message.decided_at.to_rfc2822()));
        headers.push_str("MIME-Version: 1.0\r\n");
        headers.push_str(&verbatim("Content-Language", message.language.tag()));
        headers.push_str(&verbatim("X-Aftercare-Kind", message.kind.as_str()));
        headers.push_str(&verbatim(
            REFERENCE_HEADER,
            &MessageReference::of(message).header_value(),
        ));
        if let Some(unsubscribe) = &message.list_unsubscribe {
            // RFC 2369 and RFC 8058: the https link takes the one-click POST.
            headers.push_str(&verbatim(
                "List-Unsubscribe",
                &format!("<{}>, <{}>", unsubscribe.https, unsubscribe.mailto),
            ));
            headers.push_str(&verbatim(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click",
            ));
        }
        let mut mime = headers.into_bytes();
        MessageBuilder::new()
            .text_body(message.text.as_str())
            .html_body(message.html.as_str())
            .write_body(&mut mime)?;
        Ok(mime)
    }
}

/// Sends through SES v2 as raw MIME, one attempt per send (see `aws::ses_config`).
impl Mailer for SesMailer {
    /// Sends `message`; returns SES's message id.
    async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError> {
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
            .from_email_address(crate::mime_header::mailbox_unfolded(
                Some(&self.sender_name),
                self.sender.as_str(),
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
