//! `forEach` against the mock services: one request per element of a list a reply held,
//! the replies in list order whatever order the servers answered in, no more in flight
//! than the call's `concurrency` (the servers' log is the witness), a record and events
//! per item, and one failed item failing the call: the one still in flight aborted, the
//! completed ones undone, each with its own reply.

use super::*;

/// The cart: three lines, the second answered first and the first last.
const CART: &str = r#"{"items":[
    {"sku":"a","ms":150,"status":200},{"sku":"b","ms":10,"status":200},{"sku":"c","ms":60,"status":200}
]}"#;

/// `cart` from `/lab/raw`; `reserve` a POST per line to the echo on service 1, answered
/// after the line's `ms` with its `status`, `extra` its further fields; `summary` reads the first item's reply and the
/// whole list.
fn plan(s: &Scenario, cart: &str, extra: &str) -> JsValue {
    js(&format!(
        r#"{{"calls":{{
            "cart":    {{"url":"{}"}},
            "reserve": {{"method":"POST","url":"{}/{{line.sku}}?delay={{line.ms}}&status={{line.status}}",
                         "forEach":"{{cart.items}}","as":"line",
                         "body":{{"sku":"{{line.sku}}","at":"{{index}}"}}{extra}}},
            "summary": {{"method":"POST","url":"{}",
                         "body":{{"first":"{{reserve.0.body.sku}}","all":"{{reserve}}"}}}}
        }}}}"#,
        raw_url(s, 0, cart),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
    ))
}

pub async fn a_fan_out_call_sends_one_request_per_element_and_replies_in_list_order() {
    let s = Scenario::new("fan-out", "{}").await;
    let events = Events::new();
    let options = events.options(r#"{"operationId":"op-1"}"#);
    let result = run_plan(&plan(&s, CART, r#","concurrency":2"#), &js("{}"), &options)
        .await
        .unwrap_or_else(|e| panic!("the fan-out failed: {}", show(&e)));
    let skus: Vec<String> = (0..3)
        .map(|k| get_str(&result, &format!("data.reserve.{k}.body.sku")))
        .collect();
    assert_eq!(
        skus,
        ["a", "b", "c"],
        "list order, not the order of the replies"
    );
    assert_eq!(get_str(&result, "data.summary.body.first"), "a");
    assert_eq!(
        show(&get(&result, "data.summary.body.all")),
        show(&get(&result, "data.reserve")),
        "a dependent reads the whole array"
    );
    assert_eq!(get_str(&result, "calls.reserve.state"), "ok");
    assert_eq!(get_f64(&result, "calls.reserve.attempts"), 3.0);
    let items = Array::from(&get(&result, "calls.reserve.items"));
    assert_eq!(items.length(), 3);
    for item in items.iter() {
        assert_eq!(get_str(&item, "state"), "ok");
        assert_eq!(get_f64(&item, "status"), 200.0);
    }
    assert!(
        get(&result, "calls.cart.items").is_undefined(),
        "no items on other calls"
    );
    // Each item's write has its own key, and its own events.
    for k in 0..3 {
        let key = get_str(
            &result,
            &format!("data.reserve.{k}.headers.idempotency-key"),
        );
        assert_eq!(key, format!("op-1:reserve:{k}"));
        assert_eq!(
            events.of_item("reserve", k),
            ["start #1 - -", "end #1 200 ok"],
            "item {k}"
        );
    }
    // The servers saw three requests, never more than two at a time.
    let log = s.log_of(SERVICES[1]).await;
    assert_eq!(log.len(), 3);
    let spans: Vec<(f64, f64)> = log
        .iter()
        .map(|e| (get_f64(e, "arrivedAt"), get_f64(e, "repliedAt")))
        .collect();
    for &(start, _) in &spans {
        let at_once = spans
            .iter()
            .filter(|(s, e)| *s <= start && start < *e)
            .count();
        assert!(at_once <= 2, "{at_once} requests at once: {spans:?}");
    }
}

pub async fn a_failed_item_fails_its_call_and_the_completed_ones_are_undone() {
    let s = Scenario::new("fan-out-fails", "{}").await;
    // Two at a time: `c` is answered at once, and `b` takes its slot beside `a`, which
    // holds on for 3 s; `b` is refused after 20 ms, with `a` still in flight.
    let cart = r#"{"items":[
        {"sku":"c","ms":0,"status":200},{"sku":"a","ms":3000,"status":200},{"sku":"b","ms":20,"status":409}
    ]}"#;
    let undo = format!(
        r#","compensate":{{"method":"DELETE","url":"{}/{{reserve.body.sku}}/{{index}}"}},"concurrency":2"#,
        s.lab(3, "echo")
    );
    let plan = plan(&s, cart, &undo);
    let error = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "HTTP_STATUS");
    assert_eq!(get_str(&error, "call"), "reserve");
    assert_eq!(get_f64(&error, "item"), 2.0);
    assert!(get_str(&error, "message").ends_with("(item 2 of its list)"));
    let states: Vec<String> = (0..3)
        .map(|k| get_str(&error, &format!("calls.reserve.items.{k}.state")))
        .collect();
    assert_eq!(states, ["ok", "unknown", "failed"]);
    assert_eq!(get_str(&error, "calls.reserve.state"), "failed");
    assert_eq!(get_str(&error, "calls.summary.state"), "skipped");
    // The one in flight was aborted: the server saw the client go.
    assert!(s.saw_aborted_at(SERVICES[1], "/lab/echo/a").await);
    // The completed one was undone with its own reply and position; the unknown one left.
    let undone = s.log_of(SERVICES[3]).await;
    let paths: Vec<String> = undone.iter().map(|e| get_str(e, "path")).collect();
    assert_eq!(paths, ["/lab/echo/c/0"]);
    let compensations = Array::from(&get(&error, "compensations"));
    let summary: Vec<String> = compensations
        .iter()
        .map(|c| format!("{} {}", get_f64(&c, "item"), get_str(&c, "state")))
        .collect();
    assert_eq!(summary, ["1 not-run", "0 ok"]);
}

