//! The feedback function, behind an HTTP API: `GET /rate?token=…&score=N` records a one-click
//! rating from a review request, `POST /rate/comment` adds a comment to it. Both answer with a
//! small page in the customer's language. A forged, altered, expired or foreign link gets a
//! clear 4xx page and records nothing; our own failures get an opaque 500 and a full log.
//!
//! `GET /unsubscribe?token=…` (the link in every message's footer and `List-Unsubscribe`
//! header) shows the customer's email preferences; `POST /unsubscribe?token=…` is the
//! one-click unsubscribe of RFC 8058 from the topic of the message the link came in;
//! `POST /preferences` saves the preferences form.
//!
//! Decode → verify the link → read the profile and the order (one BatchGetItem) → decide (pure)
//! → write the profile and the replies in one transaction → send → answer.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::HashMap;
use std::sync::Arc;

pub mod http_event;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::Clock;
use aftercare_adapters::config::{Config, FunctionParts};
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::events::EventBus;
use aftercare_adapters::items::{pending_message_item, CommitError, MessageItem};
use aftercare_adapters::log_ids;
use aftercare_adapters::mailer::SesMailer;
use aftercare_adapters::outbox::Outbox;
use aftercare_adapters::ports::{HandoffBus, JourneyStore, Mailer};
use aftercare_adapters::retry::{self, Contended, Round};
use aftercare_journey::answers::{add_comment, decide_rating, AnswerError, AnswerPage};
use aftercare_journey::consent::{active_suppression, choose_topics, is_subscribed, unsubscribe};
use aftercare_journey::contact::Language;
use aftercare_journey::event::WebLink;
use aftercare_journey::links::{verify, verify_preferences, LinkClaims, TokenError};
use aftercare_journey::message::{MessageKind, OutgoingMessage};
use aftercare_journey::order::Order;
use aftercare_journey::pages::{render_page, render_preferences, Page, PreferencesNotice};
use aftercare_journey::profile::{Comment, MailTopic, OptOutSource, Profile, Score};
use aftercare_journey::settings::Settings;
use aftercare_journey::signing::SigningKey;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

/// Where rating links point.
pub const RATE_PATH: &str = "/rate";
/// Where the comment form posts.
pub const COMMENT_PATH: &str = "/rate/comment";
/// Where preferences links point: GET shows the page, POST unsubscribes in one click.
pub const UNSUBSCRIBE_PATH: &str = aftercare_journey::consent::UNSUBSCRIBE_PATH;
/// Where the preferences form posts.
pub const PREFERENCES_PATH: &str = "/preferences";
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Everything the function needs, built once per cold start: a journey store `S`, a mailer `M`
/// and, if configured, a bus `B` for handoffs (DynamoDB, SES and EventBridge in Lambda; any
/// implementation of the ports in tests and dry runs).
pub struct FeedbackFunction<S = DynamoStore, M = SesMailer, B = EventBus> {
    store: S,
    mailer: M,
    bus: Option<B>,
    parts: FunctionParts,
}

/// What a request came to.
struct Answer {
    page: Page,
    language: Language,
    form_token: Option<String>,
    detail: Option<String>,
    /// The preferences page's own HTML, when the answer is that page.
    html: Option<String>,
}

impl Answer {
    fn error(page: Page, language: Language) -> Self {
        Self {
            page,
            language,
            form_token: None,
            detail: None,
            html: None,
        }
    }
}

impl FeedbackFunction {
    /// Wires the function from its clients and configuration.
    pub fn new(clients: &AwsClients, config: &Config, clock: Arc<dyn Clock>) -> Self {
        Self::from_parts(
            DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
            SesMailer::new(clients.sesv2.clone(), config),
            config
                .event_bus
                .as_ref()
                .map(|bus| EventBus::new(clients.eventbridge.clone(), bus)),
            FunctionParts::of(config, clock),
        )
    }
}

