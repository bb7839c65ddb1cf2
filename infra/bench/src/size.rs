//! The size of an item as DynamoDB counts it for capacity units, from the item in DynamoDB's
//! JSON form (`{"pk": {"S": "…"}, …}`), by the rules DynamoDB documents:
//!
//! - each attribute counts its name's UTF-8 bytes plus its value;
//! - a string counts its UTF-8 bytes, a binary its bytes, a number 1 byte per two significant
//!   digits plus 1, a boolean or null 1 byte;
//! - a set counts its elements;
//! - a list or map counts 3 bytes, plus each element and 1 byte per element (a map's
//!   elements count their names too).

use serde_json::{Map, Value};

use base64::Engine as _;

/// The size in bytes of an item (a map of attribute names to typed values).
pub fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// The size in bytes of one typed value (`{"S": "…"}`), without its name.
pub fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(text)) => text.len() as u64,
        ("N", Value::String(number)) => number_size(number),
        ("B", Value::String(encoded)) => binary_size(encoded),
        ("BOOL", _) | ("NULL", _) => 1,
        ("SS", Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.len() as u64)
            .sum(),
        ("NS", Value::Array(list)) => list.iter().filter_map(Value::as_str).map(number_size).sum(),
        ("BS", Value::Array(list)) => list.iter().filter_map(Value::as_str).map(binary_size).sum(),
        ("L", Value::Array(list)) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<u64>(),
        ("M", Value::Object(map)) => {
            3 + map
                .iter()
                .map(|(name, v)| name.len() as u64 + value_size(v) + 1)
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// A number: 1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed).
fn number_size(number: &str) -> u64 {
    let digits: String = number
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let significant = digits.trim_start_matches('0');
    let significant = if significant.contains(|c| c != '0') {
        significant.trim_end_matches('0')
    } else {
        significant
    };
    (significant.len() as u64).div_ceil(2).max(1) + 1
}

/// A binary value, given base64-encoded as DynamoDB's JSON carries it: its decoded bytes.
fn binary_size(encoded: &str) -> u64 {
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map(|bytes| bytes.len() as u64)
        .unwrap_or(encoded.len() as u64 * 3 / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn size(item: Value) -> u64 {
        item_size(item.as_object().unwrap())
    }

    #[test]
    fn strings_count_their_name_and_their_bytes() {
        assert_eq!(size(json!({"pk": {"S": "CUSTOMER#1"}})), 2 + 10);
        assert_eq!(size(json!({"name": {"S": "Ёлка"}})), 4 + 8);
    }

    #[test]
    fn numbers_count_one_byte_per_two_significant_digits_plus_one() {
        assert_eq!(size(json!({"v": {"N": "7"}})), 1 + 2);
        assert_eq!(size(json!({"v": {"N": "1234"}})), 1 + 3);
        assert_eq!(size(json!({"v": {"N": "12300"}})), 1 + 3);
        assert_eq!(size(json!({"v": {"N": "0.0012"}})), 1 + 2);
        assert_eq!(size(json!({"v": {"N": "0"}})), 1 + 2);
    }

    #[test]
    fn lists_and_maps_count_three_bytes_and_one_per_element() {
        assert_eq!(size(json!({"l": {"L": []}})), 1 + 3);
        assert_eq!(
            size(json!({"m": {"M": {"ab": {"S": "xyz"}, "t": {"BOOL": true}}}})),
            1 + 3 + (2 + 3 + 1) + (1 + 1 + 1)
        );
        assert_eq!(
            size(json!({"l": {"L": [{"S": "a"}, {"NULL": true}]}})),
            1 + 3 + 2 + 2
        );
    }

    #[test]
    fn binaries_count_their_decoded_bytes() {
        assert_eq!(size(json!({"b": {"B": "AAECAw=="}})), 1 + 4);
    }
}
