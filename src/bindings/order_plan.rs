//! `orderPlan(options)`: the order flow's plan as `composeOrder` runs it with the same
//! options, handed out as a plan object, so that a page draws or inspects the real plan
//! rather than a copy of it.

use super::{bad_option, read_options, read_services, to_js_error, RunOptions, ORDER_OPTIONS};
use crate::error::Error;
use crate::order;
use crate::plan::value::Value;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const ORDER_PLAN_TYPES: &'static str = r#"
/**
 * The order flow's plan: the ten calls `composeOrder()` makes with the same `options`,
 * each with its method, its URL on its service, its body template, its dependencies, its
 * compensation and whether it is optional. `validatePlan()` accepts it and gives the same
 * stages as `composeOrder()` runs. It is for drawing and inspecting: the tax, payment and
 * order bodies are computed by `composeOrder()`'s money rules, so the plan has none.
 *
 * The options are checked exactly as `composeOrder()` checks them (services, baseUrl,
 * allowedOrigins and the rest); nothing is sent. Throws a `ComposeError` with code
 * "INVALID_INPUT" naming the option.
 */
export function orderPlan(options: OrderOptions): Plan;
"#;

/// The order flow's plan, as `composeOrder` runs it with the same `options`: a plan
/// object (`{ calls: { customer: { method, url }, ... } }`) whose URLs are the services'
/// base URLs joined to the contract's paths.
///
/// `validatePlan()` accepts it and gives the stages `composeOrder` runs. The tax, payment
/// and order calls have no body: `composeOrder` computes those from its money rules
/// ([`OrderHooks`](crate::OrderHooks)), which a plan cannot express; so the plan is for
/// drawing and inspecting, not for `compose()`.
///
/// The options are read and checked exactly as `composeOrder` reads them, with the same
/// messages: `services` and `baseUrl` give the URLs, `allowedOrigins` must hold every
/// service's origin, and the options that only matter while running (`signal`, `fetch`,
/// `schedule`, ...) are checked and otherwise unused. Nothing is sent.
///
/// Throws a `ComposeError` with code `INVALID_INPUT` naming the option at fault.
#[wasm_bindgen(js_name = orderPlan, skip_typescript)]
pub fn order_plan(options: JsValue) -> Result<JsValue, JsValue> {
    let fail = |e: Error| to_js_error(&e, &Object::new());
    let (_, urls) = read_order_options(&options).map_err(fail)?;
    let plan = order::plan_json(&urls).map_err(fail)?;
    Ok(JsValue::from_json(&plan))
}

/// Reads `composeOrder`'s options: the shared ones, then the services' URLs (from
/// `services` and `baseUrl`, in [`order::SERVICES`] order), each on an allowed origin.
pub(super) fn read_order_options(options: &JsValue) -> Result<(RunOptions, Vec<String>), Error> {
    let (run_options, obj) = read_options(options, ORDER_OPTIONS)?;
    let services = read_services(&obj)?;
    let base_url = read_base_url(&obj)?;
    let urls = order::service_urls(&services, base_url.as_deref())?;
    if let Some(allowed) = &run_options.allowed_origins {
        order::check_origins(&urls, &services, allowed)?;
    }
    Ok((run_options, urls))
}

/// `options.baseUrl`: a gateway's URL, or nothing.
fn read_base_url(options: &Object) -> Result<Option<String>, Error> {
    match Reflect::get(options, &"baseUrl".into()).unwrap_or(JsValue::UNDEFINED) {
        v if v.is_undefined() || v.is_null() => Ok(None),
        v => v
            .as_string()
            .map(Some)
            .ok_or_else(|| bad_option("options.baseUrl must be a string".into())),
    }
}
