//! `orderPlan(options)`: the order flow's plan as `composeOrder` runs it with the same
//! options, handed out as a plan object, so that a page draws or inspects the real plan
//! rather than a copy of it.

use super::options::{read_options, Entry};
use super::records::{no_calls, unsent_error};
use crate::error::Error;
use crate::order;
use crate::plan::value::Value;
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
    let fail = |e: Error| unsent_error(&e, &no_calls());
    let options = read_options(&options, Entry::Order).map_err(fail)?;
    let urls = super::order_urls(&options).map_err(fail)?;
    let plan = order::plan_json(&urls).map_err(fail)?;
    Ok(JsValue::from_json(&plan))
}
