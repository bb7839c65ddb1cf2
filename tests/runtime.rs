//! End to end through the Lambda runtime path: every function's real binary, started by
//! `cargo lambda watch` with its configuration in the environment (the emulator's endpoint, the
//! shop's settings, the link keys and the log-id key read from Secrets Manager secrets at cold
//! start), is invoked with the sample events in `infra/events/` through `cargo lambda invoke`,
//! as `make invoke` does. What the binaries answered, wrote to the journey table and sent is then read back from
//! the emulator.
//!
//! One test, in order: each step builds on the journey the steps before it left.

use std::path::{Path, PathBuf};

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::items::{JourneyItem, MessageItem, MessageStatus};
use aftercare_adapters::ports::JourneyStore;
use aftercare_integration_tests::stack;
use aftercare_journey::ids::CustomerId;
use aftercare_journey::message::MessageKind;
use aftercare_journey::profile::{MailTopic, Profile};
use aftercare_local::{free_port, local_function_environment, FunctionServer};
use aftercare_localstack::{repository_root, SentMail};
use serde_json::Value;

/// The customer of every sample event.
const CUSTOMER: &str = "cus-1001";
const EMAIL: &str = "emily.carter@example.com";
const SUPPORT: &str = "help@leafandkettle.example";

fn sample(name: &str) -> PathBuf {
    repository_root().join(format!("infra/events/{name}.json"))
}

struct Run {
    functions: FunctionServer,
    store: DynamoStore,
    mail_seen: usize,
}

impl Run {
    /// Invokes `function` with the event in `path`; fails the test with the functions' log if
    /// it does not answer.
    fn invoke_file(&self, function: &str, path: &Path) -> Value {
        self.functions
            .invoke(function, path)
            .unwrap_or_else(|error| {
                panic!(
                    "{error}\n--- functions' log ---\n{}",
                    self.functions.log_tail(60)
                )
            })
    }

    fn invoke(&self, function: &str, event: &str) -> Value {
        self.invoke_file(function, &sample(event))
    }

    /// The mail sent since the last call.
    fn new_mail(&mut self) -> Vec<SentMail> {
        let all = stack().sent_mail().unwrap_or_else(|e| panic!("{e}"));
        let new = all[self.mail_seen..].to_vec();
        self.mail_seen = all.len();
        new
    }

    async fn journey(&self) -> Vec<JourneyItem> {
        self.store
            .customer_items(&CustomerId::parse(CUSTOMER).unwrap())
            .await
            .unwrap()
    }

    async fn profile(&self) -> Profile {
        self.journey()
            .await
            .into_iter()
            .find_map(|item| match item {
                JourneyItem::Profile(p) => Some(p.value),
                _ => None,
            })
            .expect("a profile")
    }

