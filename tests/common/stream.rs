//! `composeStream()` and `composeOrderStream()` against the mock services: parts in the
//! order the replies arrived (the services' latencies make it, not a timer in the test),
//! then what `compose()` resolves to; the `ComposeError` after the parts before it;
//! leaving the loop early aborts (the server sees the request go away); a reader that
//! never reads holds nothing up.

use super::*;
use parallel_composer::{compose_order_stream, compose_stream};

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = readStream)]
    fn read_stream_js(stream: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = leaveStream)]
    fn leave_stream_js(stream: &JsValue, n: u32, how: &str) -> Promise;
    #[wasm_bindgen(js_name = isOwnAsyncIterator)]
    fn is_own_async_iterator(v: &JsValue) -> bool;
}

fn stream(plan: &JsValue, input: &JsValue, options: &JsValue) -> JsValue {
    compose_stream(
        plan.clone().unchecked_into(),
        input.clone().unchecked_into(),
        Some(options.clone().unchecked_into()),
    )
}

fn order_stream(request: &str, options: &JsValue) -> JsValue {
    compose_order_stream(
        js(request).unchecked_into(),
        Some(options.clone().unchecked_into()),
    )
}

/// Every part `for await` reads, and the error it throws (`null` when it ends).
async fn read_all(stream: &JsValue) -> (Vec<JsValue>, JsValue) {
    let read = JsFuture::from(read_stream_js(stream)).await.unwrap();
    let parts = Array::from(&get(&read, "parts")).iter().collect();
    (parts, get(&read, "error"))
}

/// The parts read before leaving the loop after `n` by `how` ("break" or "throw").
async fn leave_after(stream: &JsValue, n: u32, how: &str) -> Vec<JsValue> {
    let read = JsFuture::from(leave_stream_js(stream, n, how))
        .await
        .unwrap();
    Array::from(&read).iter().collect()
}

/// Polls the server's log (every 20 ms, for 5 s) until `service` has received a request:
/// the condition a test waits on before it stops reading.
async fn arrived(s: &Scenario, service: &str) -> bool {
    for _ in 0..250 {
        if !s.log_of(service).await.is_empty() {
            return true;
        }
        delay(20.0).await;
    }
    false
}

/// `next()` of an iterator: `Ok(None)` once it is done.
async fn next(iterator: &JsValue) -> Result<Option<JsValue>, JsValue> {
    let next: Function = get(iterator, "next").unchecked_into();
    let promise: Promise = next.call0(iterator).unwrap().unchecked_into();
    let step = JsFuture::from(promise).await?;
    Ok((get(&step, "done") != JsValue::TRUE).then(|| get(&step, "value")))
}

/// The call parts' `call`s, and whether the last part is the result.
fn calls_then_result(parts: &[JsValue]) -> (Vec<String>, bool) {
    let (last, calls) = parts.split_last().expect("at least the result part");
    for part in calls {
        assert_eq!(get_str(part, "type"), "call", "{}", show(part));
    }
    let calls = calls.iter().map(|p| get_str(p, "call")).collect();
    (calls, get_str(last, "type") == "result")
}

/// Three reads whose replies arrive `b` (30 ms), then `c` (which waits for `b`, 150 ms
/// more), then `a` (600 ms): the order of the services' latencies, far apart.
fn three_reads(s: &Scenario) -> JsValue {
    js(&format!(
        r#"{{"calls":{{
        "a":{{"url":"{}"}},
        "b":{{"url":"{}"}},
        "c":{{"url":"{}&n={{b.count}}"}}}}}}"#,
        s.lab(0, "items?delay=600"),
        s.lab(1, "items?delay=30"),
        s.lab(2, "items?delay=150"),
    ))
}

