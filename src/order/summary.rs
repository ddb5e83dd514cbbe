//! What `composeOrder` resolves: the order, read from the replies of a composition that
//! succeeded, and what became of its confirmation e-mail.

use super::rules::Source::{self, At, Object, Reply};
use super::rules::{read_fields, total};
use crate::engine::outcome::Outcome;
use crate::engine::record::CallRecord;
use crate::engine::scope::Scope;
use crate::error::Error;
use crate::plan::json::Json;
use crate::plan::value::Value;
use crate::plan::Plan;

/// The resolved value of `composeOrder`, without `calls` (the bindings add the records).
///
/// Called only when the composition succeeded, so every required reply is present.
pub fn summary<V: Value>(
    plan: &Plan,
    input: &V,
    outcome: &Outcome<V>,
) -> Result<Vec<(String, V)>, Error> {
    let scope = Scope::new(plan, input, &outcome.replies);
    let total = total(&scope, "order")?;
    let notification = plan
        .position("notification")
        .expect("order plan has notification");
    let notification = match &outcome.replies[notification] {
        Some(reply) => sent(reply),
        None => not_sent(&outcome.records[notification]),
    };
    let mut order = read_fields(&scope, "order", ORDER)?;
    // After `status`, as the result lists its fields.
    order.insert(2, ("total".into(), V::from_f64(total as f64)));
    order.push(("notification".into(), notification));
    Ok(order)
}

/// The fields of the order read from the replies, in the result's order (without
/// `total`, computed first, and `notification`).
const ORDER: &[(&str, Source)] = &[
    ("orderId", At("order", "orderId")),
    ("status", At("order", "status")),
    ("currency", At("pricing", "currency")),
    ("customer", Reply("customer")),
    ("items", At("cart", "items")),
    ("reservationId", At("inventory", "reservationId")),
    ("authorizationId", At("payment", "authorizationId")),
    (
        "shipping",
        Object(&[
            ("cost", At("shipping", "cost")),
            ("carrier", At("shipping", "carrier")),
        ]),
    ),
    ("tax", At("tax", "amount")),
];

/// `{ sent: true, notificationId? }`, from the notification service's reply.
fn sent<V: Value>(reply: &V) -> V {
    let mut entries = vec![("sent".to_owned(), V::from_json(&Json::Bool(true)))];
    if let Some(id) = reply.field("notificationId") {
        entries.push(("notificationId".into(), id));
    }
    V::object(entries)
}

/// `{ sent: false, state, error }`: how the notification call ended, and why.
fn not_sent<V: Value>(record: &CallRecord) -> V {
    let reason = match (record.status, &record.error) {
        (Some(status), _) => format!(
            "the notification service answered HTTP {}",
            u32::from(status)
        ),
        (None, Some(error)) => error.message().to_owned(),
        (None, None) => format!(
            "the notification was not delivered ({})",
            record.state.as_str()
        ),
    };
    V::object(vec![
        ("sent".into(), V::from_json(&Json::Bool(false))),
        ("state".into(), V::from_string(record.state.as_str().into())),
        ("error".into(), V::from_string(reason)),
    ])
}
