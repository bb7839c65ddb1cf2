//! The feedback function against the local emulator: a rating recorded once with the right
//! reply, an unhappy customer reaching a person with no offers until resolved, a comment, and
//! links that are forged, expired or foreign recording nothing.

use aftercare_adapters::items::JourneyItem;
use aftercare_integration_tests::ratings::{click, delivered, token};
use aftercare_integration_tests::{at, stack, World};
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::signing::SigningKey;
use lambda_http::http::Request;
use lambda_http::Body;
use serde_json::{json, Value};

async fn comment(world: &World, token: &str, text: &str) -> u16 {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("comment", text)
        .finish();
    let request = Request::builder()
        .method("POST")
        .uri("/rate/comment")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(body))
        .unwrap();
    world.feedback.handle(request).await.status().as_u16()
}

fn subjects(world: &World) -> Vec<String> {
    world.sent().into_iter().map(|m| m.subject).collect()
}

#[tokio::test]
async fn a_happy_rating_is_recorded_once_with_thanks_and_a_referral_invitation() {
    let world = World::with(
        "fb-happy",
        &[("REFERRAL_BONUS", "£5 off for you and your friend")],
    )
    .await;
    world.replay(&delivered(&world, "F-1")).await;
    let before = world.sent().len();
    world.clock.set(at("2026-11-07T10:00:00Z"));
    let t = token(&world, "F-1", None);

    let (status, page) = click(&world, &t, "5").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Thank you!") && page.contains("name=\"comment\""),
        "{page}"
    );
    let mail = world.sent();
    assert_eq!(mail.len(), before + 1);
    assert!(mail
        .last()
        .unwrap()
        .subject
        .contains("A gift from Leaf & Kettle to share"));
    assert!(mail.last().unwrap().text.contains("£5 off"));
    assert!(
        mail.last()
            .unwrap()
            .list_unsubscribe
            .as_deref()
            .is_some_and(|h| h.contains("subject=unsubscribe%20offers")),
        "a referral invitation is marketing: it carries one-click unsubscribe"
    );

    let (status, _) = click(&world, &t, "4").await;
    assert_eq!(status, 200);
    assert_eq!(
        world.sent().len(),
        before + 1,
        "a second click sends nothing"
    );
    let rating = world
        .journey(1)
        .await
        .into_iter()
        .find_map(|item| match item {
            JourneyItem::Order(o) if o.value.order_id == OrderId::parse("F-1").unwrap() => {
                o.value.rating
            }
            _ => None,
        });
    assert_eq!(rating.map(|r| r.score.get()), Some(4));
}

#[tokio::test]
async fn an_unhappy_rating_apologises_alerts_support_calls_a_person_and_withholds_offers_until_resolved(
) {
    let world = World::new("fb-unhappy").await;
    world.replay(&delivered(&world, "U-fb-unhappy")).await;
    world.clock.set(at("2026-11-07T10:00:00Z"));
    let t = token(&world, "U-fb-unhappy", None);

    let (status, page) = click(&world, &t, "1").await;
    assert_eq!(status, 200);
    assert!(page.contains("We are sorry"), "{page}");
    let all = subjects(&world);
    assert!(
        all.iter()
            .any(|s| s.contains("We are sorry about order U-fb-unhappy")),
        "{all:?}"
    );
    let alert = stack()
        .sent_mail()
        .unwrap()
        .into_iter()
        .find(|m| m.subject.contains("Unhappy customer: order U-fb-unhappy"))
        .expect("alert to support");
    assert_eq!(alert.to, "help@leafandkettle.example");
    let handoffs: Vec<Value> = stack()
        .handoffs()
        .unwrap()
        .into_iter()
        .filter(|h| h["order_id"] == "U-fb-unhappy")
        .collect();
    assert_eq!(handoffs.len(), 1, "{handoffs:?}");

    // The comment reaches support too.
    assert_eq!(comment(&world, &t, "The tin was dented").await, 200);
    let alerts = stack()
        .sent_mail()
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.contains("Unhappy customer: order U-fb-unhappy"))
        .count();
    assert_eq!(alerts, 2);

    // While the issue is open, the repurchase reminder is withheld.
    // Due 23 days after delivery at 10:00 in Los Angeles.
    let report = world.sweep("2026-11-26T18:05:00Z").await;
    let repurchase: Vec<_> = report
        .decisions
        .iter()
        .filter(|d| d.key == "repurchase#TEA-1")
        .collect();
    assert_eq!(repurchase.len(), 1, "{report:?}");
    assert_eq!(repurchase[0].decision, "withheld");
    assert!(
        repurchase[0].detail.contains("open complaint"),
        "{:?}",
        repurchase[0]
    );
}

