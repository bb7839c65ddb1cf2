//! Ratings through the feedback function, for the tests that need a rated order (an unhappy
//! rating opens the issue a helpdesk resolves).

use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::links::{sign, LinkClaims};
use aftercare_journey::message::MessageKind;
use aftercare_journey::signing::SigningKey;
use lambda_http::http::Request;
use lambda_http::Body;
use serde_json::{json, Value};

use crate::{at, World};

/// The placed and delivered events of `order` for customer 1 of `world`: one tea that runs
/// out after 30 days, no total.
pub fn delivered(world: &World, order: &str) -> [Value; 2] {
    let mut placed = world.event(
        "placed",
        1,
        order,
        &format!("{order}-placed"),
        "2026-11-01T09:00:00Z",
    );
    placed["items"] = json!([{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "replenish_every_days": 30}]);
    placed.as_object_mut().unwrap().remove("total");
    let mut delivered = placed.clone();
    delivered["status"] = json!("delivered");
    delivered["event_id"] = json!(format!("{order}-delivered"));
    delivered["occurred_at"] = json!("2026-11-03T15:00:00Z");
    [placed, delivered]
}

/// A rating link's token for `order` of customer 1, signed with `key` or else the world's
/// current link key.
pub fn token(world: &World, order: &str, key: Option<SigningKey>) -> String {
    let key = key.unwrap_or_else(|| world.config.settings.links.as_ref().unwrap().keys[0].clone());
    sign(
        &key,
        &LinkClaims {
            customer: CustomerId::parse("cus-1").unwrap(),
            order: OrderId::parse(order).unwrap(),
            kind: MessageKind::ReviewRequest,
            expires_at: at("2026-12-31T00:00:00Z"),
        },
    )
}

/// A click on a rating link: the status and the page the feedback function answered.
pub async fn click(world: &World, token: &str, score: &str) -> (u16, String) {
    let request = Request::builder()
        .method("GET")
        .uri(format!("/rate?token={token}&score={score}"))
        .body(Body::Empty)
        .unwrap();
    let response = world.feedback.handle(request).await;
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (response.status().as_u16(), body)
}
