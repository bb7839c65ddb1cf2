//! What DynamoDB bills for a request, in on-demand write and read request units, from the
//! items' real sizes ([`crate::size`]):
//!
//! - a write of one item costs 1 unit per KB (1,024 bytes, rounded up, at least 1) of the larger
//!   of the item before and after it, twice that inside a transaction;
//! - each global secondary index the write changes costs 1 unit per KB of the index entry (its
//!   keys and projected attributes) for putting an entry, 1 for deleting one, and both when
//!   the write moves the entry to another index key; transactions do not double index writes;
//! - a strongly consistent read costs 1 unit per 4 KB (rounded up, at least 1) of each item
//!   read by GetItem or BatchGetItem, and of all items a Query returns together; an eventually
//!   consistent read half that; a transactional read twice.

use serde_json::{Map, Value};

use crate::size::item_size;

/// A DynamoDB item in its JSON form.
pub type Item = Map<String, Value>;

/// What a global secondary index copies of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// The whole item.
    All,
    /// The table's and the index's keys only.
    KeysOnly,
    /// The keys and these attributes.
    Include(Vec<String>),
}

/// A global secondary index: its keys and projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexShape {
    /// Its name.
    pub name: String,
    /// Its partition key attribute.
    pub hash: String,
    /// Its sort key attribute, if any.
    pub range: Option<String>,
    /// What it copies.
    pub projection: Projection,
}

/// The table's keys and indexes: what decides the cost of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    /// The partition key attribute.
    pub hash: String,
    /// The sort key attribute, if any.
    pub range: Option<String>,
    /// Its global secondary indexes.
    pub indexes: Vec<IndexShape>,
}

/// Write units, split by where they are billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteUnits {
    /// On the table.
    pub table: u64,
    /// On the indexes.
    pub index: u64,
}

impl WriteUnits {
    /// Table and index together.
    pub fn total(self) -> u64 {
        self.table + self.index
    }
}

impl std::ops::AddAssign for WriteUnits {
    fn add_assign(&mut self, other: Self) {
        self.table += other.table;
        self.index += other.index;
    }
}

/// Units per KB of a write, at least 1.
pub fn units_per_kb(bytes: u64) -> u64 {
    bytes.div_ceil(1024).max(1)
}

/// Read units for `bytes` read at once: 1 per 4 KB, at least 1; half for an eventually
/// consistent read, twice for a transactional one.
pub fn read_units(bytes: u64, consistent: bool, transactional: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    let units = if consistent { units } else { units / 2.0 };
    if transactional {
        units * 2.0
    } else {
        units
    }
}

impl TableShape {
    /// What writing one item costs, the item being `before` and `after` the write (`None`:
    /// absent), inside a transaction or not.
    pub fn write_units(
        &self,
        before: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) -> WriteUnits {
        let larger = before
            .map(item_size)
            .unwrap_or(0)
            .max(after.map(item_size).unwrap_or(0));
        let table = units_per_kb(larger) * if transactional { 2 } else { 1 };
        let index = self
            .indexes
            .iter()
            .map(|index| {
                let old = before.and_then(|i| self.entry(index, i));
                let new = after.and_then(|i| self.entry(index, i));
                match (old, new) {
                    (None, None) => 0,
                    (None, Some(new)) => units_per_kb(item_size(&new)),
                    (Some(old), None) => units_per_kb(item_size(&old)),
                    (Some(old), Some(new)) if old == new => 0,
                    (Some(old), Some(new)) => {
                        let moved = [Some(&index.hash), index.range.as_ref()]
                            .into_iter()
                            .flatten()
                            .any(|key| old.get(key) != new.get(key));
                        if moved {
                            units_per_kb(item_size(&old)) + units_per_kb(item_size(&new))
                        } else {
                            units_per_kb(item_size(&old).max(item_size(&new)))
                        }
                    }
                }
            })
            .sum();
        WriteUnits { table, index }
    }