#[tokio::test]
async fn forged_expired_and_foreign_links_get_a_clear_page_and_record_nothing() {
    let world = World::new("fb-forged").await;
    world.replay(&delivered(&world, "X-1")).await;
    world.clock.set(at("2026-11-07T10:00:00Z"));
    let before = world.journey(1).await;
    let mails = world.sent().len();

    let forged = token(
        &world,
        "X-1",
        Some(SigningKey::new("local-1", vec![9u8; 32]).unwrap()),
    );
    assert_eq!(click(&world, &forged, "1").await.0, 403);
    let mut tampered = token(&world, "X-1", None);
    tampered.insert(tampered.len() - 3, 'A');
    assert_eq!(click(&world, &tampered, "1").await.0, 403);
    assert_eq!(click(&world, "not-a-token", "1").await.0, 403);
    assert_eq!(click(&world, &token(&world, "X-1", None), "7").await.0, 400);
    assert_eq!(
        click(&world, &token(&world, "NO-SUCH-ORDER", None), "5")
            .await
            .0,
        404
    );
    world.clock.set(at("2027-01-01T00:00:00Z"));
    assert_eq!(click(&world, &token(&world, "X-1", None), "5").await.0, 410);
    assert_eq!(comment(&world, &token(&world, "X-1", None), "").await, 410);

    assert_eq!(world.journey(1).await, before, "nothing recorded");
    assert_eq!(world.sent().len(), mails, "nothing sent");
}

#[tokio::test]
async fn an_empty_or_oversized_comment_is_refused_with_a_4xx() {
    let world = World::new("fb-comment-limits").await;
    world.replay(&delivered(&world, "C-1")).await;
    world.clock.set(at("2026-11-07T10:00:00Z"));
    let t = token(&world, "C-1", None);
    assert_eq!(click(&world, &t, "3").await.0, 200);
    assert_eq!(comment(&world, &t, "   ").await, 400);
    assert_eq!(comment(&world, &t, &"x".repeat(2_001)).await, 400);
    assert_eq!(comment(&world, &t, &"x".repeat(20_000)).await, 400);
    assert_eq!(comment(&world, &t, "Lovely tea, slow courier").await, 200);
}

#[tokio::test]
async fn rating_link_keys_are_read_from_the_secret_the_template_creates() {
    let world = World::new("fb-secret").await;
    let json = format!(r#"{{"key_id": "k9", "secret": "{}"}}"#, "0f".repeat(32));
    world
        .clients
        .secrets
        .create_secret()
        .name("fb-secret-keys")
        .secret_string(json)
        .send()
        .await
        .unwrap();
    let pairs = [
        ("FEEDBACK_URL", "https://shop.example/rate"),
        ("LINK_SIGNING_KEYS_SECRET", "fb-secret-keys"),
    ];
    let mut config = aftercare_adapters::config::Config::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| match name {
                "JOURNEY_TABLE" => Some("t".into()),
                "SENDER_EMAIL" => Some("orders@shop.example".into()),
                "SHOP_NAME" => Some("Shop".into()),
                "SUPPORT_EMAIL" => Some("help@shop.example".into()),
                _ => None,
            })
    })
    .unwrap();
    assert!(
        config.settings.links.as_ref().unwrap().keys.is_empty(),
        "nothing read before the cold start"
    );
    config.load_secrets(&world.clients).await.unwrap();
    let keys = &config.settings.links.as_ref().unwrap().keys;
    assert_eq!(
        keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        ["k9"]
    );
}

/// Sends a request to the feedback function; returns the status and the page.
async fn request(world: &World, method: &str, uri: &str, body: &str) -> (u16, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.to_owned())
        })
        .unwrap();
    let response = world.feedback.handle(request).await;
    let page = match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (response.status().as_u16(), page)
}