impl<S: JourneyStore, M: Mailer, B: HandoffBus> FeedbackFunction<S, M, B> {
    /// The function over `store`, `mailer` and, if given, `bus` (the in-memory twin in tests
    /// and dry runs).
    pub fn from_parts(store: S, mailer: M, bus: Option<B>, parts: FunctionParts) -> Self {
        Self {
            store,
            mailer,
            bus,
            parts,
        }
    }

    /// Answers one HTTP request. Never fails: every outcome is a page.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let hint = language_hint(&request);
        let owner = request
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_else(|| {
                format!(
                    "http-{}",
                    self.parts
                        .clock
                        .now()
                        .timestamp_nanos_opt()
                        .unwrap_or_default()
                )
            });
        let settings = settings_for(&self.parts.settings, &request);
        let settings = settings.as_ref();
        let path = request.uri().path();
        let known = [RATE_PATH, COMMENT_PATH, UNSUBSCRIBE_PATH, PREFERENCES_PATH].contains(&path);
        let answer = match (request.method(), path) {
            (&Method::GET, RATE_PATH) => self.rate(&query(&request), hint, &owner, settings).await,
            (&Method::POST, COMMENT_PATH) => match body_text(&request) {
                Ok(body) => self.comment(&form(&body), hint, &owner, settings).await,
                Err(answer) => answer,
            },
            (&Method::GET, UNSUBSCRIBE_PATH) => {
                self.preferences(query(&request).get("token"), Change::None, hint)
                    .await
            }
            (&Method::POST, UNSUBSCRIBE_PATH) => match body_text(&request) {
                Ok(_) => {
                    self.preferences(query(&request).get("token"), Change::OneClick, hint)
                        .await
                }
                Err(answer) => answer,
            },
            (&Method::POST, PREFERENCES_PATH) => match body_text(&request) {
                Ok(body) => {
                    let fields: Vec<(String, String)> =
                        url::form_urlencoded::parse(body.as_bytes())
                            .into_owned()
                            .collect();
                    let token = fields
                        .iter()
                        .find(|(k, _)| k == "token")
                        .map(|(_, v)| v.clone());
                    let mut wanted = std::collections::BTreeSet::new();
                    let mut unknown = false;
                    for (_, value) in fields.iter().filter(|(k, _)| k == "topic") {
                        match MailTopic::parse(value) {
                            Ok(topic) => {
                                wanted.insert(topic);
                            }
                            Err(_) => unknown = true,
                        }
                    }
                    if unknown {
                        Answer {
                            detail: Some("Unknown email topic.".into()),
                            ..Answer::error(Page::BadRequest, hint)
                        }
                    } else {
                        self.preferences(token.as_ref(), Change::Choose(wanted), hint)
                            .await
                    }
                }
                Err(answer) => answer,
            },
            _ => Answer::error(Page::UnknownOrder, hint),
        };
        let form = answer
            .form_token
            .as_deref()
            .map(|token| (COMMENT_PATH, token));
        let html = answer.html.clone().unwrap_or_else(|| {
            render_page(
                answer.page,
                &self.parts.settings.brand,
                answer.language,
                form,
                answer.detail.as_deref(),
            )
        });
        let status = if !known {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::from_u16(answer.page.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        };
        Response::builder()
            .status(status)
            .header("content-type", "text/html; charset=utf-8")
            .header("cache-control", "no-store")
            .header("x-content-type-options", "nosniff")
            .header("referrer-policy", "no-referrer")
            .header(
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            )
            .body(Body::Text(html))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }

    /// The keys links are verified with; a 500 page (and a log line) if none are configured,
    /// since every link would then be refused through no fault of the customer's.
    fn keys(&self, hint: Language) -> Result<&[SigningKey], Answer> {
        self.parts.settings
            .links
            .as_ref()
            .map(|links| links.keys.as_slice())
            .filter(|keys| !keys.is_empty())
            .ok_or_else(|| {
                tracing::error!(
                    "a signed link arrived but no link keys are configured (LINK_SIGNING_KEYS_SECRET)"
                );
                Answer::error(Page::Internal, hint)
            })
    }