    /// The index entry of `item`: `None` unless it has the index's keys.
    pub fn entry(&self, index: &IndexShape, item: &Item) -> Option<Item> {
        let keys = [Some(&index.hash), index.range.as_ref()];
        if keys.iter().flatten().any(|key| !item.contains_key(*key)) {
            return None;
        }
        let kept = |name: &str| match &index.projection {
            Projection::All => true,
            Projection::KeysOnly => false,
            Projection::Include(names) => names.iter().any(|n| n == name),
        };
        let key_names = [
            Some(&self.hash),
            self.range.as_ref(),
            Some(&index.hash),
            index.range.as_ref(),
        ];
        Some(
            item.iter()
                .filter(|(name, _)| key_names.iter().flatten().any(|k| *k == *name) || kept(name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(projection: Projection) -> TableShape {
        TableShape {
            hash: "pk".into(),
            range: Some("sk".into()),
            indexes: vec![IndexShape {
                name: "due".into(),
                hash: "due_bucket".into(),
                range: Some("due_at".into()),
                projection,
            }],
        }
    }

    fn item(value: Value) -> Item {
        value.as_object().unwrap().clone()
    }

    fn padded(bytes: usize, due: Option<&str>) -> Item {
        let mut item = item(json!({"pk": {"S": "p"}, "sk": {"S": "s"}}));
        item.insert("body".into(), json!({"S": "x".repeat(bytes)}));
        if let Some(due) = due {
            item.insert("due_bucket".into(), json!({"S": "b"}));
            item.insert("due_at".into(), json!({"S": due}));
        }
        item
    }

    #[test]
    fn a_transactional_put_of_a_small_item_costs_two_units() {
        let units = shape(Projection::All).write_units(None, Some(&padded(10, None)), true);
        assert_eq!(units, WriteUnits { table: 2, index: 0 });
    }

    #[test]
    fn an_update_is_billed_at_the_larger_image() {
        let big = padded(3000, None);
        let small = padded(10, None);
        let units = shape(Projection::All).write_units(Some(&big), Some(&small), false);
        assert_eq!(units.table, 3);
    }

    #[test]
    fn leaving_the_index_costs_a_delete_of_the_projected_entry() {
        let before = padded(3000, Some("t1"));
        let after = padded(3000, None);
        assert_eq!(
            shape(Projection::All)
                .write_units(Some(&before), Some(&after), false)
                .index,
            3
        );
        assert_eq!(
            shape(Projection::KeysOnly)
                .write_units(Some(&before), Some(&after), false)
                .index,
            1
        );
    }

    #[test]
    fn moving_an_entry_to_another_index_key_costs_a_delete_and_a_put() {
        let before = padded(10, Some("t1"));
        let after = padded(10, Some("t2"));
        let units = shape(Projection::KeysOnly).write_units(Some(&before), Some(&after), false);
        assert_eq!(units.index, 2);
    }

    #[test]
    fn an_index_entry_that_does_not_change_costs_nothing() {
        let before = padded(10, Some("t1"));
        let mut after = before.clone();
        after.insert("body".into(), json!({"S": "changed"}));
        let keys_only = shape(Projection::KeysOnly);
        assert_eq!(
            keys_only
                .write_units(Some(&before), Some(&after), false)
                .index,
            0
        );
        let all = shape(Projection::All);
        assert_eq!(all.write_units(Some(&before), Some(&after), false).index, 1);
    }

    #[test]
    fn reads_round_up_to_four_kb_and_halve_when_eventually_consistent() {
        assert_eq!(read_units(100, true, false), 1.0);
        assert_eq!(read_units(5000, true, false), 2.0);
        assert_eq!(read_units(5000, false, false), 1.0);
        assert_eq!(read_units(100, false, false), 0.5);
        assert_eq!(read_units(100, true, true), 2.0);
    }
}
