//! How the profile stores its lists of instants: as whole nanoseconds since the Unix epoch (a
//! number of 19 digits, 11 bytes in DynamoDB, against 20 to 30 for RFC 3339 text), read back
//! exactly. Lists stored as RFC 3339 text by earlier releases still read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// One stored instant: nanoseconds, or the text of an earlier release.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Nanos(i64),
    Text(DateTime<Utc>),
}

impl Stored {
    fn instant(self) -> DateTime<Utc> {
        match self {
            Stored::Nanos(nanos) => DateTime::from_timestamp_nanos(nanos),
            Stored::Text(at) => at,
        }
    }
}

/// `times` as nanoseconds; an instant outside the years 1677 to 2262 is an error.
fn nanos<E: serde::ser::Error>(times: &[DateTime<Utc>]) -> Result<Vec<i64>, E> {
    times
        .iter()
        .map(|at| {
            at.timestamp_nanos_opt()
                .ok_or_else(|| E::custom("an instant outside the years 1677 to 2262"))
        })
        .collect()
}

/// Instants as stored, read back.
fn instants(stored: Vec<Stored>) -> Vec<DateTime<Utc>> {
    stored.into_iter().map(Stored::instant).collect()
}

/// A list of instants, as nanoseconds.
pub(crate) mod list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        times: &[DateTime<Utc>],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(nanos::<S::Error>(times)?)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<DateTime<Utc>>, D::Error> {
        let stored = Option::<Vec<Stored>>::deserialize(deserializer)?.unwrap_or_default();
        Ok(instants(stored))
    }
}

/// A map of keys to lists of instants, each as nanoseconds.
pub(crate) mod by_key {
    use super::*;

    pub(crate) fn serialize<K: serde::Serialize + Ord, S: Serializer>(
        map: &BTreeMap<K, Vec<DateTime<Utc>>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let stored = map
            .iter()
            .map(|(key, times)| Ok((key, nanos::<S::Error>(times)?)))
            .collect::<Result<Vec<_>, S::Error>>()?;
        serializer.collect_map(stored)
    }

    pub(crate) fn deserialize<'de, K, D>(
        deserializer: D,
    ) -> Result<BTreeMap<K, Vec<DateTime<Utc>>>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        let stored =
            Option::<BTreeMap<K, Vec<Stored>>>::deserialize(deserializer)?.unwrap_or_default();
        Ok(stored
            .into_iter()
            .map(|(key, times)| (key, instants(times)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Kept {
        #[serde(with = "super::list", default)]
        times: Vec<DateTime<Utc>>,
        #[serde(with = "super::by_key", default)]
        by_product: BTreeMap<String, Vec<DateTime<Utc>>>,
    }

    #[test]
    fn instants_are_stored_as_nanoseconds_and_read_back_exactly() {
        let at: DateTime<Utc> = "2026-11-02T10:00:00.123456789Z".parse().unwrap();
        let kept = Kept {
            times: vec![at],
            by_product: BTreeMap::from([("TEA-1".to_owned(), vec![at, at])]),
        };
        let stored = serde_json::to_value(&kept).unwrap();
        assert_eq!(stored["times"], json!([1_793_613_600_123_456_789i64]));
        assert_eq!(serde_json::from_value::<Kept>(stored).unwrap(), kept);
    }

    #[test]
    fn instants_an_earlier_release_stored_as_text_still_read() {
        let earlier = json!({"times": ["2026-11-02T10:00:00Z"],
                             "by_product": {"TEA-1": ["2026-11-02T10:00:00Z"]}});
        let kept: Kept = serde_json::from_value(earlier).unwrap();
        let at: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
        assert_eq!(kept.times, [at]);
        assert_eq!(kept.by_product["TEA-1"], [at]);
    }
}
