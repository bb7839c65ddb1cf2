//! The journey table as DynamoDB holds it: items as attribute maps keyed by `pk` and `sk`, the
//! conditions the stores write with, TransactWriteItems (validated whole, conditions checked,
//! then applied, its token remembered for 10 minutes), and the sizes Query pages by.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration as StdDuration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use crate::error::Retry;
use crate::items::StoreError;

/// One stored item: attribute name to value, as DynamoDB holds it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// How long DynamoDB answers a repeated transaction token as done.
const TOKEN_WINDOW: StdDuration = StdDuration::from_secs(600);
/// How much a Query reads per page.
const QUERY_PAGE_BYTES: usize = 1024 * 1024;

/// The condition of one write of a transaction, as the DynamoDB store words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Condition {
    /// None.
    Always,
    /// `attribute_not_exists(pk)`: the item does not exist.
    Absent,
    /// `version = :version`.
    Version(u64),
    /// `claimed_by = :owner`.
    ClaimedBy(String),
}

/// One write of a transaction.
#[derive(Debug, Clone)]
pub(super) enum Write {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

impl Write {
    pub(super) fn put(item: Item, condition: Condition) -> Self {
        Write::Put { item, condition }
    }

    fn key(&self) -> (String, String) {
        match self {
            Write::Put { item, .. } => (
                text(Some(item), "pk").unwrap_or_default().to_owned(),
                text(Some(item), "sk").unwrap_or_default().to_owned(),
            ),
            Write::Delete { pk, sk, .. } => (pk.clone(), sk.clone()),
        }
    }

    fn condition(&self) -> &Condition {
        match self {
            Write::Put { condition, .. } | Write::Delete { condition, .. } => condition,
        }
    }
}

/// Why a transaction was not applied (the DynamoDB store's `Refused`).
pub(super) enum Refused {
    /// The condition of the write at this position (the first that failed) did not hold.
    Condition(usize),
    /// The request itself was refused.
    Invalid(StoreError),
}

/// The items of the journey table, and the tokens of the transactions applied to it.
#[derive(Debug, Default)]
pub(super) struct Table {
    /// `pk` to `sk` to item: a partition reads in sort-key order, as a Query does.
    items: BTreeMap<String, BTreeMap<String, Item>>,
    /// The tokens of the transactions applied, with when.
    tokens: HashMap<String, Instant>,
    /// One more after every write: what the due index below was built at.
    writes: u64,
    /// The due index's partitions (`due_bucket`) to the keys of their items, as of write
    /// `.0`; rebuilt on the first read after a write, so a sweep reading many partitions
    /// between writes looks at the table once.
    due: Option<(u64, DueIndex)>,
}

/// The due index's partitions (`due_bucket`) to the keys (`pk`, `sk`) of the items in them.
type DueIndex = BTreeMap<String, Vec<(String, String)>>;

impl Table {
    /// GetItem.
    pub(super) fn get(&self, pk: &str, sk: &str) -> Option<&Item> {
        self.items.get(pk).and_then(|partition| partition.get(sk))
    }

    /// The item an UpdateItem changes in place.
    pub(super) fn get_mut(&mut self, pk: &str, sk: &str) -> Option<&mut Item> {
        self.writes += 1;
        self.items
            .get_mut(pk)
            .and_then(|partition| partition.get_mut(sk))
    }

    /// A partition's items in sort-key order (empty when it has none).
    pub(super) fn partition(&self, pk: &str) -> impl Iterator<Item = &Item> {
        self.items.get(pk).into_iter().flat_map(BTreeMap::values)
    }

    /// The items filed under the due index's partition `bucket`, in no particular order.
    pub(super) fn in_due_bucket(&mut self, bucket: &str) -> Vec<&Item> {
        if self
            .due
            .as_ref()
            .is_none_or(|(built, _)| *built != self.writes)
        {
            let mut index = DueIndex::new();
            for (pk, partition) in &self.items {
                for (sk, item) in partition {
                    if let Some(bucket) = text(Some(item), "due_bucket") {
                        index
                            .entry(bucket.to_owned())
                            .or_default()
                            .push((pk.clone(), sk.clone()));
                    }
                }
            }
            self.due = Some((self.writes, index));
        }
        let keys = self
            .due
            .as_ref()
            .and_then(|(_, index)| index.get(bucket))
            .cloned()
            .unwrap_or_default();
        keys.iter()
            .filter_map(|(pk, sk)| self.get(pk, sk))
            .collect()
    }

    /// PutItem, unconditional (the item's keys are the caller's to get right).
    pub(super) fn put(&mut self, item: Item) {
        self.writes += 1;
        let (pk, sk) = Write::put(item.clone(), Condition::Always).key();
        self.items.entry(pk).or_default().insert(sk, item);
    }

    fn delete(&mut self, pk: &str, sk: &str) {
        self.writes += 1;
        if let Some(partition) = self.items.get_mut(pk) {
            partition.remove(sk);
            if partition.is_empty() {
                self.items.remove(pk);
            }
        }
    }