    fn claims(&self, token: Option<&String>, hint: Language) -> Result<LinkClaims, Answer> {
        let keys = self.keys(hint)?;
        let token = token.ok_or_else(|| Answer::error(Page::InvalidLink, hint))?;
        verify(keys, token, self.parts.clock.now()).map_err(|error| match error {
            TokenError::Expired => Answer::error(Page::ExpiredLink, hint),
            _ => Answer::error(Page::InvalidLink, hint),
        })
    }

    async fn rate(
        &self,
        query: &HashMap<String, String>,
        hint: Language,
        owner: &str,
        settings: &Settings,
    ) -> Answer {
        let claims = match self.claims(query.get("token"), hint) {
            Ok(claims) => claims,
            Err(answer) => return answer,
        };
        let Ok(score) = Score::parse(query.get("score").map(String::as_str).unwrap_or_default())
        else {
            let detail = if hint == Language::Ru {
                "Оценка — число от 1 до 5."
            } else {
                "The score is a number from 1 to 5."
            };
            return Answer {
                detail: Some(detail.into()),
                ..Answer::error(Page::BadRequest, hint)
            };
        };
        let token = &query.get("token").cloned();
        let claims = &claims;
        retry::read_decide_commit(
            3,
            &claims.customer,
            |_| async move {
                let (profile, order) = match self.profile_and_order(claims, hint).await {
                    Ok(read) => read,
                    Err(answer) => return done(answer),
                };
                let language = profile.value.locale.language();
                let decision = match decide_rating(
                    &profile.value,
                    &order.value,
                    claims,
                    score,
                    self.parts.clock.now(),
                    settings,
                ) {
                    Ok(decision) => decision,
                    Err(AnswerError::Render(error)) => {
                        tracing::error!(%error, "rendering a reply failed");
                        return done(Answer::error(Page::Internal, language));
                    }
                    Err(_) => return done(Answer::error(Page::InvalidLink, language)),
                };
                if let Some(reason) = &decision.reply_held_back {
                    tracing::info!(customer_id = %log_ids::customer(&claims.customer), order_id = %claims.order, %reason, "reply to a rating held back");
                }
                let items = self.outbox_items(&decision.messages, decision.handoff.as_ref(), owner);
                let recorded = || {
                    tracing::info!(customer_id = %log_ids::customer(&claims.customer), order_id = %claims.order, score = score.get(), first = decision.first_answer, "rating recorded");
                    let page = if decision.page == AnswerPage::Apology {
                        Page::Apology
                    } else {
                        Page::Thanks
                    };
                    Answer {
                        page,
                        language,
                        form_token: token.clone(),
                        detail: None,
                        html: None,
                    }
                };
                self.commit_and_deliver(
                    (&decision.profile, profile.version),
                    (&decision.order, order.version),
                    &items,
                    owner,
                    language,
                    recorded,
                )
                .await
            },
        )
        .await
        .unwrap_or_else(|_: Contended| Answer::error(Page::Internal, hint))
    }

    async fn comment(
        &self,
        form: &HashMap<String, String>,
        hint: Language,
        owner: &str,
        settings: &Settings,
    ) -> Answer {
        let claims = match self.claims(form.get("token"), hint) {
            Ok(claims) => claims,
            Err(answer) => return answer,
        };
        let comment =
            match Comment::parse(form.get("comment").map(String::as_str).unwrap_or_default()) {
                Ok(comment) => comment,
                Err(error) => {
                    return Answer {
                        detail: Some(error.to_string()),
                        ..Answer::error(Page::BadRequest, hint)
                    }
                }
            };
        let (claims, comment) = (&claims, &comment);
        retry::read_decide_commit(3, &claims.customer, |_| async move {
            let (profile, order) = match self.profile_and_order(claims, hint).await {
                Ok(read) => read,
                Err(answer) => return done(answer),
            };
            let language = profile.value.locale.language();
            let (after, commented, messages) = match add_comment(
                &profile.value,
                &order.value,
                claims,
                comment.clone(),
                self.parts.clock.now(),
                settings,
            ) {
                Ok(result) => result,
                Err(AnswerError::NotRated) => {
                    return done(Answer::error(Page::BadRequest, language))
                }
                Err(AnswerError::Render(error)) => {
                    tracing::error!(%error, "rendering the alert failed");
                    return done(Answer::error(Page::Internal, language));
                }
                Err(_) => return done(Answer::error(Page::InvalidLink, language)),
            };
            let items = self.outbox_items(&messages, None, owner);
            self.commit_and_deliver(
                (&after, profile.version),
                (&commented, order.version),
                &items,
                owner,
                language,
                || Answer::error(Page::CommentReceived, language),
            )
            .await
        })
        .await
        .unwrap_or_else(|_: Contended| Answer::error(Page::Internal, hint))
    }

