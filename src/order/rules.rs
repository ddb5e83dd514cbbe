//! The order flow's rules that templates deliberately cannot express: the money in the
//! tax, payment and order bodies (`total = subtotal - discount + shipping.cost +
//! tax.amount`, in integer cents), and the outcomes a 200 can carry (a fraud decision
//! other than `approve`, a declined payment).

use crate::engine::hooks::Hooks;
use crate::engine::scope::Scope;
use crate::error::{Error, ErrorKind};
use crate::plan::value::Value;
use Source::{At, Net, Object, Reply, Total};

/// Integer cents at `root.key`, or a `BAD_RESPONSE` saying what was wrong.
fn cents<V: Value>(scope: &Scope<'_, V>, call: &str, root: &str, key: &str) -> Result<i64, Error> {
    let v = scope.get(call, root, &[key])?;
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(n as i64),
        _ => Err(Error::new(
            ErrorKind::BadResponse,
            format!("call `{call}` needs integer cents in `{root}.{key}`, but the reply has something else"),
        )
        .in_call(call)),
    }
}

/// The amount before shipping and tax, in cents: `subtotal - discount`.
fn net<V: Value>(scope: &Scope<'_, V>, call: &str) -> Result<i64, Error> {
    Ok(cents(scope, call, "pricing", "subtotal")? - cents(scope, call, "pricing", "discount")?)
}

/// The order total in cents: `subtotal - discount + shipping.cost + tax.amount`.
pub(super) fn total<V: Value>(scope: &Scope<'_, V>, call: &str) -> Result<i64, Error> {
    Ok(net(scope, call)?
        + cents(scope, call, "shipping", "cost")?
        + cents(scope, call, "tax", "amount")?)
}

fn string_at<V: Value>(call: &str, reply: &V, key: &str) -> Result<String, Error> {
    reply.field(key).and_then(|v| v.as_string()).ok_or_else(|| {
        Error::new(
            ErrorKind::BadResponse,
            format!("the reply of `{call}` has no string `{key}`"),
        )
        .in_call(call)
    })
}

/// Where a field of a computed body (or of the order `composeOrder` resolves) comes from.
#[derive(Clone, Copy)]
pub(super) enum Source {
    /// `root.key`: the request's (`input`) or a reply's field, as it is.
    At(&'static str, &'static str),
    /// The reply of `root`, whole.
    Reply(&'static str),
    /// An object of these fields.
    Object(&'static [(&'static str, Source)]),
    /// [`net`], in cents.
    Net,
    /// [`total`], in cents.
    Total,
}

/// tax: `{ amount: subtotal - discount, address }`.
const TAX: &[(&str, Source)] = &[("amount", Net), ("address", At("customer", "address"))];

/// payment: `{ customerId, paymentMethodId, amount: total, currency }`.
const PAYMENT: &[(&str, Source)] = &[
    ("customerId", At("input", "customerId")),
    ("paymentMethodId", At("input", "paymentMethodId")),
    ("amount", Total),
    ("currency", At("pricing", "currency")),
];

/// order: `{ customerId, cartId, reservationId, authorizationId, total, currency }`.
const ORDER: &[(&str, Source)] = &[
    ("customerId", At("input", "customerId")),
    ("cartId", At("input", "cartId")),
    ("reservationId", At("inventory", "reservationId")),
    ("authorizationId", At("payment", "authorizationId")),
    ("total", Total),
    ("currency", At("pricing", "currency")),
];

/// The fields `fields` names, read in their order for `call` (which errors name): one
/// loop for every computed body and the order, rather than a function of inlined reads
/// each, with its own early returns.
pub(super) fn read_fields<V: Value>(
    scope: &Scope<'_, V>,
    call: &str,
    fields: &[(&str, Source)],
) -> Result<Vec<(String, V)>, Error> {
    let mut entries = Vec::with_capacity(fields.len());
    for &(key, source) in fields {
        let value = match source {
            At(root, field) => scope.get(call, root, &[field])?,
            Reply(root) => scope.get(call, root, &[])?,
            Object(inner) => V::object(read_fields(scope, call, inner)?),
            Net => V::from_f64(net(scope, call)? as f64),
            Total => V::from_f64(total(scope, call)? as f64),
        };
        entries.push((key.to_owned(), value));
    }
    Ok(entries)
}

/// The order flow's money and outcome rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrderHooks;

impl<V: Value> Hooks<V> for OrderHooks {
    /// Money, outcomes and the result read every reply but the notification's.
    fn needs_body(&self, call: &str) -> bool {
        call != "notification"
    }

    fn body(&self, call: &str, scope: &Scope<'_, V>) -> Option<Result<V, Error>> {
        let fields = match call {
            "tax" => TAX,
            "payment" => PAYMENT,
            "order" => ORDER,
            _ => return None,
        };
        Some(read_fields(scope, call, fields).map(V::object))
    }

