//! `orderPlan(options)`: the order flow's plan, handed out. It must be the plan
//! `composeOrder` runs with the same options (the requests it sends, in the stages it
//! runs them), read from those options exactly as `composeOrder` reads them, and a base
//! URL must stay literal text in it. The document and its reader have native unit tests
//! in src/order/plan.rs.

use super::*;
use parallel_composer::order_plan;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = forwardingFetch)]
    fn forwarding_fetch() -> JsValue;
}

const REQUEST: &str = r#"{"customerId":"c-gold-1","cartId":"k1","paymentMethodId":"pm_1"}"#;

fn plan_of(options: &JsValue) -> Result<JsValue, JsValue> {
    order_plan(options.clone())
}

/// `validatePlan(plan).stages`, as lists of names.
fn stages_of(plan: &JsValue) -> Vec<Vec<String>> {
    let summary: JsValue = validate_plan(plan.clone().unchecked_into())
        .unwrap_or_else(|e| panic!("validatePlan refused {}: {}", show(plan), show(&e)))
        .into();
    Array::from(&get(&summary, "stages"))
        .iter()
        .map(|stage| {
            Array::from(&stage)
                .iter()
                .map(|n| n.as_string().unwrap())
                .collect()
        })
        .collect()
}

/// The stages a `stages` run went through, read from its records: a call opens a new
/// stage when it started after every call before it had ended (the barrier), and joins
/// the current one otherwise.
fn stages_run(calls: &JsValue) -> Vec<Vec<String>> {
    let mut timed: Vec<(f64, f64, String)> = SERVICES
        .iter()
        .map(|name| {
            let at = |field: &str| get_f64(calls, &format!("{name}.{field}"));
            (at("startMs"), at("endMs"), (*name).to_owned())
        })
        .collect();
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut stages: Vec<Vec<String>> = Vec::new();
    let mut ended = f64::NEG_INFINITY;
    for (start, end, name) in timed {
        match stages.last_mut() {
            Some(stage) if start < ended => stage.push(name),
            _ => stages.push(vec![name]),
        }
        ended = ended.max(end);
    }
    stages
}

pub async fn order_plan_is_the_plan_compose_order_runs() {
    let s = Scenario::new("order-plan", r#"{"defaultLatency":30}"#).await;
    let plan = plan_of(&options(&s.services(), "{}")).expect("the plan");
    let stages = stages_of(&plan);
    assert_eq!(stages.iter().flatten().count(), 10, "ten calls: {stages:?}");

    let recorder = forwarding_fetch();
    let o = options(&s.services(), r#"{"schedule":"stages"}"#);
    Reflect::set(&o, &"fetch".into(), &get(&recorder, "fetch")).unwrap();
    let result = run_order(REQUEST, &o).await.expect("order placed");
    assert_eq!(stages_run(&get(&result, "calls")), stages);

    // Each request composeOrder sent is a call of the plan: its method, and its URL with
    // the request's values in the placeholders.
    let sent: Vec<(String, String)> = Array::from(&get(&recorder, "seen"))
        .iter()
        .map(|r| (get_str(&r, "method"), get_str(&r, "url")))
        .collect();
    let expected: Vec<(String, String)> = SERVICES
        .iter()
        .map(|name| {
            let url = get_str(&plan, &format!("calls.{name}.url"))
                .replace("{input.customerId}", "c-gold-1")
                .replace("{input.cartId}", "k1");
            (get_str(&plan, &format!("calls.{name}.method")), url)
        })
        .collect();
    let mut sorted = sent.clone();
    sorted.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(sorted, want, "one request per call of the plan");
    // The plan's writes that can be undone say how, on their own service.
    assert_eq!(
        get_str(&plan, "calls.inventory.compensate.url"),
        format!(
            "{}/reservations/{{inventory.reservationId}}",
            get_str(&s.services(), "inventory")
        )
    );
    assert_eq!(get(&plan, "calls.notification.optional"), JsValue::TRUE);
}

pub async fn order_plan_refuses_bad_options_as_compose_order_does() {
    let gateway = gateway_url();
    let cases = [
        "{}".to_owned(),
        r#""services""#.to_owned(),
        r#"{"services":[]}"#.to_owned(),
        r#"{"services":{"taxes":"http://127.0.0.1:1"}}"#.to_owned(),
        r#"{"services":{"cart":5},"baseUrl":"http://127.0.0.1:1"}"#.to_owned(),
        r#"{"services":{"cart":"ftp://cart.example"},"baseUrl":"http://127.0.0.1:1"}"#.to_owned(),
        r#"{"baseUrl":5}"#.to_owned(),
        r#"{"baseUrl":"https://gw.example?x=1"}"#.to_owned(),
        r#"{"baseUrl":"https://gw.example/%zz"}"#.to_owned(),
        format!(r#"{{"baseUrl":"{gateway}","allowedOrigins":["https://other.example"]}}"#),
        format!(r#"{{"baseUrl":"{gateway}","allowedOrigins":"{gateway}"}}"#),
        format!(r#"{{"baseUrl":"{gateway}","maxCalls":5}}"#),
        format!(r#"{{"baseUrl":"{gateway}","timeoutMs":0}}"#),
        format!(r#"{{"baseUrl":"{gateway}","schedule":"parallel"}}"#),
        format!(r#"{{"baseUrl":"{gateway}","signal":{{}}}}"#),
    ];
    let mut refused = Vec::new();
    for case in cases
        .iter()
        .map(|c| js(c))
        .chain([JsValue::UNDEFINED, JsValue::NULL])
    {
        let by_order = expect_error(run_order(REQUEST, &case).await, "INVALID_INPUT");
        let by_plan = expect_error(plan_of(&case), "INVALID_INPUT");
        assert_eq!(
            get_str(&by_plan, "message"),
            get_str(&by_order, "message"),
            "options {}",
            show(&case)
        );
        assert_eq!(get(&by_plan, "call"), JsValue::NULL);
        refused.push(get_str(&by_plan, "message"));
    }
    // The cases are refused for different reasons, each named.
    assert_eq!(
        refused[0],
        "no URL for service `customer`: set options.services.customer or options.baseUrl"
    );
    assert_eq!(refused[6], "options.baseUrl must be a string");
    assert!(
        refused[8].starts_with("a service URL makes the order plan invalid: "),
        "{}",
        refused[8]
    );
    assert!(
        refused[11].starts_with("options.maxCalls is not an option"),
        "{}",
        refused[11]
    );
}

pub async fn a_hostile_base_url_cannot_add_placeholders_to_the_order_plan() {
    let plain = stages_of(&plan_of(&js(r#"{"baseUrl":"https://gw.example"}"#)).unwrap());
    for base in [
        "https://gw.example/{cart.items}",
        "https://gw.example/{payment.authorizationId}}",
        "https://gw.example/{{input.customerId}",
    ] {
        let o = js(&format!(
            r#"{{"baseUrl":"https://gw.example","services":{{"customer":{}}}}}"#,
            String::from(JSON::stringify(&base.into()).unwrap())
        ));
        let plan = plan_of(&o).unwrap_or_else(|e| panic!("{base}: {}", show(&e)));
        let literal = base.replace('{', "{{").replace('}', "}}");
        assert_eq!(
            get_str(&plan, "calls.customer.url"),
            format!("{literal}/customers/{{input.customerId}}"),
            "{base} is literal text in the plan"
        );
        assert_eq!(stages_of(&plan), plain, "{base} adds no dependency");
    }
}