/// The path and query of the https link in a `List-Unsubscribe` header.
fn one_click_path(header: &str) -> String {
    let https = header
        .split(['<', '>'])
        .find(|part| part.starts_with("https://"))
        .expect("an https link");
    let url = url::Url::parse(https).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

#[tokio::test]
async fn a_one_click_unsubscribe_stops_later_review_requests_while_order_updates_continue() {
    let world = World::new("fb-unsubscribe").await;
    world.replay(&delivered(&world, "A-1")).await;
    world.sweep("2026-11-06T18:05:00Z").await;
    let review = world
        .sent()
        .into_iter()
        .find(|m| m.kind == "review_request")
        .expect("a review request");
    let path = one_click_path(review.list_unsubscribe.as_deref().unwrap());

    // The mailbox provider's one-click POST (RFC 8058).
    world.clock.set(at("2026-11-07T08:00:00Z"));
    let (status, page) = request(&world, "POST", &path, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("You are unsubscribed from “Review requests”"),
        "{page}"
    );
    assert!(
        page.contains(r#"value="review_requests">"#),
        "unticked: {page}"
    );
    assert!(page.contains(r#"value="order_updates" checked>"#));

    // A second order: its status news still arrives, its review request does not.
    let mut second = delivered(&world, "A-2");
    second[0]["occurred_at"] = json!("2026-11-10T09:00:00Z");
    second[1]["occurred_at"] = json!("2026-11-12T15:00:00Z");
    let before = world.sent().len();
    world.replay(&second).await;
    let news: Vec<String> = world.sent()[before..]
        .iter()
        .map(|m| m.kind.clone())
        .collect();
    assert_eq!(news, ["order_placed", "order_delivered"]);
    let report = world.sweep("2026-11-15T18:05:00Z").await;
    let review = report
        .decisions
        .iter()
        .find(|d| d.key == "review#A-2")
        .expect("the second review request was decided");
    assert_eq!(review.decision, "withheld", "{review:?}");
    assert!(
        review
            .detail
            .contains("unsubscribed from review_requests with one click on 2026-11-07"),
        "{review:?}"
    );
    assert_eq!(world.sent().len(), before + 2, "nothing else was sent");

    // The link's GET shows the page; the form switches review requests back on.
    let (status, page) = request(&world, "GET", &path, "").await;
    assert_eq!(status, 200);
    assert!(page.contains("Your email preferences"));
    let token = path.split("token=").nth(1).unwrap();
    let token = url::form_urlencoded::parse(format!("t={token}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &token)
        .append_pair("topic", "order_updates")
        .append_pair("topic", "review_requests")
        .finish();
    let (status, page) = request(&world, "POST", "/preferences", &form).await;
    assert_eq!(status, 200);
    assert!(page.contains("Saved."), "{page}");
    let saved = world.profile(1).await;
    let off: Vec<&str> = saved.unsubscribed.keys().map(|t| t.as_str()).collect();
    assert_eq!(off, ["reminders", "offers"]);

    // Links that are not ours change nothing.
    let (status, _) = request(
        &world,
        "POST",
        "/unsubscribe?token=p1.local-1.Y3VzLTE.AAAA",
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(status, 403);
    let bad_topic: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &token)
        .append_pair("topic", "everything")
        .finish();
    assert_eq!(
        request(&world, "POST", "/preferences", &bad_topic).await.0,
        400
    );
    let stranger = aftercare_journey::links::sign_preferences(
        &world.config.settings.links.as_ref().unwrap().keys[0],
        &aftercare_journey::links::PreferenceClaims {
            customer: CustomerId::parse("cus-nobody").unwrap(),
            topic: None,
        },
    );
    let (status, page) =
        request(&world, "GET", &format!("/unsubscribe?token={stranger}"), "").await;
    assert_eq!(status, 404);
    assert!(page.contains("We could not find your details"), "{page}");
    assert_eq!(world.profile(1).await.unsubscribed, saved.unsubscribed);
}

/// The sample HTTP API event of a rating click, with `change` applied, through the same
/// mending and conversion the deployed function's entry point does.
async fn raw_request(world: &World, change: impl FnOnce(&mut Value)) -> (u16, String) {
    let mut event: Value =
        serde_json::from_str(include_str!("../infra/events/feedback-rate.json")).unwrap();
    change(&mut event);
    let event: lambda_http::request::LambdaRequest = serde_json::from_value(event).unwrap();
    let response = world
        .feedback
        .handle(feedback::http_event::http_request(event))
        .await;
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (response.status().as_u16(), body)
}

/// A change to a sample event.
type Change = Box<dyn FnOnce(&mut Value)>;

#[tokio::test]
async fn malformed_requests_get_the_400_page_and_never_a_panic() {
    let world = World::new("fb-malformed").await;
    let cases: Vec<(&str, Change)> = vec![
        (
            "a literal space in the query string",
            Box::new(|e: &mut Value| e["rawQueryString"] = json!("token=a b&score=2")),
        ),
        (
            "a percent sign that starts no escape",
            Box::new(|e: &mut Value| e["rawQueryString"] = json!("token=%ZZ&score=%")),
        ),
        (
            "escapes that are not UTF-8",
            Box::new(|e: &mut Value| e["rawQueryString"] = json!("token=%FF%FE%00&score=2")),
        ),
        (
            "a path no route has, with a space",
            Box::new(|e: &mut Value| {
                e["rawPath"] = json!("/rate/ x");
                e["rawQueryString"] = json!("");
            }),
        ),
        (
            "a body flagged base64 that is not",
            Box::new(|e: &mut Value| {
                e["requestContext"]["http"]["method"] = json!("POST");
                e["rawPath"] = json!("/rate/comment");
                e["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("%%%not base64%%%");
            }),
        ),
        (
            "a form body that is not UTF-8",
            Box::new(|e: &mut Value| {
                e["requestContext"]["http"]["method"] = json!("POST");
                e["rawPath"] = json!("/rate/comment");
                e["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("dG9rZW49//79&comment=%C3%28");
            }),
        ),
        (
            "a host header a URI cannot hold",
            Box::new(|e: &mut Value| e["headers"]["host"] = json!("exa mple.com:99999")),
        ),
    ];
    for (case, change) in cases {
        let (status, page) = raw_request(&world, change).await;
        assert!(
            (400..500).contains(&status),
            "{case}: {status} (a page, not a server error)"
        );
        assert!(page.contains("<html"), "{case}: {page}");
    }
}

#[tokio::test]
async fn the_log_id_key_is_read_from_the_secret_the_local_stack_creates_and_a_cold_start_needs_one()
{
    use aftercare_adapters::log_ids::{CustomerNaming, LogIdKey};
    use aftercare_adapters::startup::{customer_naming, ColdStartError};
    let world = World::new("fb-log-id").await;
    let table = world.config.table_name.clone();
    stack().provision(&world.clients, &table).await.unwrap();
    let config = |secret: Option<&str>| {
        aftercare_adapters::config::Config::from_lookup(|name| match name {
            "JOURNEY_TABLE" => Some(table.clone()),
            "SENDER_EMAIL" => Some("orders@shop.example".into()),
            "SHOP_NAME" => Some("Shop".into()),
            "SUPPORT_EMAIL" => Some("help@shop.example".into()),
            "LOG_ID_KEY_SECRET" => secret.map(str::to_owned),
            _ => None,
        })
        .unwrap()
    };
    let secret = aftercare_localstack::log_id_secret_name(&table);
    let naming = customer_naming(&config(Some(&secret)), &world.clients)
        .await
        .unwrap();
    let local = LogIdKey::from_hex(aftercare_localstack::LOCAL_LOG_ID_KEY).unwrap();
    assert_eq!(naming, CustomerNaming::Hashed(local));

    let missing = customer_naming(&config(Some("no-such-secret")), &world.clients).await;
    assert!(
        matches!(missing, Err(ColdStartError::Secrets(_))),
        "{missing:?}"
    );
    match customer_naming(&config(None), &world.clients).await {
        Err(ColdStartError::Config(error)) => assert_eq!(error.variable, "LOG_ID_KEY_SECRET"),
        other => panic!("a cold start without a log-id key: {other:?}"),
    }
}
