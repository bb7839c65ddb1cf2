//! The raw MIME of real messages, read back by an independent strict parser (Python's `email`
//! package with `policy.strict`, from the project's `.venv`): names and subjects in Cyrillic,
//! Arabic and Hebrew, with emoji, 300 characters long, with quotes and backslashes; every header
//! accepted without a defect, every line within its limit, and each value decoding back to
//! exactly what was written.

use std::io::Write;
use std::process::{Command, Stdio};

use aftercare_adapters::mailer::SesMailer;
use aftercare_integration_tests::sample_detail;
use aftercare_journey::event::parse_order_event;
use aftercare_journey::message::OutgoingMessage;
use aftercare_journey::order_status::{decide_order_event, BeforeEvent};
use base64::Engine as _;
use serde_json::{json, Value};

/// The names the headers must carry: each is written as a customer's name and a shop's name.
fn hard_names() -> Vec<String> {
    let long: String = "Александра-Мария Константинопольская 🌷 "
        .chars()
        .cycle()
        .take(300)
        .collect();
    vec![
        "Анна Петрова".into(),
        "محمد عبد الله".into(),
        "דוד כהן".into(),
        "Zoë 🎉 Ünal 👩‍👩‍👧".into(),
        long.trim().into(),
        r#"Patrick "Paddy" O'Brien \ Jr."#.into(),
        "Carter, Emily (Em)".into(),
        "=?utf-8?B?SGVsbG8=?= literally".into(),
        "x".repeat(300),
    ]
}

fn message_for(name: &str, locale: &str, status: &str) -> OutgoingMessage {
    let mut detail = sample_detail(status);
    detail["customer"]["name"] = json!(name);
    detail["customer"]["locale"] = json!(locale);
    let event = parse_order_event(
        &detail.to_string(),
        &aftercare_journey::event::AcceptedYears::default(),
    )
    .expect("a valid event");
    let config = aftercare_localstack::local_shop_config("mime").unwrap();
    decide_order_event(&BeforeEvent::default(), &event, &config.settings)
        .expect("rendered")
        .message
        .expect("a message for a new order")
}

/// A mailer of a shop called `shop_name`; building MIME makes no call, so its client points
/// nowhere.
fn mailer(shop_name: &str) -> SesMailer {
    let config =
        aftercare_localstack::local_shop_config_with("mime", &[("SHOP_NAME", shop_name)]).unwrap();
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::Config::builder()
            .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
            .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
            .build(),
    );
    SesMailer::new(client, &config)
}

/// What the strict parser made of each raw message.
fn strictly_parsed(raw: &[Vec<u8>]) -> Vec<Value> {
    let python = aftercare_localstack::repository_root().join(".venv/bin/python");
    let script = aftercare_localstack::repository_root().join("infra/local/check_mime.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{} could not be started ({e}): run `make venv` first",
                python.display()
            )
        });
    let input: Vec<String> = raw
        .iter()
        .map(|m| base64::engine::general_purpose::STANDARD.encode(m))
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "check_mime.py failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn every_header_of_every_hard_name_passes_a_strict_parser_and_decodes_back() {
    let mut cases = Vec::new();
    for name in hard_names() {
        for (locale, status) in [("ru-RU", "placed"), ("en-US", "shipped")] {
            let message = message_for(&name, locale, status);
            let mailer = mailer(&name);
            let raw = mailer.mime(&message).unwrap();
            cases.push((name.clone(), message, raw));
        }
    }
    let raws: Vec<Vec<u8>> = cases.iter().map(|(_, _, raw)| raw.clone()).collect();
    let parsed = strictly_parsed(&raws);
    assert_eq!(parsed.len(), cases.len());
    for ((name, message, raw), found) in cases.iter().zip(&parsed) {
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(1_500)]).into_owned();
        assert_eq!(found["problems"], json!([]), "{name:?}:\n{shown}");
        assert_eq!(found["to"]["name"], json!(name), "To of {name:?}:\n{shown}");
        assert_eq!(found["to"]["address"], json!(message.to.as_str()));
        assert_eq!(found["from"]["name"], json!(name), "From of {name:?}");
        assert_eq!(
            found["from"]["address"],
            json!(format!("orders@{}", aftercare_localstack::SENDER_DOMAIN))
        );
        assert_eq!(found["subject"], json!(message.subject), "{shown}");
        assert_eq!(
            found["text"].as_str().map(|t| t.replace("\r\n", "\n")),
            Some(message.text.replace("\r\n", "\n")),
            "the text part of {name:?}"
        );
    }
}

#[test]
fn a_long_russian_subject_folds_into_short_encoded_words() {
    let name = "Анна Петрова";
    let mut message = message_for(name, "ru-RU", "placed");
    message.subject = "Ваш заказ 1042 в «Лист и Чайник» принят: мы напишем, когда он будет собран и передан в доставку"
        .into();
    let raw = mailer("Лист и Чайник").mime(&message).unwrap();
    let parsed = strictly_parsed(std::slice::from_ref(&raw));
    assert_eq!(parsed[0]["problems"], json!([]));
    assert_eq!(parsed[0]["subject"], json!(message.subject));
    let text = String::from_utf8(raw).unwrap();
    let subject_lines = text
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' '))
        .count();
    assert!(subject_lines > 1, "folded over several lines");
}

#[test]
fn the_strict_checker_refuses_the_headers_it_must_refuse() {
    // An encoded-word inside quotes (RFC 2047 §5(3)) and one of 79 characters: what the
    // headers looked like before, so the check above can fail.
    let quoted = b"From: shop <a@b.example>\r\nTo: \"=?utf-8?B?0JDQvdC90LAg0J/QtdGC0YDQvtCy0LA=?=\" <anna@example.ru>\r\nSubject: x\r\n\r\nbody\r\n".to_vec();
    let long = format!(
        "From: shop <a@b.example>\r\nTo: a@b.example\r\nSubject: =?utf-8?B?{}?=\r\n\r\nbody\r\n",
        "0J/RgNC40LLQtdGC".repeat(4)
    )
    .into_bytes();
    let parsed = strictly_parsed(&[quoted, long]);
    let problems = |i: usize| parsed[i]["problems"].to_string();
    assert!(
        problems(0).contains("inside quoted string"),
        "{}",
        problems(0)
    );
    assert!(problems(1).contains("encoded-word of"), "{}", problems(1));
}