    async fn message(&self, kind: MessageKind) -> MessageItem {
        self.journey()
            .await
            .into_iter()
            .find_map(|item| match item {
                JourneyItem::Message(m) if m.kind == kind => Some(*m),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {kind} message on the journey"))
    }
}

fn kinds(mail: &[SentMail]) -> Vec<(&str, &str)> {
    mail.iter()
        .map(|m| (m.kind.as_str(), m.to.as_str()))
        .collect()
}

fn addressed(to: &str) -> impl Fn(&(&str, &str)) -> bool + '_ {
    move |(_, address)| address.contains(to)
}

fn no_failures(answer: &Value) -> bool {
    answer["batchItemFailures"]
        .as_array()
        .is_some_and(Vec::is_empty)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_answers_the_lambda_runtime_api_with_the_sample_events() {
    let stack = stack();
    let clients = AwsClients::from_config(&stack.sdk_config().await);
    let table = "journeys-runtime";
    let secret = stack
        .provision(&clients, table)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut environment = local_function_environment(stack.endpoint(), table, &secret);
    // Quiet hours are the customer's (Los Angeles), and this test runs at any hour: without
    // them the review request goes out whenever it runs.
    environment.push(("QUIET_HOURS".into(), "off".into()));
    let dir = std::env::temp_dir().join(format!("aftercare-runtime-{}", std::process::id()));
    let functions = FunctionServer::start(&environment, free_port().unwrap(), &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run {
        functions,
        store: DynamoStore::new(clients.dynamodb.clone(), table),
        mail_seen: stack.sent_mail().unwrap().len(),
    };

    // order-events: an SQS batch of one EventBridge envelope each.
    for (event, kind) in [
        ("placed", "order_placed"),
        ("shipped", "order_shipped"),
        ("delivered", "order_delivered"),
    ] {
        let answer = run.invoke("order-events", event);
        assert!(no_failures(&answer), "{event}: {answer}");
        assert_eq!(kinds(&run.new_mail()), [(kind, EMAIL)], "{event}");
    }
    let placed = run.message(MessageKind::OrderPlaced).await;
    assert_eq!(placed.status, MessageStatus::Sent);
    let profile = run.profile().await;
    assert_eq!(profile.orders_count, 1);
    assert!(profile.follow_ups.contains_key("review#1042"));
    // The order-status mail carries the preferences link, signed with the key the binary read
    // from the secret at cold start.
    let placed_mail = &stack.sent_mail().unwrap()[run.mail_seen - 3];
    assert!(
        placed_mail.text.contains("/unsubscribe?token=p1.local-1."),
        "{}",
        placed_mail.text
    );

    // A redelivered record is applied once: no second mail.
    let again = run.invoke("order-events", "placed");
    assert!(no_failures(&again), "{again}");
    assert!(run.new_mail().is_empty());

    // ses-events: SES's delivery report for the confirmation, through its SQS queue.
    let answer = run.invoke("ses-events", "ses-delivery");
    assert!(no_failures(&answer), "{answer}");
    let placed = run.message(MessageKind::OrderPlaced).await;
    assert_eq!(
        placed.mail.delivered_at.map(|t| t.to_rfc3339()),
        Some("2026-10-20T18:04:03.418+00:00".to_owned())
    );

    // schedule: the scheduled event, stamped with the time it fires, sends the review request
    // that fell due three days after delivery. (From late December 2026 the samples' repurchase
    // reminder and reactivation fall due too; the frequency cap then holds them back behind
    // the review request, which has priority, so what is sent stays the same.)
    // Unstamped, its time is weeks off the function's clock: refused, nothing swept.
    let unstamped = run.invoke_file("schedule", &sample("schedule"));
    assert!(
        unstamped["refused"]
            .as_str()
            .is_some_and(|why| why.contains("minutes before this function's clock")),
        "{unstamped}"
    );
    assert!(run.new_mail().is_empty());
    let stamped = aftercare_local::stamp_scheduled_event(
        &sample("schedule"),
        chrono::Utc::now(),
        &std::env::temp_dir().join(format!("aftercare-runtime-events-{}", std::process::id())),
    )
    .unwrap()
    .expect("the sample is a scheduled event");
    let sweep = run.invoke_file("schedule", &stamped);
    assert!(sweep["due"].as_u64().is_some_and(|due| due >= 1), "{sweep}");
    assert_eq!(sweep["sent"], 1, "{sweep}");
    let review = run.new_mail();
    assert_eq!(kinds(&review), [("review_request", EMAIL)]);
    assert!(
        review[0].text.contains("/rate?token=v1.local-1."),
        "{}",
        review[0].text
    );
    assert!(review[0].list_unsubscribe.is_some());

    // feedback: the HTTP API's request for a 2-star rating; the page answers, the customer gets
    // an apology and a person is alerted.
    let answer = run.invoke("feedback", "feedback-rate");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        answer["headers"]["content-type"],
        "text/html; charset=utf-8"
    );
    let mail = run.new_mail();
    let mail = kinds(&mail);
    assert!(
        mail.iter().any(|(kind, _)| *kind == "review_apology") && mail.iter().any(addressed(EMAIL)),
        "{mail:?}"
    );
    assert!(
        mail.iter()
            .any(|m| m.0 == "support_alert" && addressed(SUPPORT)(m)),
        "{mail:?}"
    );
    let open = run.profile().await.open_issue.expect("an open issue");
    assert_eq!(open.order_id.as_str(), "1042");
    assert_eq!(open.score.get(), 2);

    let answer = run.invoke("feedback", "feedback-comment");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let comment = run
        .profile()
        .await
        .open_issue
        .and_then(|issue| issue.comment)
        .expect("the comment on the open issue");
    assert!(comment.as_str().contains("cracked"));
    let alert = run.new_mail();
    assert_eq!(kinds(&alert), [("support_alert", SUPPORT)]);
    assert!(alert[0].text.contains("cracked"), "{}", alert[0].text);

    // helpdesk-events: the helpdesk's IssueResolved closes it.
    let answer = run.invoke("helpdesk-events", "helpdesk-issue-resolved");
    assert_eq!(answer, serde_json::json!({ "resolved": true }));
    let profile = run.profile().await;
    assert!(profile.open_issue.is_none());
    assert_eq!(profile.resolved_issues.len(), 1);
    // It did so started as the template deploys it: told of no link-key secret.
    let pid = run
        .functions
        .status()
        .unwrap_or_else(|e| panic!("{e}"))
        .function("helpdesk-events")
        .and_then(|status| status.pid)
        .expect("helpdesk-events runs");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        !environ
            .split('\0')
            .any(|v| v.starts_with("LINK_SIGNING_KEYS")),
        "helpdesk-events was given a link-key variable"
    );
    assert!(environ
        .split('\0')
        .any(|v| v.starts_with("LOG_ID_KEY_SECRET=")));

    // feedback: the preferences page, then the one-click unsubscribe a mail app sends.
    let page = run.invoke("feedback", "feedback-preferences");
    assert_eq!(page["statusCode"], 200, "{page}");
    assert!(page["body"]
        .as_str()
        .unwrap_or_default()
        .contains("checkbox"));
    let answer = run.invoke("feedback", "feedback-unsubscribe");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert!(run
        .profile()
        .await
        .unsubscribed
        .contains_key(&MailTopic::ReviewRequests));

    // ses-events: a permanent bounce suppresses the address.
    let answer = run.invoke("ses-events", "ses-bounce");
    assert!(no_failures(&answer), "{answer}");
    let suppression = run.profile().await.suppression.expect("suppressed");
    assert_eq!(suppression.address.as_str(), EMAIL);
    assert!(
        run.new_mail().is_empty(),
        "no mail since the comment's alert"
    );

    // A malformed record is reported alone, by its SQS message id.
    let bad =
        std::env::temp_dir().join(format!("aftercare-runtime-bad-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"Records": [{"messageId": "bad-1", "body": "{\"detail\": {\"status\": \"teleported\"}}", "eventSource": "aws:sqs"}]}"#,
    )
    .unwrap();
    let answer = run.invoke_file("order-events", &bad);
    assert_eq!(
        answer["batchItemFailures"],
        serde_json::json!([{ "itemIdentifier": "bad-1" }])
    );
    assert!(run.new_mail().is_empty());

