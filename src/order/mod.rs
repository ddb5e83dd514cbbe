//! The create-order flow: the portal's ten calls as a plan, plus the money logic and
//! outcome checks that templates deliberately cannot express.
//!
//! The plan's edges are the contract's "depends on" column; eager scheduling then lets
//! fraud run beside pricing and shipping, and inventory beside everything after cart.

use crate::engine::hooks::Hooks;
use crate::engine::outcome::Outcome;
use crate::engine::scope::Scope;
use crate::error::{Error, ErrorKind};
use crate::plan::json::Json;
use crate::plan::value::Value;
use crate::plan::Plan;

/// The services of the order flow, in plan order.
pub const SERVICES: [&str; 10] = [
    "customer",
    "cart",
    "inventory",
    "pricing",
    "shipping",
    "fraud",
    "tax",
    "payment",
    "order",
    "notification",
];

/// A validated order request: `{ customerId, cartId, paymentMethodId, shippingOption? }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The customer placing the order.
    pub customer_id: String,
    /// The cart to check out.
    pub cart_id: String,
    /// The stored payment method to charge.
    pub payment_method_id: String,
    /// `standard` (the default) or `express`.
    pub shipping_option: String,
}

fn bad_input(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

impl OrderRequest {
    /// Reads and checks a request; anything unexpected is `INVALID_INPUT`.
    pub fn from_json(json: &Json) -> Result<OrderRequest, Error> {
        const FIELDS: [&str; 4] = ["customerId", "cartId", "paymentMethodId", "shippingOption"];
        let Json::Object(entries) = json else {
            return Err(bad_input(format!(
                "request must be an object {{ customerId, cartId, paymentMethodId, shippingOption? }}, not {}",
                json.type_name()
            )));
        };
        if let Some((key, _)) = entries.iter().find(|(k, _)| !FIELDS.contains(&k.as_str())) {
            return Err(bad_input(format!(
                "request.{key} is not an order field; expected {}",
                FIELDS.join(", ")
            )));
        }
        let required = |key: &str| -> Result<String, Error> {
            match json.get(key) {
                Some(Json::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                Some(Json::String(_)) => Err(bad_input(format!("request.{key} must not be empty"))),
                None | Some(Json::Null) => Err(bad_input(format!("request.{key} is missing"))),
                Some(other) => Err(bad_input(format!(
                    "request.{key} must be a string, not {}",
                    other.type_name()
                ))),
            }
        };
        let shipping_option = match json.get("shippingOption") {
            None | Some(Json::Null) => "standard".to_owned(),
            Some(Json::String(s)) if s == "standard" || s == "express" => s.clone(),
            Some(other) => {
                let shown = match other {
                    Json::String(s) => format!("\"{s}\""),
                    other => other.type_name().to_owned(),
                };
                return Err(bad_input(format!(
                    "request.shippingOption must be \"standard\" or \"express\", not {shown}"
                )));
            }
        };
        Ok(OrderRequest {
            customer_id: required("customerId")?,
            cart_id: required("cartId")?,
            payment_method_id: required("paymentMethodId")?,
            shipping_option,
        })
    }

    /// The request as the plan's `input`.
    pub fn to_input<V: Value>(&self) -> V {
        V::object(vec![
            (
                "customerId".into(),
                V::from_string(self.customer_id.clone()),
            ),
            ("cartId".into(), V::from_string(self.cart_id.clone())),
            (
                "paymentMethodId".into(),
                V::from_string(self.payment_method_id.clone()),
            ),
            (
                "shippingOption".into(),
                V::from_string(self.shipping_option.clone()),
            ),
        ])
    }
}

/// Where each service lives: `services[name]`, else `${baseUrl}/${name}`.
pub fn service_urls(
    services: &[(String, String)],
    base_url: Option<&str>,
) -> Result<Vec<String>, Error> {
    if let Some((name, _)) = services
        .iter()
        .find(|(n, _)| !SERVICES.contains(&n.as_str()))
    {
        return Err(bad_input(format!(
            "options.services.{name} is not a service of the order flow; expected {}",
            SERVICES.join(", ")
        )));
    }
    let check = |at: &str, url: &str| -> Result<String, Error> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') && !url.contains(['?', '#']) => {
                Ok(url.trim_end_matches('/').to_owned())
            }
            _ => Err(bad_input(format!(
                "{at} must be an absolute http(s) URL without query or fragment, such as \"https://api.example/{}\"; got \"{url}\"",
                at.rsplit('.').next().unwrap_or("service")
            ))),
        }
    };
    SERVICES
        .iter()
        .map(|name| match services.iter().find(|(n, _)| n == name) {
            Some((_, url)) => check(&format!("options.services.{name}"), url),
            None => match base_url {
                Some(base) => Ok(format!("{}/{name}", check("options.baseUrl", base)?)),
                None => Err(bad_input(format!(
                    "no URL for service `{name}`: set options.services.{name} or options.baseUrl"
                ))),
            },
        })
        .collect()
}

