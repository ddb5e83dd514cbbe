//! One test per fault the mock services inject, against the real servers. Each checks the
//! call's final state and attempt count, what the servers received (no write twice
//! without its key, nothing after the composition settled) and the total time against
//! the deadline.

use super::*;

/// Time the servers' log is on (`performance.timeOrigin + now()`, like `Date.now()`).
fn wall_clock() -> f64 {
    js_sys::Date::now()
}

/// How long the slowest bound may overshoot: timers and the event loop, not the work.
const SLACK_MS: f64 = 400.0;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = timedFetch)]
    fn timed_fetch() -> JsValue;
}

struct Run {
    scenario: Scenario,
    result: Result<JsValue, JsValue>,
    /// How long the composition took, in ms.
    took: f64,
    /// When it settled, on the servers' clock.
    settled_at: f64,
    /// The fetch the engine was given, which notes when each request started.
    fetch: JsValue,
}

/// Places the gold order with the services faulted as `config` says and `extra` options.
async fn order_with(name: &str, config: &str, extra: &str) -> Run {
    let scenario = Scenario::new(name, config).await;
    let options = options(&scenario.services(), extra);
    let fetch = timed_fetch();
    Reflect::set(&options, &"fetch".into(), &get(&fetch, "fetch")).unwrap();
    let start = wall_clock();
    let result = run_order(GOLD, &options).await;
    let took = wall_clock() - start;
    let settled_at = wall_clock();
    Run {
        settled_at,
        scenario,
        result,
        took,
        fetch,
    }
}

impl Run {
    /// What every fault test asserts about the servers: each write that reached a service
    /// more than once carried the same `Idempotency-Key` each time, and nothing arrived
    /// after the composition settled. Returns the log.
    async fn servers_saw_nothing_wrong(&self) -> Vec<JsValue> {
        let log = self.scenario.log().await;
        let mut keys: Vec<(String, String)> = Vec::new();
        for e in &log {
            if get_str(e, "method") != "POST" {
                continue;
            }
            let at = format!("{} {}", get_str(e, "service"), get_str(e, "path"));
            // A quote is `safe`: it changes nothing, and carries no key.
            if get_str(e, "path") == "/quotes" {
                let key = get(e, "headers.idempotency-key");
                assert!(key.is_undefined(), "a quote with a key: {at}");
                continue;
            }
            let key = get(e, "headers.idempotency-key")
                .as_string()
                .unwrap_or_else(|| panic!("a write without its key: {at}"));
            match keys.iter().find(|(a, _)| *a == at) {
                Some((_, first)) => assert_eq!(&key, first, "{at} sent twice with another key"),
                None => keys.push((at, key)),
            }
        }
        // Nothing was started after the composition settled (up to now, the log read).
        // When a request reaches a server is no witness: on a busy machine, one started
        // well before the end can arrive after it. Nor is the count: a browser resends a
        // request by itself when a reused connection is reset before any reply (the
        // lost-reply fault), so a server may see one request more than the engine started.
        let started_at: Vec<f64> = Array::from(&get(&self.fetch, "startedAt"))
            .iter()
            .filter_map(|t| t.as_f64())
            .collect();
        for at in &started_at {
            assert!(
                *at <= self.settled_at,
                "a request was started {} ms after the composition settled",
                at - self.settled_at
            );
        }
        log
    }

    fn error(&self, code: &str) -> JsValue {
        expect_error(self.result.clone(), code)
    }

    fn ok(&self) -> JsValue {
        self.result
            .clone()
            .unwrap_or_else(|e| panic!("the order failed: {}", get_str(&e, "message")))
    }

    fn within(&self, deadline: f64) {
        assert!(
            self.took <= deadline + SLACK_MS,
            "took {} ms against a deadline of {deadline} ms",
            self.took.round()
        );
    }
}

fn attempts(v: &JsValue, call: &str) -> f64 {
    get_f64(v, &format!("calls.{call}.attempts"))
}

pub async fn fault_latency_and_jitter_stay_inside_the_deadline() {
    let run = order_with(
        "f-jitter",
        r#"{"defaultLatency":40,"defaultJitter":60}"#,
        r#"{"deadlineMs":3000}"#,
    )
    .await;
    let result = run.ok();
    for name in SERVICES {
        assert_eq!(get_str(&result, &format!("calls.{name}.state")), "ok");
        assert_eq!(attempts(&result, name), 1.0, "{name}");
    }
    let log = run.servers_saw_nothing_wrong().await;
    assert_eq!(log.len(), 10);
    let waits: Vec<f64> = log.iter().map(|e| get_f64(e, "wait")).collect();
    assert!(waits.iter().all(|w| (40.0..100.0).contains(w)), "{waits:?}");
    run.within(3000.0);
}