    /// Shows the preferences page for a preferences link, after applying `change`: nothing
    /// (a GET), the one-click unsubscribe from the link's topic, or the form's choice.
    async fn preferences(&self, token: Option<&String>, change: Change, hint: Language) -> Answer {
        let keys = match self.keys(hint) {
            Ok(keys) => keys,
            Err(answer) => return answer,
        };
        let Some(token) = token else {
            return Answer::error(Page::InvalidLink, hint);
        };
        let Ok(claims) = verify_preferences(keys, token) else {
            return Answer::error(Page::InvalidLink, hint);
        };
        let now = self.parts.clock.now();
        let (claims, change) = (&claims, &change);
        retry::read_decide_commit(
            3,
            &claims.customer,
            |_| async move {
                let loaded = match self
                    .store
                    .load_profile_and_order(&claims.customer, None)
                    .await
                {
                    Ok(loaded) => loaded,
                    Err(error) => {
                        tracing::error!(customer_id = %log_ids::customer(&claims.customer), %error, "reading the profile failed");
                        return done(Answer::error(Page::Internal, hint));
                    }
                };
                let Some(profile) = loaded.profile else {
                    return done(Answer::error(Page::UnknownCustomer, hint));
                };
                let language = profile.value.locale.language();
                let (after, changed, notice) = match &change {
                    Change::None => (profile.value.clone(), false, PreferencesNotice::None),
                    Change::OneClick => match claims.topic {
                        Some(topic) => {
                            let (after, changed) =
                                unsubscribe(&profile.value, &[topic], OptOutSource::OneClick, now);
                            (after, changed, PreferencesNotice::Unsubscribed(topic))
                        }
                        None => (profile.value.clone(), false, PreferencesNotice::None),
                    },
                    Change::Choose(wanted) => {
                        let (after, changed) = choose_topics(&profile.value, wanted, now);
                        (after, changed, PreferencesNotice::Saved)
                    }
                };
                if changed {
                    match self
                        .store
                        .commit_profile_with_messages(&after, profile.version, None, &[])
                        .await
                    {
                        Ok(()) | Err(CommitError::Duplicate) => {}
                        Err(CommitError::Conflict) => return Ok(Round::Changed),
                        Err(CommitError::Store(error)) => {
                            tracing::error!(customer_id = %log_ids::customer(&claims.customer), %error, "writing the preferences failed");
                            return done(Answer::error(Page::Internal, language));
                        }
                    }
                    let off: Vec<&str> = after.unsubscribed.keys().map(|t| t.as_str()).collect();
                    tracing::info!(customer_id = %log_ids::customer(&claims.customer), unsubscribed = ?off, "preferences changed");
                }
                let subscribed: Vec<(MailTopic, bool)> = MailTopic::ALL
                    .into_iter()
                    .map(|topic| (topic, is_subscribed(&after, topic)))
                    .collect();
                let html = render_preferences(
                    &self.parts.settings.brand,
                    language,
                    (PREFERENCES_PATH, token),
                    &subscribed,
                    notice,
                    active_suppression(&after).is_some(),
                );
                done(Answer {
                    html: Some(html),
                    ..Answer::error(Page::Preferences, language)
                })
            },
        )
        .await
        .unwrap_or_else(|_: Contended| Answer::error(Page::Internal, hint))
    }