    fn check(&self, call: &str, reply: &V) -> Result<(), Error> {
        match call {
            "fraud" => match string_at(call, reply, "decision")?.as_str() {
                "approve" => Ok(()),
                decision => Err(Error::new(
                    ErrorKind::FraudRejected,
                    format!("the fraud check did not approve the order (decision: {decision}); payment was not sent"),
                )),
            },
            "payment" => match string_at(call, reply, "status")?.as_str() {
                "authorized" => Ok(()),
                "declined" => Err(Error::new(
                    ErrorKind::PaymentDeclined,
                    "the payment was declined; no order was created",
                )),
                other => Err(Error::new(
                    ErrorKind::BadResponse,
                    format!("the reply of `payment` has status `{other}`; expected `authorized` or `declined`"),
                )),
            },
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::outcome::Outcome;
    use crate::engine::record::CallState;
    use crate::engine::run::run;
    use crate::engine::settings::Schedule;
    use crate::engine::transport::{Reply, TransportError};
    use crate::order::{plan, service_urls, summary, OrderRequest};
    use crate::plan::json::Json;
    use crate::plan::Plan;
    use crate::tests::sim::json;
    use crate::tests::sim::{Answer, Sim};

    fn urls() -> Vec<String> {
        service_urls(&[], Some("https://gw.example/api")).unwrap()
    }

    /// The order services' contract, with `fraud` and `payment` answers to choose.
    fn services(decision: &'static str, payment: &'static str) -> Sim {
        Sim::new(move |req| -> Answer {
            let path = req.url.trim_start_matches("https://gw.example/api/");
            let body = match path.split('/').next().unwrap() {
                "customer" => {
                    r#"{"id":"c1","email":"c1@example.test","tier":"gold","address":{"city":"X"}}"#
                        .to_owned()
                }
                "cart" => r#"{"id":"k1","items":[{"sku":"A","quantity":2}]}"#.to_owned(),
                "inventory" => r#"{"reservationId":"res-1"}"#.to_owned(),
                "pricing" => r#"{"currency":"EUR","subtotal":10000,"discount":1000}"#.to_owned(),
                "shipping" => r#"{"cost":599,"carrier":"Parcelway"}"#.to_owned(),
                "fraud" => format!(r#"{{"decision":"{decision}"}}"#),
                "tax" => r#"{"amount":742}"#.to_owned(),
                "payment" => format!(r#"{{"authorizationId":"auth-1","status":"{payment}"}}"#),
                "order" => r#"{"orderId":"ord-1","status":"confirmed"}"#.to_owned(),
                "notification" => return (5.0, Err(TransportError::Status(503))),
                other => panic!("unexpected {other}"),
            };
            (
                10.0,
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: json(&body),
                    replayed: false,
                }),
            )
        })
    }

    fn request() -> OrderRequest {
        OrderRequest::from_json(&json(
            r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm"}"#,
        ))
        .unwrap()
    }

    fn go(sim: &Sim) -> (Plan, Json, Outcome<Json>) {
        let p = plan(&urls()).unwrap();
        let input: Json = request().to_input();
        let out = sim.block_on(run(
            &p,
            &input,
            sim,
            sim,
            &OrderHooks,
            Schedule::Eager,
            futures::future::pending(),
        ));
        (p, input, out)
    }

    #[test]
    fn money_flows_into_tax_payment_and_order_bodies() {
        let sim = services("approve", "authorized");
        let (p, input, out) = go(&sim);
        assert!(out.error.is_none(), "{:?}", out.error);
        let body = |svc: &str| {
            sim.seen()
                .into_iter()
                .find(|s| s.request.url.contains(&format!("/api/{svc}/")))
                .and_then(|s| s.request.body)
                .unwrap()
        };
        assert_eq!(
            body("tax"),
            json(r#"{"amount":9000,"address":{"city":"X"}}"#)
        );
        assert_eq!(
            body("payment"),
            json(r#"{"customerId":"c1","paymentMethodId":"pm","amount":10341,"currency":"EUR"}"#)
        );
        assert_eq!(
            body("order"),
            json(
                r#"{"customerId":"c1","cartId":"k1","reservationId":"res-1","authorizationId":"auth-1","total":10341,"currency":"EUR"}"#
            )
        );
        assert_eq!(
            body("shipping").get("option"),
            Some(&Json::String("standard".into()))
        );
        let summary = summary(&p, &input, &out).unwrap();
        let get = |k: &str| {
            summary
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("total"), Json::Number(10341.0));
        assert_eq!(get("tax"), Json::Number(742.0));
        assert_eq!(
            get("shipping"),
            json(r#"{"cost":599,"carrier":"Parcelway"}"#)
        );
        assert_eq!(
            get("notification"),
            json(
                r#"{"sent":false,"state":"unknown","error":"the notification service answered HTTP 503"}"#
            )
        );
        assert_eq!(out.records[9].state, CallState::Unknown);
    }

    #[test]
    fn fraud_other_than_approve_rejects_before_payment() {
        for decision in ["reject", "review"] {
            let sim = services(decision, "authorized");
            let (_, _, out) = go(&sim);
            let e = out.error.unwrap();
            assert_eq!(
                (e.kind(), e.call()),
                (ErrorKind::FraudRejected, Some("fraud"))
            );
            assert!(e.message().contains(decision));
            assert!(!sim
                .seen()
                .iter()
                .any(|s| s.request.url.contains("/payment/")));
        }
    }

    #[test]
    fn a_declined_payment_creates_no_order() {
        let sim = services("approve", "declined");
        let (_, _, out) = go(&sim);
        let e = out.error.unwrap();
        assert_eq!(
            (e.kind(), e.call()),
            (ErrorKind::PaymentDeclined, Some("payment"))
        );
        assert!(!sim.seen().iter().any(|s| s.request.url.contains("/order/")));
    }
}