pub async fn a_stream_yields_each_reply_as_it_arrives_then_what_compose_resolves_to() {
    let s = Scenario::new("stream-order", "{}").await;
    let plan = three_reads(&s);
    let it = stream(&plan, &js("{}"), &js("{}"));
    assert!(
        is_own_async_iterator(&it),
        "its own iterator: one composition"
    );
    let (parts, error) = read_all(&it).await;
    assert!(error.is_null(), "{}", show(&error));
    let (calls, result_last) = calls_then_result(&parts);
    assert_eq!(calls, ["b", "c", "a"], "in the order the replies arrived");
    assert!(result_last);
    let result = get(parts.last().unwrap(), "result");
    let composed = run_plan(&plan, &js("{}"), &js("{}")).await.unwrap();
    let keys = |v: &JsValue| show(&Object::keys(v.unchecked_ref::<Object>()).into());
    assert_eq!(
        keys(&result),
        keys(&composed),
        "the shape compose() resolves to"
    );
    assert_eq!(
        show(&get(&result, "stages")),
        show(&get(&composed, "stages"))
    );
    for part in &parts[..3] {
        let call = get_str(part, "call");
        let data = get(&result, &format!("data.{call}"));
        assert!(
            Object::is(&get(part, "data"), &data),
            "{call}: the reply itself"
        );
        let record = get(&result, &format!("calls.{call}"));
        assert_eq!(show(&get(part, "record")), show(&record), "{call}'s record");
        assert_eq!(get(part, "fellBack"), JsValue::FALSE);
        let keys: Vec<String> = Object::keys(part.unchecked_ref::<Object>())
            .iter()
            .map(|k| k.as_string().unwrap())
            .collect();
        assert_eq!(keys, ["type", "call", "data", "record", "fellBack"]);
    }
    assert_eq!(next(&it).await.unwrap(), None, "done after the result");
    // Sequential: one at a time, in plan order, whatever the latencies.
    let it = stream(&plan, &js("{}"), &js(r#"{"schedule":"sequential"}"#));
    let (parts, _) = read_all(&it).await;
    assert_eq!(calls_then_result(&parts).0, ["a", "b", "c"]);
}

pub async fn a_streamed_fallback_is_a_part_that_says_so() {
    let s = Scenario::new("stream-fallback", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "recs":{{"url":"{}?status=503","fallback":{{"items":[]}}}},
        "page":{{"url":"{}?delay=100"}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "items"),
    ));
    let it = stream(&plan, &js("{}"), &js(r#"{"maxAttempts":1}"#));
    let (parts, error) = read_all(&it).await;
    assert!(error.is_null(), "{}", show(&error));
    assert_eq!(calls_then_result(&parts).0, ["recs", "page"]);
    let recs = &parts[0];
    assert_eq!(get(recs, "fellBack"), JsValue::TRUE);
    assert_eq!(get(recs, "record.fellBack"), JsValue::TRUE);
    assert_eq!(get_str(recs, "record.state"), "failed");
    assert_eq!(show(&get(recs, "data")), r#"{"items":[]}"#);
    assert_eq!(get(&parts[1], "record.fellBack"), JsValue::FALSE);
    let result = get(&parts[2], "result");
    assert_eq!(show(&get(&result, "fellBack")), r#"["recs"]"#);
    assert_eq!(get(&result, "calls.recs.fellBack"), JsValue::TRUE);
}

pub async fn a_failed_stream_throws_the_compose_error_after_the_parts_before_it() {
    let s = Scenario::new("stream-fail", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "first":{{"url":"{}"}},
        "bad":{{"url":"{}?status=422","after":["first"]}},
        "never":{{"url":"{}?id={{bad.id}}"}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
    ));
    let it = stream(&plan, &js("{}"), &js("{}"));
    let first = next(&it).await.expect("a part").expect("not done");
    assert_eq!(get_str(&first, "call"), "first");
    let thrown = expect_error(next(&it).await.map(|_| JsValue::UNDEFINED), "HTTP_STATUS");
    let rejected = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "HTTP_STATUS");
    assert_eq!(get_str(&thrown, "call"), "bad");
    assert_eq!(get_str(&thrown, "message"), get_str(&rejected, "message"));
    for call in ["first", "bad", "never"] {
        let state = format!("calls.{call}.state");
        assert_eq!(
            get_str(&thrown, &state),
            get_str(&rejected, &state),
            "{call}"
        );
    }
    assert_eq!(next(&it).await.unwrap(), None, "done once it threw");
    // Refused before anything is sent: the first next() rejects.
    let cycle = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{0}/{{b.id}}"}},"b":{{"url":"{0}/{{a.id}}"}}}}}}"#,
        s.lab(0, "echo")
    ));
    let before = s.log().await.len();
    let (parts, error) = read_all(&stream(&cycle, &js("{}"), &js("{}"))).await;
    assert!(parts.is_empty());
    expect_error(Err(error), "INVALID_PLAN");
    let it = stream(&plan, &js("{}"), &js(r#"{"schedule":"fastest"}"#));
    expect_error(next(&it).await.map(|_| JsValue::UNDEFINED), "INVALID_INPUT");
    assert_eq!(s.log().await.len(), before, "nothing was sent for either");
}

pub async fn leaving_a_stream_early_aborts_the_composition_as_a_signal_would() {
    for how in ["break", "throw"] {
        let s = Scenario::new("stream-leave", "{}").await;
        let plan = js(&format!(
            r#"{{"calls":{{
            "fast":{{"url":"{}"}},
            "slow":{{"url":"{}?delay=5000"}},
            "later":{{"url":"{}","after":["slow"]}}}}}}"#,
            s.lab(0, "items"),
            s.lab(1, "items"),
            s.lab(2, "items"),
        ));
        let it = stream(&plan, &js("{}"), &js("{}"));
        // Nothing is read before the slow request is at the server, so that leaving has
        // a request on the wire to abort.
        assert!(arrived(&s, "cart").await, "{how}: slow was sent");
        let read = leave_after(&it, 1, how).await;
        assert_eq!(read.len(), 1, "{how}");
        assert_eq!(get_str(&read[0], "call"), "fast");
        // The loop is left once return() resolved: the slow read was aborted on the wire,
        // and nothing after it was sent.
        assert!(
            s.saw_aborted(Some("cart"), 1).await,
            "{how}: slow was aborted"
        );
        assert!(
            s.log_of("inventory").await.is_empty(),
            "{how}: later never sent"
        );
        assert_eq!(next(&it).await.unwrap(), None, "{how}: done once left");
    }
}