    /// The profile and order a link is about, in one read; an error page if they cannot be read
    /// or do not exist.
    async fn profile_and_order(
        &self,
        claims: &LinkClaims,
        hint: Language,
    ) -> Result<
        (
            aftercare_adapters::items::Versioned<aftercare_journey::profile::Profile>,
            aftercare_adapters::items::Versioned<aftercare_journey::order::Order>,
        ),
        Answer,
    > {
        let loaded = self
            .store
            .load_profile_and_order(&claims.customer, Some(&claims.order))
            .await
            .map_err(|error| {
                tracing::error!(customer_id = %log_ids::customer(&claims.customer), %error, "reading the profile and order failed");
                Answer::error(Page::Internal, hint)
            })?;
        match (loaded.profile, loaded.order) {
            (Some(profile), Some(order)) => Ok((profile, order)),
            _ => Err(Answer::error(Page::UnknownOrder, hint)),
        }
    }

    /// Outbox entries for `messages`, held by `owner`; the handoff rides with the alert to support.
    fn outbox_items(
        &self,
        messages: &[OutgoingMessage],
        handoff: Option<&aftercare_journey::handoff::Handoff>,
        owner: &str,
    ) -> Vec<MessageItem> {
        let lease = self.outbox().lease_for(owner);
        messages
            .iter()
            .map(|message| {
                let mut item = pending_message_item(message, &lease);
                if message.kind == MessageKind::SupportAlert {
                    item.handoff = handoff.cloned();
                }
                item
            })
            .collect()
    }

    fn outbox(&self) -> Outbox<'_, S, M, B> {
        Outbox::new(
            &self.store,
            &self.mailer,
            &self.parts.settings,
            self.parts.clock.as_ref(),
            self.parts.outbox_lease,
        )
        .with_optional_bus(self.bus.as_ref())
    }

    /// Writes a customer's answer: `profile` and `order` (its rating) at the versions read and
    /// the replies `items` (held by `owner`), then sends what this request wrote (a duplicate was written, and is
    /// sent, by another) and answers `written()`. A conflict is a round to decide again; a
    /// failed write is logged and answered with the error page in `language`.
    async fn commit_and_deliver(
        &self,
        (profile, read_version): (&Profile, u64),
        order: (&Order, u64),
        items: &[MessageItem],
        owner: &str,
        language: Language,
        written: impl FnOnce() -> Answer,
    ) -> Result<Round<Answer>, Contended> {
        match self
            .store
            .commit_profile_with_messages(profile, read_version, Some(order), items)
            .await
        {
            result @ (Ok(()) | Err(CommitError::Duplicate)) => {
                if result.is_ok() {
                    self.deliver(items, owner).await;
                }
                done(written())
            }
            Err(CommitError::Conflict) => Ok(Round::Changed),
            Err(CommitError::Store(error)) => {
                tracing::error!(customer_id = %log_ids::customer(&profile.customer_id), %error, "writing the customer's answer failed");
                done(Answer::error(Page::Internal, language))
            }
        }
    }

    /// Sends what was written; what fails stays in the outbox for the schedule's relay.
    async fn deliver(&self, items: &[MessageItem], owner: &str) {
        for item in items {
            if let Err(error) = self.outbox().deliver_held(item, owner).await {
                tracing::warn!(message_id = %item.message_id, %error, "send failed; kept in the outbox");
            }
        }
    }
}

/// A round of a request's read-decide-commit loop that ends with `answer`.
fn done(answer: Answer) -> Result<Round<Answer>, Contended> {
    Ok(Round::Done(answer))
}

/// What a preferences request changes.
enum Change {
    /// Nothing: show the page.
    None,
    /// Unsubscribe from the link's topic (RFC 8058 one-click).
    OneClick,
    /// Receive exactly these topics.
    Choose(std::collections::BTreeSet<MailTopic>),
}