/// Checks that every service's URL (from [`service_urls`], in [`SERVICES`] order) is on
/// one of the `allowed` origins; `services` says which came from `options.services` (the
/// rest came from `options.baseUrl`). Fails with `INVALID_INPUT` naming the service, its
/// origin and the option to change.
pub fn check_origins(
    urls: &[String],
    services: &[(String, String)],
    allowed: &[String],
) -> Result<(), Error> {
    for (name, url) in SERVICES.iter().zip(urls) {
        let origin = crate::plan::template::origin_of(url).unwrap_or_default();
        if !allowed.contains(&origin) {
            let option = if services.iter().any(|(n, _)| n == name) {
                format!("options.services.{name}")
            } else {
                "options.baseUrl".to_owned()
            };
            return Err(bad_input(format!(
                "service `{name}` is at {origin} ({option}), which is not in options.allowedOrigins ({}); \
                 add it there, or change {option}",
                allowed.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

/// Braces in a base URL are literal text, not placeholders.
fn literal(url: &str) -> String {
    url.replace('{', "{{").replace('}', "}}")
}

fn s(text: &str) -> Json {
    Json::String(text.to_owned())
}

fn obj(entries: &[(&str, Json)]) -> Json {
    Json::Object(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// One call of the order plan; `after` lists dependencies no template names.
fn call(method: &str, url: String, body: Option<Json>, after: &[&str]) -> Json {
    let mut entries = vec![("method", s(method)), ("url", Json::String(url))];
    if let Some(body) = body {
        entries.push(("body", body));
    }
    if !after.is_empty() {
        entries.push(("after", Json::Array(after.iter().map(|a| s(a)).collect())));
    }
    obj(&entries)
}

/// `call` with the write that undoes it when the order cannot complete: the reservation
/// is released and the authorization voided, so a failed order holds neither stock nor money.
fn undone_by(call: Json, method: &str, url: String) -> Json {
    with(
        call,
        "compensate",
        obj(&[("method", s(method)), ("url", Json::String(url))]),
    )
}

/// `call` with one more field.
fn with(mut call: Json, key: &str, value: Json) -> Json {
    if let Json::Object(fields) = &mut call {
        fields.push((key.to_owned(), value));
    }
    call
}

/// The order flow as a plan over the given service base URLs (in [`SERVICES`] order).
///
/// Fails only if a base URL that passed [`service_urls`] still makes a template invalid;
/// the error names that template rather than panicking the wasm instance.
pub fn plan(urls: &[String]) -> Result<Plan, Error> {
    let u: Vec<String> = urls.iter().map(|s| literal(s)).collect();
    let calls = [
        (
            "customer",
            call(
                "GET",
                format!("{}/customers/{{input.customerId}}", u[0]),
                None,
                &[],
            ),
        ),
        (
            "cart",
            call("GET", format!("{}/carts/{{input.cartId}}", u[1]), None, &[]),
        ),
        (
            "inventory",
            undone_by(
                call(
                    "POST",
                    format!("{}/reservations", u[2]),
                    Some(obj(&[
                        ("cartId", s("{input.cartId}")),
                        ("items", s("{cart.items}")),
                    ])),
                    &[],
                ),
                "DELETE",
                format!("{}/reservations/{{inventory.reservationId}}", u[2]),
            ),
        ),
        (
            "pricing",
            call(
                "POST",
                format!("{}/quotes", u[3]),
                Some(obj(&[
                    ("items", s("{cart.items}")),
                    ("tier", s("{customer.tier}")),
                ])),
                &[],
            ),
        ),
        (
            "shipping",
            call(
                "POST",
                format!("{}/quotes", u[4]),
                Some(obj(&[
                    ("items", s("{cart.items}")),
                    ("address", s("{customer.address}")),
                    ("option", s("{input.shippingOption}")),
                ])),
                &[],
            ),
        ),
        (
            "fraud",
            call(
                "POST",
                format!("{}/checks", u[5]),
                Some(obj(&[
                    ("customerId", s("{input.customerId}")),
                    ("email", s("{customer.email}")),
                    ("cartId", s("{input.cartId}")),
                ])),
                &[],
            ),
        ),
        // tax, payment and order compute money, so their bodies come from OrderHooks.
        (
            "tax",
            call(
                "POST",
                format!("{}/quotes", u[6]),
                None,
                &["pricing", "customer"],
            ),
        ),
        (
            "payment",
            undone_by(
                call(
                    "POST",
                    format!("{}/authorizations", u[7]),
                    None,
                    &["pricing", "shipping", "tax", "fraud"],
                ),
                "POST",
                format!("{}/authorizations/{{payment.authorizationId}}/void", u[7]),
            ),
        ),
        (
            "order",
            call(
                "POST",
                format!("{}/orders", u[8]),
                None,
                &["inventory", "payment"],
            ),
        ),
        // A confirmation e-mail that fails must not undo a placed order.
        (
            "notification",
            with(
                call(
                    "POST",
                    format!("{}/notifications", u[9]),
                    Some(obj(&[
                        ("orderId", s("{order.orderId}")),
                        ("email", s("{customer.email}")),
                        ("template", s("order-confirmation")),
                    ])),
                    &[],
                ),
                "optional",
                Json::Bool(true),
            ),
        ),
    ];
    let json = obj(&[("calls", obj(&calls))]);
    Plan::from_json(&json).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("a service URL makes the order plan invalid: {e}"),
        )
    })
}

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

/// The order total in cents: `subtotal - discount + shipping.cost + tax.amount`.
fn total<V: Value>(scope: &Scope<'_, V>, call: &str) -> Result<i64, Error> {
    Ok(
        cents(scope, call, "pricing", "subtotal")? - cents(scope, call, "pricing", "discount")?
            + cents(scope, call, "shipping", "cost")?
            + cents(scope, call, "tax", "amount")?,
    )
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

/// The order flow's money and outcome rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrderHooks;

impl<V: Value> Hooks<V> for OrderHooks {
    /// Money, outcomes and the result read every reply but the notification's.
    fn needs_body(&self, call: &str) -> bool {
        call != "notification"
    }

    fn body(&self, call: &str, scope: &Scope<'_, V>) -> Option<Result<V, Error>> {
        let input = |key: &str| scope.get(call, "input", &[key]);
        let build = || -> Result<V, Error> {
            Ok(match call {
                "tax" => {
                    let amount = cents(scope, call, "pricing", "subtotal")?
                        - cents(scope, call, "pricing", "discount")?;
                    V::object(vec![
                        ("amount".into(), V::from_f64(amount as f64)),
                        ("address".into(), scope.get(call, "customer", &["address"])?),
                    ])
                }
                "payment" => V::object(vec![
                    ("customerId".into(), input("customerId")?),
                    ("paymentMethodId".into(), input("paymentMethodId")?),
                    ("amount".into(), V::from_f64(total(scope, call)? as f64)),
                    (
                        "currency".into(),
                        scope.get(call, "pricing", &["currency"])?,
                    ),
                ]),
                "order" => V::object(vec![
                    ("customerId".into(), input("customerId")?),
                    ("cartId".into(), input("cartId")?),
                    (
                        "reservationId".into(),
                        scope.get(call, "inventory", &["reservationId"])?,
                    ),
                    (
                        "authorizationId".into(),
                        scope.get(call, "payment", &["authorizationId"])?,
                    ),
                    ("total".into(), V::from_f64(total(scope, call)? as f64)),
                    (
                        "currency".into(),
                        scope.get(call, "pricing", &["currency"])?,
                    ),
                ]),
                _ => unreachable!("only tax, payment and order have computed bodies"),
            })
        };
        matches!(call, "tax" | "payment" | "order").then(build)
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

/// The resolved value of `composeOrder`, without `calls` (the bindings add the records).
///
/// Called only when the composition succeeded, so every required reply is present.
pub fn summary<V: Value>(
    plan: &Plan,
    input: &V,
    outcome: &Outcome<V>,
) -> Result<Vec<(String, V)>, Error> {
    let scope = Scope::new(plan, input, &outcome.replies);
    let get = |root: &str, key: &str| scope.get("order", root, &[key]);
    let total = total(&scope, "order")?;
    let notification = plan
        .position("notification")
        .expect("order plan has notification");
    let notification = match &outcome.replies[notification] {
        Some(reply) => {
            let mut entries = vec![("sent".to_owned(), V::from_json(&Json::Bool(true)))];
            if let Some(id) = reply.field("notificationId") {
                entries.push(("notificationId".into(), id));
            }
            V::object(entries)
        }
        None => {
            let record = &outcome.records[notification];
            let reason = match (record.status, &record.error) {
                (Some(status), _) => format!("the notification service answered HTTP {status}"),
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
    };
    Ok(vec![
        ("orderId".into(), get("order", "orderId")?),
        ("status".into(), get("order", "status")?),
        ("total".into(), V::from_f64(total as f64)),
        ("currency".into(), get("pricing", "currency")?),
        ("customer".into(), scope.get("order", "customer", &[])?),
        ("items".into(), get("cart", "items")?),
        ("reservationId".into(), get("inventory", "reservationId")?),
        ("authorizationId".into(), get("payment", "authorizationId")?),
        (
            "shipping".into(),
            V::object(vec![
                ("cost".into(), get("shipping", "cost")?),
                ("carrier".into(), get("shipping", "carrier")?),
            ]),
        ),
        ("tax".into(), get("tax", "amount")?),
        ("notification".into(), notification),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record::CallState;
    use crate::engine::run::run;
    use crate::engine::settings::Schedule;
    use crate::engine::transport::{Reply, TransportError};
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

    #[test]
    fn request_defaults_and_rejections() {
        assert_eq!(request().shipping_option, "standard");
        let bad = |s: &str| {
            OrderRequest::from_json(&json(s))
                .unwrap_err()
                .message()
                .to_owned()
        };
        assert_eq!(bad("[]"), "request must be an object { customerId, cartId, paymentMethodId, shippingOption? }, not an array");
        assert_eq!(
            bad(r#"{"cartId":"k","paymentMethodId":"p"}"#),
            "request.customerId is missing"
        );
        assert_eq!(
            bad(r#"{"customerId":" ","cartId":"k","paymentMethodId":"p"}"#),
            "request.customerId must not be empty"
        );
        assert!(
            bad(r#"{"customerId":"c","cartId":"k","paymentMethodId":"p","shippingOption":1}"#)
                .ends_with("not a number")
        );
    }

    #[test]
    fn service_urls_from_services_and_gateway() {
        let u = service_urls(
            &[("tax".into(), "http://tax.local/v2/".into())],
            Some("https://gw.example"),
        )
        .unwrap();
        assert_eq!(u[0], "https://gw.example/customer");
        assert_eq!(u[6], "http://tax.local/v2");
        let e = service_urls(&[("taxes".into(), "http://x".into())], None).unwrap_err();
        assert!(e
            .message()
            .starts_with("options.services.taxes is not a service"));
        let e = service_urls(&[], None).unwrap_err();
        assert_eq!(
            e.message(),
            "no URL for service `customer`: set options.services.customer or options.baseUrl"
        );
        let e = service_urls(&[("cart".into(), "ftp://x".into())], Some("https://gw")).unwrap_err();
        assert!(e
            .message()
            .starts_with("options.services.cart must be an absolute http(s) URL"));
        // Braces in a base URL stay literal.
        let u = service_urls(&[], Some("https://gw.example/{v}")).unwrap();
        let p = plan(&u).unwrap();
        assert_eq!(
            p.calls()[0].url_source,
            "https://gw.example/{{v}}/customer/customers/{input.customerId}"
        );
    }

    #[test]
    fn the_plan_has_the_contract_dependencies_and_stages() {
        let p = plan(&urls()).unwrap();
        let deps = |name: &str| -> Vec<&str> {
            let c = &p.calls()[p.position(name).unwrap()];
            let mut d: Vec<usize> = c.deps.clone();
            d.sort_unstable();
            d.iter().map(|&d| p.calls()[d].name.as_str()).collect()
        };
        assert_eq!(deps("inventory"), ["cart"]);
        assert_eq!(deps("pricing"), ["customer", "cart"]);
        assert_eq!(deps("fraud"), ["customer"]);
        assert_eq!(deps("tax"), ["customer", "pricing"]);
        assert_eq!(deps("payment"), ["pricing", "shipping", "fraud", "tax"]);
        assert_eq!(deps("order"), ["inventory", "payment"]);
        assert_eq!(deps("notification"), ["customer", "order"]);
        assert_eq!(
            p.stage_names(),
            vec![
                vec!["customer", "cart"],
                vec!["inventory", "pricing", "shipping", "fraud"],
                vec!["tax"],
                vec!["payment"],
                vec!["order"],
                vec!["notification"]
            ]
        );
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

    #[test]
    fn services_must_be_on_allowed_origins() {
        let services = vec![("fraud".to_owned(), "https://fraud.internal/v2".to_owned())];
        let urls = service_urls(&services, Some("https://gateway.internal/api")).unwrap();
        let allowed = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_origins(
            &urls,
            &services,
            &allowed(&["https://gateway.internal", "https://fraud.internal"])
        )
        .is_ok());
        let e =
            check_origins(&urls, &services, &allowed(&["https://gateway.internal"])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            e.message(),
            "service `fraud` is at https://fraud.internal (options.services.fraud), which is not in \
             options.allowedOrigins (https://gateway.internal); add it there, or change options.services.fraud"
        );
        let e = check_origins(&urls, &services, &allowed(&["https://fraud.internal"])).unwrap_err();
        assert!(e.message().starts_with(
            "service `customer` is at https://gateway.internal (options.baseUrl), which is not in"
        ));
    }
}
