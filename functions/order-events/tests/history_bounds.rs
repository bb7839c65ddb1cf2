//! A customer's stored record stays within fixed bounds however long their history: on the
//! twin, which keeps items as DynamoDB stores them, no item of any history outgrows 64 KB, and
//! the profile after hundreds of orders is the size it was after a few dozen.

use aftercare_journey::ids::CustomerId;
use aftercare_twin_fixtures::{order_history, varied_basket, Twin};
use proptest::prelude::*;
use serde_json::json;

/// DynamoDB's item limit is 400 KB; ours is well inside it.
const ITEM_LIMIT: usize = 64 * 1024;

/// The size DynamoDB counts for each of `customer`'s items, with its sort key.
fn sizes(twin: &Twin, customer: &str) -> Vec<(String, usize)> {
    let id = CustomerId::parse(customer).unwrap();
    twin.store
        .stored_items(&id)
        .iter()
        .map(|item| {
            let sk = item["sk"].as_s().unwrap().clone();
            (sk, aftercare_adapters::memory::item_size(item))
        })
        .collect()
}

fn profile_size(twin: &Twin, customer: &str) -> usize {
    sizes(twin, customer)
        .into_iter()
        .find(|(sk, _)| sk == "PROFILE")
        .map(|(_, size)| size)
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_profile_after_a_thousand_orders_is_the_size_it_was_after_a_hundred() {
    let runtime = runtime();
    let size_after = |orders| {
        runtime.block_on(async {
            let twin = Twin::new();
            order_history(&twin, "cus-long", orders, &varied_basket).await;
            let largest = sizes(&twin, "cus-long").into_iter().max_by_key(|(_, s)| *s);
            assert!(
                largest.as_ref().is_some_and(|(_, s)| *s < ITEM_LIMIT),
                "{largest:?}"
            );
            profile_size(&twin, "cus-long")
        })
    };
    let (hundred, thousand) = (size_after(100), size_after(1_000));
    assert!(
        thousand <= hundred + hundred / 10,
        "the profile grew from {hundred} bytes after 100 orders to {thousand} after 1,000"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn no_item_outgrows_64_kb_whatever_the_customer_buys(
        orders in 1u32..160,
        products in 1u32..400,
        categories in 1u32..120,
        name_length in 1usize..300,
        lines in 1u32..12,
    ) {
        let basket = move |k: u32| {
            let items: Vec<_> = (0..lines)
                .map(|l| {
                    let n = k.wrapping_mul(7).wrapping_add(l * 13) % products;
                    json!({"sku": format!("P-{n}"), "name": format!("{n} {}", "Ё".repeat(name_length)),
                           "category": format!("c{}", n % categories), "quantity": 1 + (k + l) % 9,
                           "unit_price": "1.25", "replenish_every_days": 5 + n % 200})
                })
                .collect();
            json!(items)
        };
        let oversized = runtime().block_on(async {
            let twin = Twin::new();
            order_history(&twin, "cus-prop", orders, &basket).await;
            sizes(&twin, "cus-prop").into_iter().filter(|(_, s)| *s >= ITEM_LIMIT).collect::<Vec<_>>()
        });
        prop_assert!(oversized.is_empty(), "{oversized:?}");
    }
}