/// The settings for this request: when `FEEDBACK_URL` is not configured (the function
/// cannot be told its own address without a circular template), links in the replies it
/// sends point at the address the request came to.
fn settings_for<'a>(settings: &'a Settings, request: &Request) -> std::borrow::Cow<'a, Settings> {
    let Some(links) = settings.links.as_ref() else {
        return std::borrow::Cow::Borrowed(settings);
    };
    if links.base_url.is_some() {
        return std::borrow::Cow::Borrowed(settings);
    }
    let (domain, stage) = match request.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => (
            context.domain_name.clone(),
            context.stage.clone().filter(|s| s != "$default"),
        ),
        _ => (None, None),
    };
    let domain = domain.or_else(|| {
        request
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let base = domain.and_then(|domain| {
        let stage = stage.map(|s| format!("/{s}")).unwrap_or_default();
        WebLink::parse(&format!("https://{domain}{stage}")).ok()
    });
    let mut settings = settings.clone();
    if let Some(links) = settings.links.as_mut() {
        links.base_url = base;
    }
    std::borrow::Cow::Owned(settings)
}

/// Russian for browsers that ask for it first, English otherwise.
fn language_hint(request: &Request) -> Language {
    let accept = request
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.trim_start().to_ascii_lowercase().starts_with("ru") {
        Language::Ru
    } else {
        Language::En
    }
}

/// The query parameters: from the URI, or as API Gateway parsed them.
fn query(request: &Request) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if params.is_empty() {
        if let Some(parsed) = request.query_string_parameters_ref() {
            for key in ["token", "score"] {
                if let Some(value) = parsed.first(key) {
                    params.insert(key.to_owned(), value.to_owned());
                }
            }
        }
    }
    params
}

/// The body as text, refusing bodies over [`MAX_BODY_BYTES`].
fn body_text(request: &Request) -> Result<String, Answer> {
    let hint = language_hint(request);
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        let detail = format!("The request is larger than {} KB.", MAX_BODY_BYTES / 1024);
        return Err(Answer {
            detail: Some(detail),
            ..Answer::error(Page::BadRequest, hint)
        });
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| Answer::error(Page::BadRequest, hint))
}

/// A form-urlencoded body's fields.
fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base: Option<&str>) -> Settings {
        let mut config = aftercare_adapters::config::Config::from_lookup(|name| match name {
            "JOURNEY_TABLE" => Some("t".into()),
            "SENDER_EMAIL" => Some("orders@shop.example".into()),
            "SHOP_NAME" => Some("Shop".into()),
            "SUPPORT_EMAIL" => Some("help@shop.example".into()),
            "LINK_SIGNING_KEYS" => Some(format!("k1:{}", "0f".repeat(32))),
            _ => None,
        })
        .unwrap();
        if let Some(links) = config.settings.links.as_mut() {
            links.base_url = base.map(|b| WebLink::parse(b).unwrap());
        }
        config.settings
    }

    fn request(host: &str) -> Request {
        lambda_http::http::Request::builder()
            .uri("/rate?token=t&score=5")
            .header("host", host)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn without_a_configured_address_links_in_replies_point_where_the_request_came() {
        let plain = settings(None);
        let derived = settings_for(
            &plain,
            &request("abc123.execute-api.eu-west-1.amazonaws.com"),
        );
        let url = derived
            .links
            .as_ref()
            .unwrap()
            .url("/unsubscribe", &[("token", "x")]);
        assert_eq!(
            url.as_deref(),
            Some("https://abc123.execute-api.eu-west-1.amazonaws.com/unsubscribe?token=x")
        );
        let configured = settings(Some("https://feedback.shop.example/prod"));
        let kept = settings_for(&configured, &request("elsewhere.example"));
        let url = kept.links.as_ref().unwrap().url("/rate", &[("token", "x")]);
        assert_eq!(
            url.as_deref(),
            Some("https://feedback.shop.example/prod/rate?token=x")
        );
    }
}
