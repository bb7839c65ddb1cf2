//! Between DynamoDB's attribute values and the items of [`crate::items`], and between its
//! errors and [`StoreError`].

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::Deserialize;

use crate::error::{classify, describe};
use crate::items::from_item;
use crate::items::{CommitError, StoreError, Versioned};

/// A failed SDK call of `operation` as a [`StoreError`], with whether it may heal.
pub(super) fn sdk_error<E>(
    operation: &'static str,
    error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    StoreError {
        operation,
        retry: classify(error),
        detail: describe(error),
    }
}

/// Sends a conditional claim (`request`: key, update and condition set) and reads the item
/// as it now stands. When the condition refuses it, the item as it stood is ours only if
/// `ours` says this very claim left it so (its first attempt landed and the SDK sent it again
/// after the answer was lost); otherwise someone else holds it and the answer is `None`. An
/// old item that does not read is nobody's claim of ours.
pub(super) async fn claim<T: for<'de> Deserialize<'de>>(
    request: UpdateItemFluentBuilder,
    ours: impl Fn(&T) -> bool,
) -> Result<Option<T>, StoreError> {
    let result = request
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(output) => output
            .attributes
            .map(|a| from_item("UpdateItem", a))
            .transpose(),
        Err(e) => match refused_update(&e) {
            Some(current) => Ok(current
                .and_then(|a| from_item::<T>("UpdateItem", a).ok())
                .filter(|item| ours(item))),
            None => Err(sdk_error("UpdateItem", &e)),
        },
    }
}

/// Sends a conditional update: `true` when it was applied, `false` when its condition did
/// not hold.
pub(super) async fn applied(request: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
    match request.send().await {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(sdk_error("UpdateItem", &e)),
    }
}

/// The text of the string attribute `name` of `item`, if it has one.
pub(super) fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A string attribute.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The key of the item at `pk`, `sk`.
pub(super) fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Why the store's transaction helper (`DynamoStore::transact`) did not apply a transaction.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The condition of the write at this position (the first that failed) did not hold.
    Condition(usize),
    /// Anything else, as the caller reports it.
    Other(CommitError),
}

pub(super) fn version_condition<T>(loaded: &Option<Versioned<T>>) -> &'static str {
    if loaded.is_some() {
        "version = :version"
    } else {
        "attribute_not_exists(pk)"
    }
}

/// Whether a failed call may still have been applied: its answer timed out or was lost, or
/// the service failed on its side (5xx), or the same request is still being applied.
pub(super) fn outcome_unknown<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            service.raw().status().as_u16() >= 500
                || service.err().code() == Some("TransactionInProgressException")
        }
        _ => false,
    }
}

/// The item as it stood when an UpdateItem's condition failed (asked for with
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD`; `Some(None)` when there was no item), or
/// `None` when the call failed otherwise.
pub(super) fn refused_update(
    error: &SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Option<HashMap<String, AttributeValue>>> {
    match error.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
            Some(refused.item().cloned())
        }
        _ => None,
    }
}

pub(super) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}
