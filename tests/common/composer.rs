//! `createComposer()` against the mock services: a prefetched order whose click sends only
//! what was not cached (the server's log is the witness), a breaker that opens after real
//! 5xx replies and then fails calls at once with `CIRCUIT_OPEN`, a hedged read that a
//! slow first request loses (in Chromium past its HTTP cache lock), and the options and
//! invalidation a composer checks.

use super::*;
use parallel_composer::{create_composer, Composer};

const REQUEST: &str = r#"{"customerId":"c-gold-1","cartId":"k1","paymentMethodId":"pm_1"}"#;

fn composer(options: &JsValue) -> Composer {
    create_composer(Some(options.clone().unchecked_into())).expect("a composer")
}

async fn order(c: &Composer, request: &str) -> Result<JsValue, JsValue> {
    JsFuture::from(c.compose_order(js(request).unchecked_into(), None)).await
}

async fn plan_through(c: &Composer, plan: &JsValue, options: &str) -> Result<JsValue, JsValue> {
    let promise = c.compose(
        plan.clone().unchecked_into(),
        js("{}").unchecked_into(),
        Some(js(options).unchecked_into()),
    );
    JsFuture::from(promise).await
}

/// The services the log shows requests to, in order of arrival.
async fn services_seen(s: &Scenario) -> Vec<String> {
    s.log()
        .await
        .iter()
        .map(|e| get_str(e, "service"))
        .collect()
}