    // A foreign event to helpdesk-events is answered as refused, not failed: EventBridge does
    // not try it again.
    let foreign = std::env::temp_dir().join(format!(
        "aftercare-runtime-foreign-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &foreign,
        r#"{"detail-type": "Order Status Changed", "source": "shop.orders", "detail": {"customer": {"email": "emily.carter@example.com"}}}"#,
    )
    .unwrap();
    let answer = run.invoke_file("helpdesk-events", &foreign);
    assert_eq!(
        answer,
        serde_json::json!({"resolved": false, "refused": {"field": "detail-type", "problem": "must be \"IssueResolved\""}})
    );

    // Every function read the log-id key from its secret at cold start: their lines name the
    // customer by its log id under the local stack's key, never by its id or address.
    let key =
        aftercare_adapters::log_ids::LogIdKey::from_hex(aftercare_localstack::LOCAL_LOG_ID_KEY)
            .unwrap();
    let logged = run.functions.log_tail(usize::MAX);
    assert!(logged.contains(&key.log_id(CUSTOMER)), "{logged}");
    assert!(
        logged.contains("helpdesk-events: event rejected: field `detail-type`"),
        "{logged}"
    );
    for raw in [CUSTOMER, EMAIL] {
        assert!(
            !logged.contains(raw),
            "{raw} is in the functions' log:\n{logged}"
        );
    }
}