pub async fn the_callers_signal_still_aborts_a_stream() {
    let s = Scenario::new("stream-signal", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"fast":{{"url":"{}"}},"slow":{{"url":"{}?delay=5000"}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "items"),
    ));
    let controller = web_sys::AbortController::new().unwrap();
    let o = js("{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let it = stream(&plan, &js("{}"), &o);
    let first = next(&it).await.unwrap().unwrap();
    assert_eq!(get_str(&first, "call"), "fast");
    assert!(arrived(&s, "cart").await, "slow was sent");
    controller.abort();
    let e = expect_error(next(&it).await.map(|_| JsValue::UNDEFINED), "ABORTED");
    assert_eq!(get_str(&e, "calls.slow.state"), "cancelled");
    assert!(s.saw_aborted(Some("cart"), 1).await, "slow was aborted");
    // Already aborted: nothing is sent, and the first next() rejects.
    let it = stream(&plan, &js("{}"), &o);
    let e = expect_error(next(&it).await.map(|_| JsValue::UNDEFINED), "ABORTED");
    assert_eq!(get_str(&e, "calls.fast.state"), "cancelled");
    assert_eq!(s.log_of("customer").await.len(), 1, "only the first run's");
}

pub async fn a_stream_nobody_reads_holds_no_request_up() {
    let s = Scenario::new("stream-slow-reader", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "a":{{"url":"{}?delay=20"}},
        "b":{{"url":"{}?delay=20","after":["a"]}},
        "c":{{"url":"{}?delay=20","after":["b"]}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "items"),
        s.lab(2, "items"),
    ));
    let it = stream(&plan, &js("{}"), &js("{}"));
    // Nothing is read until the last call of the chain has been answered: each call was
    // sent after the one before it replied, with nobody reading.
    let mut answered = false;
    for _ in 0..250 {
        let log = s.log_of("inventory").await;
        if log.first().is_some_and(|e| !get(e, "repliedAt").is_null()) {
            answered = true;
            break;
        }
        delay(20.0).await;
    }
    assert!(answered, "the chain ran to its end unread");
    let (parts, error) = read_all(&it).await;
    assert!(error.is_null(), "{}", show(&error));
    let (calls, result_last) = calls_then_result(&parts);
    assert_eq!(calls, ["a", "b", "c"]);
    assert!(result_last, "every part was queued");
}

pub async fn compose_order_stream_yields_customer_and_cart_first_then_the_order() {
    let s = Scenario::new(
        "stream-order-flow",
        r#"{"defaultLatency":40,"latency":{"cart":10,"customer":10}}"#,
    )
    .await;
    let it = order_stream(
        r#"{"customerId":"c-gold-1","cartId":"k1","paymentMethodId":"pm_1"}"#,
        &options(&s.services(), "{}"),
    );
    let (parts, error) = read_all(&it).await;
    assert!(error.is_null(), "{}", show(&error));
    let (calls, result_last) = calls_then_result(&parts);
    assert!(result_last);
    let mut first_two = calls[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["cart", "customer"], "{calls:?}");
    let mut all = calls.clone();
    all.sort();
    let mut services = SERVICES.map(str::to_owned).to_vec();
    services.sort();
    assert_eq!(all, services, "one part per service");
    assert_eq!(calls.last().map(String::as_str), Some("notification"));
    let order = get(parts.last().unwrap(), "result");
    assert!(get_str(&order, "orderId").starts_with("ord-"));
    let order_part = parts
        .iter()
        .find(|p| get_str(p, "call") == "order")
        .unwrap();
    assert_eq!(
        get_str(order_part, "data.orderId"),
        get_str(&order, "orderId")
    );
    assert_eq!(
        show(&get(order_part, "record")),
        show(&get(&order, "calls.order"))
    );
}

pub async fn a_streamed_fan_out_call_is_one_part_with_its_whole_list_and_items() {
    let s = Scenario::new("stream-fan-out", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
            "cart": {{"url":"{}"}},
            "each": {{"url":"{}/{{item.sku}}?delay={{item.ms}}","forEach":"{{cart.items}}"}}
        }}}}"#,
        raw_url(
            &s,
            0,
            r#"{"items":[{"sku":"a","ms":60},{"sku":"b","ms":0}]}"#
        ),
        s.lab(1, "echo"),
    ));
    let (parts, error) = read_all(&stream(&plan, &js("{}"), &js("{}"))).await;
    assert!(error.is_null(), "{}", show(&error));
    let calls: Vec<String> = parts.iter().map(|p| get_str(p, "type")).collect();
    assert_eq!(
        calls,
        ["call", "call", "result"],
        "one part per call, not per item"
    );
    let each = &parts[1];
    assert_eq!(get_str(each, "call"), "each");
    assert_eq!(get_str(each, "data.0.path"), "/lab/echo/a", "list order");
    assert_eq!(get_str(each, "data.1.path"), "/lab/echo/b");
    assert_eq!(Array::from(&get(each, "record.items")).length(), 2);
    assert_eq!(get_str(each, "record.items.0.state"), "ok");
}