    /// TransactWriteItems: all of `writes` or nothing.
    pub(super) fn transact(&mut self, writes: Vec<Write>) -> Result<(), Refused> {
        let token = transaction_token(&writes);
        let now = Instant::now();
        self.tokens
            .retain(|_, at| now.saturating_duration_since(*at) <= TOKEN_WINDOW);
        if self.tokens.contains_key(&token) {
            return Ok(());
        }
        let mut keys: Vec<(String, String)> = writes.iter().map(Write::key).collect();
        keys.sort();
        if keys.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(Refused::Invalid(StoreError {
                operation: "TransactWriteItems",
                retry: Retry::Permanent,
                detail: "ValidationException: Transaction request cannot include multiple operations on one item".into(),
            }));
        }
        for write in &writes {
            if let Write::Put { item, .. } = write {
                check_keys(item).map_err(Refused::Invalid)?;
            }
        }
        let failed = writes.iter().position(|write| {
            let (pk, sk) = write.key();
            !holds(write.condition(), self.get(&pk, &sk))
        });
        if let Some(position) = failed {
            return Err(Refused::Condition(position));
        }
        for write in writes {
            match write {
                Write::Put { item, .. } => self.put(item),
                Write::Delete { pk, sk, .. } => self.delete(&pk, &sk),
            }
        }
        self.tokens.insert(token, now);
        Ok(())
    }
}

/// The attributes that key the table (`pk`, `sk`) and the `due` index (`due_bucket`,
/// `due_at`): all of type S.
const KEY_ATTRIBUTES: [(&str, Option<&str>); 4] = [
    ("pk", None),
    ("sk", None),
    ("due_bucket", Some(crate::items::DUE_INDEX)),
    ("due_at", Some(crate::items::DUE_INDEX)),
];

/// Refuses an item as DynamoDB does: the table's keys must be non-empty text, and an index's
/// key attribute, where present, too. An index key stored as NULL (an `Option` that is `None`,
/// as `serde_dynamo` writes it) or as empty text is refused, not left out of the sparse index.
/// (moto accepts both and leaves the item out of the index.)
fn check_keys(item: &Item) -> Result<(), StoreError> {
    for (name, index) in KEY_ATTRIBUTES {
        let problem = match (item.get(name), index) {
            (Some(AttributeValue::S(value)), _) if !value.is_empty() => continue,
            (None, Some(_)) => continue,
            (None, None) => format!("Missing the key {name} in the item"),
            (Some(AttributeValue::S(_)), _) => format!(
                "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}"
            ),
            (Some(other), index) => format!(
                "One or more parameter values were invalid: Type mismatch for{} key {name} expected: S actual: {}",
                if index.is_some() { " Index" } else { "" },
                attribute_type(other)
            ),
        };
        return Err(StoreError {
            operation: "TransactWriteItems",
            retry: Retry::Permanent,
            detail: format!("ValidationException: {problem}"),
        });
    }
    Ok(())
}

fn attribute_type(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::M(_) => "M",
        AttributeValue::L(_) => "L",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        _ => "unknown",
    }
}

/// Whether `condition` holds for the item as it stands (`None`: no item).
fn holds(condition: &Condition, current: Option<&Item>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::Absent => current.is_none(),
        Condition::Version(version) => number(current, "version") == Some(*version),
        Condition::ClaimedBy(owner) => text(current, "claimed_by") == Some(owner.as_str()),
    }
}

/// The text value of `name`, if the item has one of type S.
pub(super) fn text<'a>(item: Option<&'a Item>, name: &str) -> Option<&'a str> {
    match item.and_then(|item| item.get(name)) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// The whole-number value of `name`, if the item has one of type N.
fn number(item: Option<&Item>, name: &str) -> Option<u64> {
    match item.and_then(|item| item.get(name)) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The `ClientRequestToken` of a transaction: a digest of every write, its item or key and
/// its condition, so the same writes always carry the same token.
pub(super) fn transaction_token(writes: &[Write]) -> String {
    let mut digest = Sha256::new();
    for write in writes {
        match write {
            Write::Put { item, condition } => {
                field(&mut digest, "put");
                attributes(&mut digest, item);
                field(&mut digest, &format!("{condition:?}"));
            }
            Write::Delete { pk, sk, condition } => {
                field(&mut digest, "delete");
                field(&mut digest, pk);
                field(&mut digest, sk);
                field(&mut digest, &format!("{condition:?}"));
            }
        }
    }
    hex::encode(&digest.finalize()[..16])
}

/// A length-prefixed string, so that no two sequences of fields digest alike.
fn field(digest: &mut Sha256, value: &str) {
    digest.update((value.len() as u64).to_be_bytes());
    digest.update(value.as_bytes());
}

fn attributes(digest: &mut Sha256, item: &Item) {
    let mut entries: Vec<(&String, &AttributeValue)> = item.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    field(digest, &format!("map{}", entries.len()));
    for (name, member) in entries {
        field(digest, name);
        value(digest, member);
    }
}

fn value(digest: &mut Sha256, value: &AttributeValue) {
    match value {
        AttributeValue::M(map) => attributes(digest, map),
        AttributeValue::L(list) => {
            field(digest, &format!("list{}", list.len()));
            for member in list {
                self::value(digest, member);
            }
        }
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            let mut set: Vec<&String> = set.iter().collect();
            set.sort();
            field(digest, &format!("set{:?}", set));
        }
        // Scalars: the debug form names the type and the value.
        other => field(digest, &format!("{other:?}")),
    }
}

