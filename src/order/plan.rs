//! The order flow's plan, as data: the document `plan.json`, embedded in the crate, read
//! over the services' base URLs into the [`Plan`] that `composeOrder` runs and
//! `orderPlan` returns.
//!
//! The document is written in the plan format (docs/options.md), with two differences:
//!
//! - A call names its `service` and its `path` on that service, never a URL; a
//!   compensation's `path` is on its call's service. The base URL is joined in here, from
//!   `options.services` or `options.baseUrl`, with its braces as literal text: a scheme or
//!   host can come neither from a placeholder nor from the document.
//! - `"computedBody": true` marks the calls whose body the order flow's rules compute
//!   (money: tax, payment, order; see [`OrderHooks`](super::OrderHooks)). Templates
//!   deliberately cannot do arithmetic, so those calls have no body in the plan.
//!
//! The dependencies are the contract's "depends on" column: the calls the templates name,
//! plus `after` where no template names them.

use super::document::document;
use super::SERVICES;
use crate::error::{Error, ErrorKind};
use crate::plan::json::Json;
use crate::plan::Plan;

/// The order flow as a plan over the given service base URLs (in [`SERVICES`] order).
///
/// Fails only if a base URL that passed [`service_urls`](super::service_urls) still makes
/// a template invalid; the error names that template rather than panicking the wasm
/// instance.
pub fn plan(urls: &[String]) -> Result<Plan, Error> {
    read(&calls(urls)?)
}

/// The same plan as [`plan`] as the plan object it is read from (`{ "calls": { ... } }`),
/// for handing out: the same calls, in the same order, checked the same way.
pub fn plan_json(urls: &[String]) -> Result<Json, Error> {
    let json = calls(urls)?;
    read(&json)?;
    Ok(json)
}

/// Reads the plan object. The document is tested with the crate, so only a base URL can
/// make it invalid: the caller's input.
fn read(json: &Json) -> Result<Plan, Error> {
    Plan::from_json(json).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("a service URL makes the order plan invalid: {e}"),
        )
    })
}

/// The document's calls over the base URLs, as a plan object.
fn calls(urls: &[String]) -> Result<Json, Error> {
    let document = document();
    let Some(Json::Object(calls)) = document.get("calls") else {
        return Err(broken("calls".into()));
    };
    // Loops here rather than `collect::<Result<Vec<_>, _>>()`, whose adapter is compiled
    // anew for every iterator it collects.
    let mut planned = Vec::with_capacity(calls.len());
    for (name, spec) in calls {
        let Some(call) = call(spec, urls) else {
            return Err(broken(format!("calls.{name}")));
        };
        planned.push((name.clone(), call));
    }
    Ok(Json::Object(vec![(
        "calls".to_owned(),
        Json::Object(planned),
    )]))
}

/// A mistake in the document itself: a bug of the crate, which its tests catch.
fn broken(at: String) -> Error {
    Error::new(
        ErrorKind::InvalidPlan,
        format!(
            "the order plan document (src/order/plan.json) is broken at {at}: each call names \
             a `service` of the order flow and a `path` starting with `/` on it, never a `url`"
        ),
    )
}

/// One call of the document as a plan call, or `None` if the document is broken there
/// (a bug of the crate, which its tests catch).
fn call(spec: &Json, urls: &[String]) -> Option<Json> {
    let Some(Json::String(service)) = spec.get("service") else {
        return None;
    };
    let url = urls.get(SERVICES.iter().position(|s| s == service)?)?;
    on_service(spec, &url.replace('{', "{{").replace('}', "}}"))
}