pub async fn fault_a_status_is_retried_under_one_key_until_it_clears() {
    let run = order_with(
        "f-status",
        r#"{"faults":{"shipping":{"status":503,"times":2}}}"#,
        r#"{"deadlineMs":5000}"#,
    )
    .await;
    let result = run.ok();
    assert_eq!(attempts(&result, "shipping"), 3.0);
    assert_eq!(get_f64(&result, "calls.shipping.status"), 200.0);
    let log = run.servers_saw_nothing_wrong().await;
    let shipping: Vec<f64> = log
        .iter()
        .filter(|e| get_str(e, "service") == "shipping")
        .map(|e| get_f64(e, "status"))
        .collect();
    assert_eq!(shipping, [503.0, 503.0, 200.0]);
    run.within(5000.0);
}

pub async fn fault_429_waits_for_retry_after_only_when_it_fits_the_deadline() {
    let run = order_with(
        "f-429",
        r#"{"faults":{"cart":{"status":429,"retryAfter":1,"times":1}}}"#,
        r#"{"deadlineMs":4000}"#,
    )
    .await;
    let result = run.ok();
    assert_eq!(attempts(&result, "cart"), 2.0);
    let cart = run.scenario.log_of("cart").await;
    let waited = get_f64(&cart[1], "arrivedAt") - get_f64(&cart[0], "repliedAt");
    assert!(
        waited >= 990.0,
        "Retry-After: 1 honoured, waited {waited} ms"
    );
    run.servers_saw_nothing_wrong().await;
    run.within(4000.0);

    // Asked to wait 5 s with 2 s left: fail at once rather than wait past the deadline.
    let run = order_with(
        "f-429-late",
        r#"{"faults":{"cart":{"status":429,"retryAfter":5}}}"#,
        r#"{"deadlineMs":2000}"#,
    )
    .await;
    let e = run.error("HTTP_STATUS");
    assert_eq!(
        (get_str(&e, "call"), get_f64(&e, "status")),
        ("cart".into(), 429.0)
    );
    assert_eq!(attempts(&e, "cart"), 1.0);
    assert_eq!(run.scenario.log_of("cart").await.len(), 1);
    run.servers_saw_nothing_wrong().await;
    assert!(run.took < 1000.0, "failed at once, took {} ms", run.took);
}

pub async fn fault_a_reset_mid_body_is_retried_and_a_write_left_unknown_is_listed() {
    // A read cut off mid-body twice: retried, the third attempt succeeds.
    let run = order_with(
        "f-midbody",
        r#"{"faults":{"customer":{"type":"reset-mid-body","times":2}}}"#,
        r#"{"deadlineMs":5000}"#,
    )
    .await;
    let result = run.ok();
    assert_eq!(attempts(&result, "customer"), 3.0);
    run.servers_saw_nothing_wrong().await;
    run.within(5000.0);

    // Every authorization cut off mid-body: the payment may have happened. It is
    // `unknown`, not voided (there is no reply to void from); the reservation, which the
    // payment did not use, is released.
    let run = order_with(
        "f-midbody-write",
        r#"{"faults":{"payment":"reset-mid-body"}}"#,
        r#"{"deadlineMs":5000}"#,
    )
    .await;
    let e = run.error("NETWORK");
    assert_eq!(get_str(&e, "calls.payment.state"), "unknown");
    assert_eq!(attempts(&e, "payment"), 3.0);
    assert_eq!(get_str(&e, "compensations.0.call"), "payment");
    assert_eq!(get_str(&e, "compensations.0.state"), "not-run");
    assert_eq!(get_str(&e, "compensations.1.call"), "inventory");
    assert_eq!(get_str(&e, "compensations.1.state"), "ok");
    let log = run.servers_saw_nothing_wrong().await;
    let payments = log
        .iter()
        .filter(|e| get_str(e, "service") == "payment")
        .count();
    assert_eq!(payments, 3, "three attempts under one key, and no void");
    run.within(5000.0);
}

pub async fn fault_a_hang_before_headers_times_out_and_is_aborted_on_the_wire() {
    let run = order_with(
        "f-hang",
        r#"{"faults":{"inventory":"hang"}}"#,
        r#"{"deadlineMs":3000,"timeoutMs":400}"#,
    )
    .await;
    let e = run.error("TIMEOUT");
    assert_eq!(get_str(&e, "call"), "inventory");
    assert_eq!(
        get_str(&e, "calls.inventory.state"),
        "unknown",
        "a write sent without an answer"
    );
    assert_eq!(attempts(&e, "inventory"), 1.0, "a timeout is not retried");
    assert!(
        run.scenario.saw_aborted(Some("inventory"), 1).await,
        "the hanging request was aborted on the wire"
    );
    run.servers_saw_nothing_wrong().await;
    run.within(3000.0);
}

