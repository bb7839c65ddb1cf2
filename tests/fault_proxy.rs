//! The fault-injecting proxy in front of the local emulator: each fault looks to the SDK as it
//! would from AWS, a lost or late answer leaves the write applied, and a crash stops answering
//! at the chosen point.

use std::time::Duration;

use aftercare_adapters::error::{classify, Retry};
use aftercare_fault_proxy::{CrashPoint, FaultKind, FaultPlan, FaultProxy, Injected, Service};
use aftercare_integration_tests::stack;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

fn proxy(plan: &str) -> FaultProxy {
    FaultProxy::start(stack().endpoint(), FaultPlan::parse(plan).unwrap()).unwrap()
}

async fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aftercare_localstack::sdk_config_at(endpoint).await)
}

/// A fresh table straight on the emulator.
async fn table(name: &str) -> String {
    let direct = dynamodb(stack().endpoint()).await;
    let table = format!("proxy-{name}");
    stack().create_table(&direct, &table).await.unwrap();
    table
}

async fn item_exists(table: &str, pk: &str) -> bool {
    dynamodb(stack().endpoint())
        .await
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S("X".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

async fn put(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> Result<(), String> {
    client
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.into()))
        .item("sk", AttributeValue::S("X".into()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            assert_eq!(classify(&e), Retry::Transient, "{e:?}");
            e.code().unwrap_or("no code").to_owned()
        })
}

#[tokio::test]
async fn without_faults_every_call_passes_through() {
    let table = table("clean").await;
    let proxy = proxy("");
    put(&dynamodb(proxy.endpoint()).await, &table, "a")
        .await
        .unwrap();
    assert!(item_exists(&table, "a").await);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.forwarded), (1, 1));
    assert!(stats.events.is_empty());
}

#[tokio::test]
async fn throttling_looks_like_dynamodbs_and_the_sdk_retries_it() {
    let table = table("throttle").await;
    let proxy = proxy("throttle=1");
    let code = put(&dynamodb(proxy.endpoint()).await, &table, "a")
        .await
        .unwrap_err();
    assert!(
        code == "ThrottlingException" || code == "ProvisionedThroughputExceededException",
        "{code}"
    );
    // The SDK's three attempts, each refused, none forwarded.
    let stats = proxy.stats();
    assert_eq!(stats.count(FaultKind::Throttle), 3);
    assert_eq!(stats.forwarded, 0);
    assert!(!item_exists(&table, "a").await);
}

#[tokio::test]
async fn ses_throttling_is_too_many_requests() {
    let proxy = proxy("throttle=1");
    let sdk = aftercare_localstack::sdk_config_at(proxy.endpoint()).await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let error = ses
        .send_email()
        .from_email_address(format!("orders@{}", aftercare_localstack::SENDER_DOMAIN))
        .destination(
            aws_sdk_sesv2::types::Destination::builder()
                .to_addresses("someone@example.com")
                .build(),
        )
        .content(
            aws_sdk_sesv2::types::EmailContent::builder()
                .raw(
                    aws_sdk_sesv2::types::RawMessage::builder()
                        .data(aws_sdk_sesv2::primitives::Blob::new("Subject: x\r\n\r\nx"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sesv2::error::ProvideErrorMetadata::code(&error),
        Some("TooManyRequestsException")
    );
    assert_eq!(classify(&error), Retry::Transient);
    assert!(proxy
        .stats()
        .faults
        .contains_key(&(FaultKind::Throttle, Service::Ses)));
}

#[tokio::test]
async fn a_500_and_a_reset_are_transient_and_apply_nothing() {
    let table = table("500-reset").await;
    for plan in ["error500=1", "reset=1"] {
        let proxy = proxy(plan);
        put(&dynamodb(proxy.endpoint()).await, &table, plan)
            .await
            .unwrap_err();
        assert!(!item_exists(&table, plan).await, "{plan}");
        assert_eq!(proxy.stats().forwarded, 0, "{plan}");
    }
}

#[tokio::test]
async fn a_lost_answer_leaves_the_write_applied() {
    let table = table("lost").await;
    let proxy = proxy("lost_answer=1");
    put(&dynamodb(proxy.endpoint()).await, &table, "a")
        .await
        .unwrap_err();
    // The caller saw only failures, yet the write landed (three times over).
    assert!(item_exists(&table, "a").await);
    let stats = proxy.stats();
    assert_eq!(stats.count(FaultKind::LostAnswer), 3);
    assert!(stats.events.iter().all(|e| e.applied));
}

#[tokio::test]
async fn a_lost_call_loses_the_answer_of_every_attempt_and_only_of_that_call() {
    let table = table("lost-call").await;
    let proxy = proxy("lost_call=1");
    let client = dynamodb(proxy.endpoint()).await;
    put(&client, &table, "a").await.unwrap_err();
    assert!(item_exists(&table, "a").await);
    // Three attempts of the one call, each lost.
    assert_eq!(proxy.stats().count(FaultKind::LostCall), 3);
    proxy.set_plan(FaultPlan::none());
    put(&client, &table, "b").await.unwrap();
}

#[tokio::test]
async fn a_forced_fault_hits_the_next_call_whatever_the_rates() {
    let table = table("forced").await;
    let proxy = proxy("");
    proxy.force(FaultKind::Reset);
    let client = dynamodb(proxy.endpoint()).await;
    // The first attempt is reset; the SDK's retry goes through.
    put(&client, &table, "a").await.unwrap();
    assert_eq!(proxy.stats().count(FaultKind::Reset), 1);
    assert_eq!(proxy.stats().forwarded, 1);
}

#[tokio::test]
async fn a_late_answer_times_the_attempt_out_after_the_write_landed() {
    let table = table("late").await;
    let proxy = proxy("late_answer=1:1500ms");
    let sdk = aftercare_localstack::sdk_config_at(proxy.endpoint()).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(400))
                    .build(),
            )
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    let error = client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("a".into()))
        .item("sk", AttributeValue::S("X".into()))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)),
        "{error:?}"
    );
    assert!(item_exists(&table, "a").await);
}

#[tokio::test]
async fn a_crash_after_a_commit_answers_nothing_and_says_so() {
    let table = table("crash").await;
    let proxy = proxy("");
    let instance = proxy.instance().unwrap();
    instance.arm_crash(CrashPoint::AfterCommit);
    let client = dynamodb(instance.endpoint()).await;
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&table)
        .item("pk", AttributeValue::S("a".into()))
        .item("sk", AttributeValue::S("X".into()))
        .build()
        .unwrap();
    let write = client
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
        )
        .send();
    let outcome = tokio::select! {
        _ = write => "answered",
        _ = instance.crashed() => "crashed",
    };
    assert_eq!(outcome, "crashed");
    assert!(instance.is_dead());
    assert!(item_exists(&table, "a").await, "the transaction landed");
    let stats = proxy.stats();
    assert_eq!(stats.crashes.get(&CrashPoint::AfterCommit), Some(&1));
    assert!(matches!(
        stats.events.last().map(|e| &e.injected),
        Some(Injected::Crash(CrashPoint::AfterCommit))
    ));
    // Later calls of the dead instance get no answer either.
    let late = tokio::time::timeout(Duration::from_millis(300), client.list_tables().send()).await;
    assert!(late.is_err() || late.unwrap().is_err());
}