pub async fn a_prefetched_order_sends_only_the_calls_that_were_not_cached() {
    let s = Scenario::new("prefetch", r#"{"defaultLatency":20}"#).await;
    let c = composer(&options(&s.services(), "{}"));
    let prefetched = JsFuture::from(c.prefetch_order(js(REQUEST).unchecked_into(), None))
        .await
        .expect("prefetched");
    let mut seen = services_seen(&s).await;
    seen.sort();
    assert_eq!(
        seen,
        ["cart", "customer", "pricing", "shipping", "tax"],
        "reads and quotes only"
    );
    for write in ["inventory", "fraud", "payment", "order", "notification"] {
        let state = get_str(&prefetched, &format!("calls.{write}.state"));
        assert_eq!(state, "not-needed", "{write} was never sent");
    }
    let placed = order(&c, REQUEST).await.expect("order placed");
    assert!(get_f64(&placed, "total") > 0.0);
    let mut after: Vec<String> = services_seen(&s).await.split_off(5);
    after.sort();
    assert_eq!(
        after,
        ["fraud", "inventory", "notification", "order", "payment"]
    );
    for read in ["customer", "cart", "pricing", "shipping", "tax"] {
        let record = get(&placed, &format!("calls.{read}"));
        assert!(
            get(&record, "cached").as_bool().unwrap(),
            "{read} came from the cache"
        );
        assert_eq!(get_f64(&record, "attempts"), 0.0);
        assert!(get_f64(&record, "ageMs") >= 0.0);
    }
    // The module function shares nothing with the composer: it sends all ten.
    run_order(REQUEST, &options(&s.services(), "{}"))
        .await
        .expect("placed");
    assert_eq!(services_seen(&s).await.len(), 20);
}

pub async fn a_composer_breaker_opens_on_5xx_and_fails_fast_with_circuit_open() {
    let s = Scenario::new(
        "breaker",
        r#"{"defaultLatency":5,"faults":{"customer":{"status":503}}}"#,
    )
    .await;
    let events = Array::new();
    let keep = events.clone();
    let on_event = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
        if get_str(&e, "type") == "breaker" {
            keep.push(&e);
        }
    });
    let o = js(r#"{"maxAttempts":1,"breaker":{"failures":2,"windowMs":60000,"cooldownMs":60000}}"#);
    Reflect::set(&o, &"onEvent".into(), on_event.as_ref()).unwrap();
    let c = composer(&o);
    let url = format!("{}/customers/c-gold-1", get_str(&s.services(), "customer"));
    let plan = js(&format!(r#"{{"calls":{{"customer":{{"url":"{url}"}}}}}}"#));
    for _ in 0..2 {
        expect_error(plan_through(&c, &plan, "{}").await, "HTTP_STATUS");
    }
    let before = js_sys::Date::now();
    let e = expect_error(plan_through(&c, &plan, "{}").await, "CIRCUIT_OPEN");
    let origin = service_origin(0);
    assert_eq!(get_str(&e, "origin"), origin);
    assert!(get_f64(&e, "retryAt") > before, "tried again later");
    assert!(get_str(&e, "message").contains(&origin));
    assert_eq!(
        s.log_of("customer").await.len(),
        2,
        "the third was never sent"
    );
    // Keyed by origin, whose dots `get` would read as a path.
    let circuit = Reflect::get(&c.health(), &origin.as_str().into()).unwrap();
    assert_eq!(get_str(&circuit, "state"), "open");
    assert_eq!(get_f64(&circuit, "failures"), 2.0);
    assert!(get_f64(&circuit, "retryAt") > before);
    assert_eq!(events.length(), 1);
    assert_eq!(get_str(&events.get(0), "origin"), origin);
    assert_eq!(get_str(&events.get(0), "state"), "open");
}

pub async fn a_slow_read_is_hedged_and_the_hedge_wins() {
    // The first request to the customer service waits 3 s; any later one 10 ms.
    let s = Scenario::new(
        "hedge",
        r#"{"defaultLatency":10,"faults":{"customer":{"type":"delay","ms":3000,"times":1}}}"#,
    )
    .await;
    let c = composer(&js(r#"{"hedge":{"afterMs":100,"maxExtraPercent":100}}"#));
    let url = format!("{}/customers/c-gold-1", get_str(&s.services(), "customer"));
    let plan = js(&format!(r#"{{"calls":{{"customer":{{"url":"{url}"}}}}}}"#));
    let result = plan_through(&c, &plan, "{}")
        .await
        .expect("the hedge answered");
    let record = get(&result, "calls.customer");
    assert!(get(&record, "hedged").as_bool().unwrap());
    assert!(
        get(&record, "hedgeWon").as_bool().unwrap(),
        "{}",
        show(&record)
    );
    assert_eq!(get_str(&result, "data.customer.id"), "c-gold-1");
    let log = s.log_of("customer").await;
    assert_eq!(log.len(), 2, "one identical second request");
    assert!(first_aborted(&s).await, "the slow one was aborted");
    // A write is never hedged: the plan refuses to say so.
    let write = js(&format!(
        r#"{{"calls":{{"c":{{"url":"{url}","method":"POST","hedge":{{"afterMs":1}}}}}}}}"#
    ));
    expect_error(plan_through(&c, &write, "{}").await, "INVALID_PLAN");
}

/// Polls the log (every 20 ms, for 2 s) until the customer service's first request shows
/// aborted: the server saw the client drop it.
async fn first_aborted(s: &Scenario) -> bool {
    for _ in 0..100 {
        let log = s.log_of("customer").await;
        if log
            .iter()
            .any(|e| get_f64(e, "nth") == 1.0 && get(e, "aborted") == JsValue::TRUE)
        {
            return true;
        }
        delay(20.0).await;
    }
    false
}

pub async fn composer_options_are_checked_and_invalidate_drops_entries() {
    for (bad, says) in [
        (
            r#"{"cacheEntries":0}"#,
            "options.cacheEntries must be a whole number",
        ),
        (
            r#"{"breaker":{"failures":-1}}"#,
            "options.breaker.failures must be a number",
        ),
        (
            r#"{"hedge":{"afterMs":0}}"#,
            "options.hedge.afterMs must be a number",
        ),
        (
            r#"{"cache":{"payment":{"maxAgeMs":1}}}"#,
            "options.cache.payment: `payment` changes something",
        ),
        (r#"{"timeoutMs":-5}"#, "options.timeoutMs must be"),
        (r#"{"cache":3}"#, "options.cache must be false or an object"),
        (
            r#"{"cache":{"coupon":false}}"#,
            "options.cache.coupon: the order flow has no call `coupon`",
        ),
    ] {
        let e = match create_composer(Some(js(bad).unchecked_into())) {
            Ok(_) => panic!("{bad} was accepted"),
            Err(e) => e,
        };
        assert_eq!(get_str(&e, "code"), "INVALID_INPUT");
        assert!(
            get_str(&e, "message").starts_with(says),
            "{}",
            get_str(&e, "message")
        );
    }
    let s = Scenario::new("invalidate", r#"{"defaultLatency":5}"#).await;
    let c = composer(&js("{}"));
    let url = format!("{}/customers/c-gold-1", get_str(&s.services(), "customer"));
    let plan = js(&format!(
        r#"{{"calls":{{"customer":{{"url":"{url}","cache":{{"maxAgeMs":60000}}}}}}}}"#
    ));
    plan_through(&c, &plan, "{}").await.unwrap();
    let again = plan_through(&c, &plan, "{}").await.unwrap();
    assert!(get(&again, "calls.customer.cached").as_bool().unwrap());
    assert_eq!(c.invalidate("customer".into()).unwrap(), 1);
    let fetched = plan_through(&c, &plan, "{}").await.unwrap();
    assert!(!get(&fetched, "calls.customer.cached").as_bool().unwrap());
    let by_url = Function::new_with_args(
        "e",
        "return e.url.includes('/customers/') && e.method === 'GET'",
    );
    assert_eq!(c.invalidate(by_url.into()).unwrap(), 1);
    assert_eq!(c.clear(), 0);
    assert_eq!(
        s.log_of("customer").await.len(),
        2,
        "one read, and one after invalidate"
    );
}