/// `spec` with its `path` joined to `base` as its `url`, and so its compensation's: a
/// path starts with `/`, so it only ever adds to the base URL. `service` and
/// `computedBody` are the document's own words, not the plan format's.
fn on_service(spec: &Json, base: &str) -> Option<Json> {
    let Json::Object(fields) = spec else {
        return None;
    };
    let mut kept = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        let field = match (key.as_str(), value) {
            ("service" | "computedBody", _) => continue,
            ("path", Json::String(path)) if path.starts_with('/') => {
                ("url".to_owned(), Json::String(format!("{base}{path}")))
            }
            ("path" | "url", _) => return None,
            ("compensate", _) => (key.clone(), on_service(value, base)?),
            _ => (key.clone(), value.clone()),
        };
        kept.push(field);
    }
    Some(Json::Object(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::Hooks;
    use crate::engine::scope::Scope;
    use crate::order::{service_urls, OrderHooks};

    fn urls() -> Vec<String> {
        service_urls(&[], Some("https://gw.example/api")).unwrap()
    }

    /// A URL of the plan as the README writes it: the path on its service, placeholders
    /// without their root (`{input.cartId}` is `{cartId}`).
    fn contract_path(url: &str, service: &str) -> String {
        let path = url
            .strip_prefix(&format!("https://gw.example/api/{service}"))
            .unwrap_or_else(|| panic!("{url} is not on the {service} service"));
        let mut out = String::new();
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            let dot = rest[open..].find('.').expect("a placeholder has a root") + open;
            out.push_str(&rest[..=open]);
            rest = &rest[dot + 1..];
        }
        out + rest
    }

    /// The keys of a body as the README writes it: `{cartId, items}`, `{amount: total, ...}`.
    fn contract_keys(body: &str) -> Vec<String> {
        let inner = body
            .trim_matches('`')
            .trim_start_matches('{')
            .trim_end_matches('}');
        inner
            .split(", ")
            .map(|entry| entry.split(':').next().unwrap().trim().to_owned())
            .collect()
    }

    /// README's table of the ten services ("composeOrder: request, result, services"):
    /// per row, the service, its request (`POST /reservations`), what it depends on and
    /// the keys of the body it sends.
    fn readme_contract() -> Vec<(String, String, Vec<String>, Vec<String>)> {
        include_str!("../../README.md")
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let [_, service, request, depends, body, _] = cells[..] else {
                    return None;
                };
                if !SERVICES.contains(&service) || !request.contains(" `/") {
                    return None;
                }
                let list = |cell: &str| -> Vec<String> {
                    match cell {
                        "-" => Vec::new(),
                        cell => cell.split(", ").map(str::to_owned).collect(),
                    }
                };
                let body = if body == "-" {
                    Vec::new()
                } else {
                    contract_keys(body)
                };
                Some((
                    service.to_owned(),
                    request.replace('`', ""),
                    list(depends),
                    body,
                ))
            })
            .collect()
    }

    #[test]
    fn the_document_gives_exactly_the_readme_contract() {
        let contract = readme_contract();
        assert_eq!(
            contract.len(),
            10,
            "the README's table has a row per service"
        );
        let json = plan_json(&urls()).unwrap();
        let p = plan(&urls()).unwrap();
        let names: Vec<&str> = p.calls().iter().map(|c| c.name.as_str()).collect();
        let rows: Vec<&str> = contract.iter().map(|row| row.0.as_str()).collect();
        assert_eq!(
            names, rows,
            "the plan's calls are the table's rows, in its order"
        );
        assert_eq!(names, SERVICES);
        for (service, request, depends, body) in &contract {
            let call = json.get("calls").and_then(|c| c.get(service)).unwrap();
            let Some(Json::String(method)) = call.get("method") else {
                panic!("{service} has no method")
            };
            let Some(Json::String(url)) = call.get("url") else {
                panic!("{service} has no url")
            };
            assert_eq!(
                &format!("{method} {}", contract_path(url, service)),
                request,
                "{service}: its request"
            );
            let c = &p.calls()[p.position(service).unwrap()];
            let mut deps: Vec<&str> = c.deps.iter().map(|&d| p.calls()[d].name.as_str()).collect();
            let mut want: Vec<&str> = depends.iter().map(String::as_str).collect();
            deps.sort_unstable();
            want.sort_unstable();
            assert_eq!(deps, want, "{service}: what it depends on");
            // A body the plan sends has the README's keys, in its order; a body the money
            // rules compute is not in the plan (rules.rs tests those bodies).
            match call.get("body") {
                Some(Json::Object(entries)) => {
                    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                    assert_eq!(keys, *body, "{service}: its body's keys");
                }
                None if body.is_empty() => {}
                None => assert!(
                    ["tax", "payment", "order"].contains(&service.as_str()),
                    "{service} sends no body, but the README lists {body:?}"
                ),
                Some(other) => panic!("{service}: a body that is not an object: {other:?}"),
            }
        }
    }

    #[test]
    fn the_readme_compensations_are_the_plans_and_only_the_notification_is_optional() {
        let json = plan_json(&urls()).unwrap();
        let Some(Json::Object(calls)) = json.get("calls") else {
            panic!("no calls")
        };
        let readme = include_str!("../../README.md");
        let mut undone = Vec::new();
        let mut optional = Vec::new();
        for (name, call) in calls {
            if let Some(undo) = call.get("compensate") {
                let (Some(Json::String(method)), Some(Json::String(url))) =
                    (undo.get("method"), undo.get("url"))
                else {
                    panic!("{name}: a compensation without method or url")
                };
                // "(`DELETE` inventory `/reservations/{reservationId}`)"
                let written = format!("(`{method}` {name} `{}`)", contract_path(url, name));
                assert!(readme.contains(&written), "the README has {written}");
                undone.push(name.as_str());
            }
            if call.get("optional") == Some(&Json::Bool(true)) {
                optional.push(name.as_str());
            }
        }
        assert_eq!(undone, ["inventory", "payment"]);
        assert_eq!(optional, ["notification"]);
    }

    /// The document in the words its reader knows: a typo in them would otherwise be
    /// dropped unnoticed (the plan's own fields are checked by the plan reader).
    #[test]
    fn the_document_names_services_and_paths_and_marks_the_computed_bodies() {
        let document = document();
        let Some(Json::Object(calls)) = document.get("calls") else {
            panic!("no calls")
        };
        // The plan format's fields, `url` replaced by the document's `service` and `path`.
        const FIELDS: [&str; 12] = [
            "service",
            "method",
            "safe",
            "path",
            "headers",
            "body",
            "computedBody",
            "after",
            "timeoutMs",
            "optional",
            "fallback",
            "compensate",
        ];
        const COMPENSATE: [&str; 5] = ["method", "path", "headers", "body", "timeoutMs"];
        let mut computed = Vec::new();
        for (name, call) in calls {
            let Json::Object(fields) = call else {
                panic!("{name} is not an object")
            };
            for (key, _) in fields {
                assert!(FIELDS.contains(&key.as_str()), "{name}.{key}");
            }
            assert_eq!(call.get("service"), Some(&Json::String(name.clone())));
            match call.get("computedBody") {
                None => {}
                Some(Json::Bool(true)) => {
                    assert_eq!(
                        call.get("body"),
                        None,
                        "{name}: a body besides computedBody"
                    );
                    computed.push(name.as_str());
                }
                Some(other) => panic!("{name}.computedBody is {other:?}, not true"),
            }
            if let Some(Json::Object(undo)) = call.get("compensate") {
                for (key, _) in undo {
                    assert!(
                        COMPENSATE.contains(&key.as_str()),
                        "{name}.compensate.{key}"
                    );
                }
            }
        }
        // The marks are where the rules compute a body, and nowhere else.
        let p = plan(&urls()).unwrap();
        let input = Json::Object(Vec::new());
        let replies = vec![None; p.calls().len()];
        let scope = Scope::new(&p, &input, &replies);
        let by_rules: Vec<&str> = SERVICES
            .into_iter()
            .filter(|call| Hooks::<Json>::body(&OrderHooks, call, &scope).is_some())
            .collect();
        assert_eq!(computed, by_rules);
        assert_eq!(computed, ["tax", "payment", "order"]);
    }

    #[test]
    fn a_base_url_is_literal_text_and_cannot_add_a_placeholder() {
        for base in [
            "https://gw.example/{cart.items}",
            "https://gw.example/{input.customerId}}",
            "https://gw.example/{{payment.authorizationId}",
        ] {
            let urls = service_urls(&[], Some(base)).unwrap();
            let p = plan(&urls).unwrap();
            assert_eq!(
                p.stage_names(),
                plan(&self::urls()).unwrap().stage_names(),
                "{base} changes no dependency"
            );
            let customer = &p.calls()[0];
            assert!(
                customer.deps.is_empty(),
                "{base}: customer depends on nothing"
            );
            let Some(Json::String(url)) = plan_json(&urls)
                .unwrap()
                .get("calls")
                .and_then(|c| c.get("customer"))
                .and_then(|c| c.get("url"))
                .cloned()
            else {
                panic!("no url")
            };
            let doubled = base.replace('{', "{{").replace('}', "}}");
            assert_eq!(
                url,
                format!("{doubled}/customer/customers/{{input.customerId}}")
            );
        }
    }

    #[test]
    fn a_broken_document_is_an_error_naming_the_place_not_a_panic() {
        assert_eq!(call(&Json::Object(Vec::new()), &urls()), None, "no service");
        let spec = |path: &str| {
            Json::Object(vec![
                ("service".into(), Json::String("cart".into())),
                ("path".into(), Json::String(path.into())),
            ])
        };
        // A path only ever adds to its service's base URL.
        assert_eq!(
            call(&spec("//evil.example/x"), &urls()).and_then(|c| c.get("url").cloned()),
            Some(Json::String(
                "https://gw.example/api/cart//evil.example/x".into()
            ))
        );
        assert_eq!(
            call(&spec("evil.example"), &urls()),
            None,
            "a path without its /"
        );
        let with_url = Json::Object(vec![
            ("service".into(), Json::String("cart".into())),
            ("url".into(), Json::String("https://evil.example/".into())),
        ]);
        assert_eq!(call(&with_url, &urls()), None, "a url in the document");
        assert!(broken("calls.cart".into())
            .message()
            .starts_with("the order plan document (src/order/plan.json) is broken at calls.cart:"));
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
}