pub async fn a_fan_out_over_a_list_that_is_not_one_names_the_call_and_the_path() {
    let s = Scenario::new("fan-out-no-list", "{}").await;
    let no_list = plan(&s, r#"{"items":{"sku":"a","ms":0,"status":200}}"#, "");
    let error = expect_error(
        run_plan(&no_list, &js("{}"), &js("{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_str(&error, "call"), "reserve");
    assert!(
        get_str(&error, "message").contains("`{cart.items}`, which is not an array"),
        "{}",
        get_str(&error, "message")
    );
    assert!(
        s.log_of(SERVICES[1]).await.is_empty(),
        "nothing of it was sent"
    );
    // An empty list sends nothing and replies [].
    let empty = js(&format!(
        r#"{{"calls":{{"cart":{{"url":"{}"}},
            "each":{{"url":"{}/{{item}}","forEach":"{{cart.items}}"}}}}}}"#,
        raw_url(&s, 0, r#"{"items":[]}"#),
        s.lab(1, "echo"),
    ));
    let result = run_plan(&empty, &js("{}"), &js("{}"))
        .await
        .expect("an empty list is a reply");
    assert_eq!(show(&get(&result, "data.each")), "[]");
    assert_eq!(Array::from(&get(&result, "calls.each.items")).length(), 0);
    assert!(s.log_of(SERVICES[1]).await.is_empty());
    // A plan's mistakes are refused before anything is sent, with their place.
    let bad = js(r#"{"calls":{"each":{"url":"https://svc.example/x","forEach":"items"}}}"#);
    let error = expect_error(run_plan(&bad, &js("{}"), &js("{}")).await, "INVALID_PLAN");
    assert!(
        get_str(&error, "message").starts_with("calls.each.forEach must be one whole placeholder")
    );
}