pub async fn fault_a_slow_body_is_cut_off_by_the_deadline() {
    let run = order_with(
        "f-slowbody",
        r#"{"faults":{"pricing":{"type":"slow-body","ms":3000}}}"#,
        r#"{"deadlineMs":700}"#,
    )
    .await;
    let e = run.error("TIMEOUT");
    assert_eq!(
        get_str(&e, "message"),
        "the composition ran past its deadline of 700 ms"
    );
    assert_eq!(
        get_str(&e, "calls.pricing.state"),
        "cancelled",
        "its headers came, its body did not; a quote changes nothing, so it is no unknown write"
    );
    assert_eq!(attempts(&e, "pricing"), 1.0);
    run.servers_saw_nothing_wrong().await;
    run.within(700.0);
}

pub async fn fault_a_body_that_is_not_json_is_a_bad_response_with_its_excerpt() {
    let run = order_with(
        "f-notjson",
        r#"{"faults":{"tax":"not-json"}}"#,
        r#"{"deadlineMs":3000}"#,
    )
    .await;
    let e = run.error("BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "tax");
    assert_eq!(get_f64(&e, "status"), 200.0);
    let message = get_str(&e, "message");
    assert!(message.contains("text/plain"), "{message}");
    assert!(message.contains("not json"), "the excerpt: {message}");
    assert_eq!(attempts(&e, "tax"), 1.0, "never retried");
    run.servers_saw_nothing_wrong().await;
    run.within(3000.0);
}

pub async fn fault_an_empty_body_where_json_was_expected_is_a_bad_response() {
    let run = order_with(
        "f-empty",
        r#"{"faults":{"customer":"empty"}}"#,
        r#"{"deadlineMs":3000}"#,
    )
    .await;
    let e = run.error("BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "customer");
    assert_eq!(get_f64(&e, "status"), 200.0);
    let message = get_str(&e, "message");
    assert!(message.contains("application/json"), "{message}");
    assert!(message.contains("empty"), "{message}");
    assert_eq!(attempts(&e, "customer"), 1.0);
    run.servers_saw_nothing_wrong().await;
    run.within(3000.0);
}

pub async fn fault_a_huge_body_is_stopped_at_the_byte_cap() {
    let run = order_with(
        "f-huge",
        r#"{"faults":{"cart":{"type":"huge-body","mb":8}}}"#,
        r#"{"deadlineMs":5000}"#,
    )
    .await;
    let e = run.error("BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "cart");
    assert!(
        get_str(&e, "message").contains("5 MiB"),
        "{}",
        get_str(&e, "message")
    );
    assert_eq!(attempts(&e, "cart"), 1.0, "never retried");
    assert_eq!(get_str(&e, "calls.inventory.state"), "skipped");
    run.servers_saw_nothing_wrong().await;
    run.within(5000.0);
}

pub async fn fault_a_redirect_to_another_origin_is_refused_and_never_followed() {
    let run = order_with(
        "f-redirect",
        r#"{"faults":{"pricing":{"type":"redirect","to":"notification"}}}"#,
        r#"{"deadlineMs":3000}"#,
    )
    .await;
    let e = run.error("BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "pricing");
    assert!(
        get_str(&e, "message").contains("redirect"),
        "{}",
        get_str(&e, "message")
    );
    assert_eq!(attempts(&e, "pricing"), 1.0);
    run.servers_saw_nothing_wrong().await;
    assert!(
        run.scenario.log_of("notification").await.is_empty(),
        "nothing reached the origin the redirect pointed at"
    );
    run.within(3000.0);
}

pub async fn fault_a_lost_reply_is_retried_under_its_key_and_one_order_exists() {
    // The first order request is carried out, then its connection reset: the order exists
    // but the page cannot know. The retry (or Chromium's own resend of the same request)
    // carries the same key and gets the stored reply.
    let run = order_with(
        "f-lost",
        r#"{"faults":{"order":{"type":"lose-reply","times":1}}}"#,
        r#"{"deadlineMs":5000}"#,
    )
    .await;
    let result = run.ok();
    assert_eq!(get_str(&result, "orderId"), "ord-1");
    let log = run.servers_saw_nothing_wrong().await;
    let orders: Vec<&JsValue> = log
        .iter()
        .filter(|e| get_str(e, "service") == "order" && get_str(e, "method") == "POST")
        .collect();
    assert_eq!(
        orders.len(),
        2,
        "the lost request and the one that got the reply"
    );
    assert_eq!(get(orders[0], "reset"), JsValue::TRUE);
    assert_eq!(
        get(orders[1], "replayed"),
        JsValue::TRUE,
        "deduplicated by key"
    );
    let listed = request(
        "GET",
        &format!("{}/s/{}/orders", service_origin(8), run.scenario.id),
        None,
    )
    .await;
    assert_eq!(
        Array::from(&get(&listed, "orders")).length(),
        1,
        "exactly one order on the server"
    );
    run.within(5000.0);
}
