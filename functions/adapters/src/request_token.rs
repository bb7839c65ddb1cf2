//! The `ClientRequestToken` of a TransactWriteItems, derived from what it applies.
//!
//! DynamoDB treats a repeat of a successful transaction with the same token and the same
//! parameters, within 10 minutes, as done: it answers success and applies nothing again. A
//! transaction whose answer was lost can therefore be sent again as it was, and the second
//! answer tells what happened to the first. The token is a digest of every write (its table,
//! item or key, condition and values, in a canonical order), so the same writes always carry
//! the same token and any other writes another one: a token can never be refused as reused
//! for different parameters (`IdempotentParameterMismatchException`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use sha2::{Digest, Sha256};

/// The longest token DynamoDB accepts.
pub const TOKEN_LEN: usize = 36;

/// The token of a transaction of `writes`: 32 hex digits of a SHA-256 over their canonical
/// form.
pub fn transaction_token(writes: &[TransactWriteItem]) -> String {
    let mut digest = Sha256::new();
    for write in writes {
        if let Some(put) = write.put() {
            field(&mut digest, "put", put.table_name());
            attributes(&mut digest, put.item());
            expression(
                &mut digest,
                put.condition_expression(),
                put.expression_attribute_names(),
                put.expression_attribute_values(),
            );
        }
        if let Some(delete) = write.delete() {
            field(&mut digest, "delete", delete.table_name());
            attributes(&mut digest, delete.key());
            expression(
                &mut digest,
                delete.condition_expression(),
                delete.expression_attribute_names(),
                delete.expression_attribute_values(),
            );
        }
        if let Some(update) = write.update() {
            field(&mut digest, "update", update.table_name());
            attributes(&mut digest, update.key());
            field(&mut digest, "set", update.update_expression());
            expression(
                &mut digest,
                update.condition_expression(),
                update.expression_attribute_names(),
                update.expression_attribute_values(),
            );
        }
        if let Some(check) = write.condition_check() {
            field(&mut digest, "check", check.table_name());
            attributes(&mut digest, check.key());
            expression(
                &mut digest,
                Some(check.condition_expression()),
                check.expression_attribute_names(),
                check.expression_attribute_values(),
            );
        }
    }
    hex::encode(&digest.finalize()[..16])
}

/// A length-prefixed string, so that no two sequences of fields digest alike.
fn field(digest: &mut Sha256, tag: &str, value: &str) {
    digest.update(tag.as_bytes());
    digest.update((value.len() as u64).to_be_bytes());
    digest.update(value.as_bytes());
}

fn expression(
    digest: &mut Sha256,
    condition: Option<&str>,
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) {
    field(digest, "if", condition.unwrap_or_default());
    let mut names: Vec<_> = names.into_iter().flatten().collect();
    names.sort();
    for (placeholder, name) in names {
        field(digest, "name", placeholder);
        field(digest, "is", name);
    }
    if let Some(values) = values {
        attributes(digest, values);
    }
}

fn attributes(digest: &mut Sha256, map: &HashMap<String, AttributeValue>) {
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    field(digest, "map", &names.len().to_string());
    for name in names {
        field(digest, "key", name);
        value(digest, &map[name]);
    }
}

fn value(digest: &mut Sha256, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => field(digest, "S", s),
        AttributeValue::N(n) => field(digest, "N", n),
        AttributeValue::B(b) => field(digest, "B", &hex::encode(b.as_ref())),
        AttributeValue::Bool(b) => field(digest, "BOOL", if *b { "1" } else { "0" }),
        AttributeValue::Null(_) => field(digest, "NULL", ""),
        AttributeValue::M(map) => attributes(digest, map),
        AttributeValue::L(list) => {
            field(digest, "L", &list.len().to_string());
            for item in list {
                self::value(digest, item);
            }
        }
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            let tag = if matches!(value, AttributeValue::Ss(_)) {
                "SS"
            } else {
                "NS"
            };
            let mut set: Vec<&String> = set.iter().collect();
            set.sort();
            field(digest, tag, &set.len().to_string());
            for member in set {
                field(digest, "member", member);
            }
        }
        AttributeValue::Bs(set) => {
            let mut set: Vec<String> = set.iter().map(|b| hex::encode(b.as_ref())).collect();
            set.sort();
            field(digest, "BS", &set.len().to_string());
            for member in &set {
                field(digest, "member", member);
            }
        }
        // A type this SDK does not know: its debug form still tells values apart.
        other => field(digest, "other", &format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::Put;

    fn put(attributes: &[(&str, AttributeValue)], condition: &str) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name("journeys")
            .condition_expression(condition);
        for (name, value) in attributes {
            put = put.item(*name, value.clone());
        }
        TransactWriteItem::builder()
            .put(put.build().unwrap())
            .build()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn the_same_writes_always_carry_the_same_token() {
        let writes = || {
            vec![put(
                &[
                    ("pk", s("CUSTOMER#1")),
                    ("sk", s("PROFILE")),
                    ("b", s("x")),
                    ("a", s("y")),
                ],
                "attribute_not_exists(pk)",
            )]
        };
        let token = transaction_token(&writes());
        assert_eq!(token, transaction_token(&writes()));
        assert_eq!(token.len(), 32);
        assert!(token.len() <= TOKEN_LEN);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn any_change_to_what_is_written_gives_another_token() {
        let base = put(&[("pk", s("CUSTOMER#1")), ("v", s("1"))], "version = :v");
        let tokens = [
            transaction_token(std::slice::from_ref(&base)),
            transaction_token(&[put(
                &[("pk", s("CUSTOMER#1")), ("v", s("2"))],
                "version = :v",
            )]),
            transaction_token(&[put(
                &[("pk", s("CUSTOMER#1")), ("v", s("1"))],
                "version = :w",
            )]),
            transaction_token(&[put(
                &[
                    ("pk", s("CUSTOMER#1")),
                    ("v", AttributeValue::N("1".into())),
                ],
                "version = :v",
            )]),
            transaction_token(&[base.clone(), base]),
        ];
        let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
        assert_eq!(distinct.len(), tokens.len(), "{tokens:?}");
    }

    #[test]
    fn a_value_cannot_pass_for_two_fields() {
        // Length prefixes keep ("ab", "c") apart from ("a", "bc").
        let one = put(&[("pk", s("ab")), ("sk", s("c"))], "");
        let other = put(&[("pk", s("a")), ("sk", s("bc"))], "");
        assert_ne!(transaction_token(&[one]), transaction_token(&[other]));
    }
}