/// The size DynamoDB counts for an item (its write and read units follow from it): each
/// attribute's name and value, a map or list 3 bytes and 1 per element more.
pub fn item_size(item: &Item) -> usize {
    item.iter().fold(0, |total, (name, value)| {
        total
            .saturating_add(name.len())
            .saturating_add(value_size(value))
    })
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(digits) => (digits.len() / 2).saturating_add(1),
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::M(map) => item_size(map).saturating_add(map.len()).saturating_add(3),
        AttributeValue::L(list) => list.iter().fold(3, |total, v| {
            total.saturating_add(value_size(v)).saturating_add(1)
        }),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            set.iter().fold(0, |total, v| total.saturating_add(v.len()))
        }
        _ => 1,
    }
}

/// How many pages a Query returning `items` takes.
pub(super) fn query_pages<'a>(items: impl Iterator<Item = &'a Item>) -> usize {
    let bytes = items.fold(0usize, |total, item| total.saturating_add(item_size(item)));
    bytes.div_ceil(QUERY_PAGE_BYTES).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message-like item in the due index.
    fn item(sk: &str) -> Item {
        Item::from([
            ("pk".to_owned(), s("CUSTOMER#cus-1")),
            ("sk".to_owned(), s(sk)),
            ("entity".to_owned(), s("message")),
            ("due_bucket".to_owned(), s("2026-11-02T10#1")),
            ("due_at".to_owned(), s("2026-11-02T10:02:00.000Z")),
        ])
    }

    fn refused_as_invalid(table: &mut Table, writes: Vec<Write>) -> bool {
        matches!(
            table.transact(writes),
            Err(Refused::Invalid(StoreError {
                retry: Retry::Permanent,
                ..
            }))
        )
    }

    #[test]
    fn a_transaction_writing_one_item_twice_is_refused_and_writes_nothing() {
        let mut table = Table::default();
        let refused = refused_as_invalid(
            &mut table,
            vec![
                Write::put(item("MSG#1"), Condition::Absent),
                Write::Delete {
                    pk: "CUSTOMER#cus-1".into(),
                    sk: "MSG#1".into(),
                    condition: Condition::Always,
                },
            ],
        );
        assert!(refused);
        assert!(table.get("CUSTOMER#cus-1", "MSG#1").is_none());
    }

    #[test]
    fn the_first_write_whose_condition_fails_refuses_the_whole_transaction() {
        let mut table = Table::default();
        table.put(item("MSG#1"));
        let refused = table.transact(vec![
            Write::put(item("MSG#2"), Condition::Absent),
            Write::put(item("MSG#1"), Condition::Absent),
            Write::put(item("MSG#3"), Condition::Version(1)),
        ]);
        assert!(matches!(refused, Err(Refused::Condition(1))));
        assert!(table.get("CUSTOMER#cus-1", "MSG#2").is_none());
    }

    #[test]
    fn an_item_whose_index_key_is_null_or_empty_is_refused_as_dynamodb_refuses_it() {
        let mut table = Table::default();
        let mut null = item("MSG#1");
        null.insert("due_bucket".into(), AttributeValue::Null(true));
        let mut empty = item("MSG#2");
        empty.insert("due_at".into(), s(""));
        let mut without = item("MSG#3");
        without.remove("due_bucket");
        without.remove("due_at");

        assert!(refused_as_invalid(
            &mut table,
            vec![Write::put(null, Condition::Absent)]
        ));
        assert!(refused_as_invalid(
            &mut table,
            vec![Write::put(empty, Condition::Absent)]
        ));
        // Without the attributes at all, it is written (and left out of the sparse index).
        assert!(table
            .transact(vec![Write::put(without, Condition::Absent)])
            .is_ok());
    }

    #[test]
    fn the_same_writes_are_answered_as_done_and_other_writes_carry_another_token() {
        let mut table = Table::default();
        let writes = || vec![Write::put(item("MSG#1"), Condition::Absent)];
        table.transact(writes()).map_err(|_| "refused").unwrap();
        // Its condition no longer holds, but the repeat is recognised by its token.
        assert!(table.transact(writes()).is_ok());
        let one = transaction_token(&writes());
        let mut other = item("MSG#1");
        other.insert("subject".into(), s("Another"));
        assert_ne!(
            one,
            transaction_token(&[Write::put(other, Condition::Absent)])
        );
        assert_ne!(
            one,
            transaction_token(&[Write::put(item("MSG#1"), Condition::Always)])
        );
    }

    #[test]
    fn a_query_of_more_than_a_megabyte_takes_more_than_one_page() {
        let big = Item::from([("pk".to_owned(), s("x".repeat(400 * 1024)))]);
        assert_eq!(query_pages(std::iter::empty()), 1);
        assert_eq!(query_pages([&big, &big].into_iter()), 1);
        assert_eq!(query_pages([&big, &big, &big].into_iter()), 2);
    }
}
