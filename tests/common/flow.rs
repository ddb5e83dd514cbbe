//! Dedupe and concurrency limits against the real mock services: the server's request
//! log is the witness of what was sent once, and its arrival and reply times show how
//! many requests were on the wire at once.

use super::*;

/// The most requests the server held at once: at each arrival, how many requests had
/// arrived and not yet been answered.
fn most_at_once(entries: &[JsValue]) -> usize {
    let spans: Vec<(f64, f64)> = entries
        .iter()
        .map(|e| (get_f64(e, "arrivedAt"), get_f64(e, "repliedAt")))
        .collect();
    spans
        .iter()
        .map(|&(t, _)| spans.iter().filter(|&&(a, r)| a <= t && t < r).count())
        .max()
        .unwrap_or(0)
}

fn entries_of(log: &[JsValue], path: &str) -> usize {
    log.iter().filter(|e| get_str(e, "path") == path).count()
}

pub async fn identical_gets_share_one_request_and_a_different_header_does_not() {
    let s = Scenario::new("dedupe", "{}").await;
    // `a` and `b` fill in to the same GET (from different templates, headers in another
    // order and case); `c` differs in one header value; `d` becomes ready after `a`
    // ended: it waits for `a` itself (and for `slow`), so that holds however late `a`'s
    // reply comes on a loaded machine, where waiting for `slow` alone did not.
    let url = s.lab(0, "echo/user?delay=150");
    let plan = js(&format!(
        r#"{{"calls":{{
        "a":{{"url":"{url}","headers":{{"X-Tenant":"t1","X-Role":"r"}}}},
        "b":{{"url":"{}","headers":{{"x-role":"r","x-tenant":"{{input.tenant}}"}}}},
        "c":{{"url":"{url}","headers":{{"X-Tenant":"t2","X-Role":"r"}}}},
        "slow":{{"url":"{}"}},
        "d":{{"url":"{url}","headers":{{"X-Tenant":"t1","X-Role":"r"}},"after":["a","slow"]}}}}}}"#,
        s.lab(0, "echo/{input.who}?delay=150"),
        s.lab(1, "items?delay=300"),
    ));
    let input = js(r#"{"who":"user","tenant":"t1"}"#);
    let result = run_plan(&plan, &input, &js("{}")).await.expect("composed");
    let log = s.log().await;
    let echoes: Vec<&JsValue> = log
        .iter()
        .filter(|e| get_str(e, "path") == "/lab/echo/user")
        .collect();
    assert_eq!(
        echoes.len(),
        2,
        "a, b and d share one request; c sends its own"
    );
    let mut tenants: Vec<String> = echoes
        .iter()
        .map(|e| get_str(e, "headers.x-tenant"))
        .collect();
    tenants.sort();
    assert_eq!(tenants, ["t1", "t2"]);
    for call in ["a", "b", "c", "d"] {
        assert_eq!(
            get_str(&result, &format!("calls.{call}.state")),
            "ok",
            "{call}"
        );
    }
    assert_eq!(get(&result, "calls.a.sharedFrom"), JsValue::NULL);
    assert_eq!(get_f64(&result, "calls.a.attempts"), 1.0);
    assert_eq!(get_str(&result, "calls.b.sharedFrom"), "a");
    assert_eq!(get_f64(&result, "calls.b.attempts"), 0.0, "b sent nothing");
    assert_eq!(get(&result, "calls.c.sharedFrom"), JsValue::NULL);
    assert_eq!(get_str(&result, "calls.d.sharedFrom"), "a");
    assert!(
        get_f64(&result, "calls.d.startMs") >= get_f64(&result, "calls.a.endMs"),
        "d became ready after a's request had ended, and reused its reply"
    );
    assert_eq!(get_str(&result, "data.b.headers.x-tenant"), "t1");
    assert_eq!(get_str(&result, "data.c.headers.x-tenant"), "t2");
    // One reply, parsed once: the sharers hold the very same object (README).
    assert!(js_sys::Object::is(
        &get(&result, "data.a"),
        &get(&result, "data.b")
    ));

    // Switched off, every call sends its own.
    let s = Scenario::new("nodedupe", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{0}"}},"b":{{"url":"{0}"}}}}}}"#,
        s.lab(0, "echo/x?delay=50")
    ));
    let result = run_plan(&plan, &js("{}"), &js(r#"{"dedupe":false}"#))
        .await
        .expect("composed");
    assert_eq!(entries_of(&s.log().await, "/lab/echo/x"), 2);
    assert_eq!(get(&result, "calls.b.sharedFrom"), JsValue::NULL);
}

pub async fn a_shared_failure_fails_each_sharer_and_writes_are_never_shared() {
    let s = Scenario::new("dedupefail", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "opt":{{"url":"{0}","fallback":{{"items":[]}}}},
        "req":{{"url":"{0}"}},
        "w1":{{"method":"POST","url":"{1}","body":{{"n":1}},"headers":{{"Idempotency-Key":"k"}}}},
        "w2":{{"method":"POST","url":"{1}","body":{{"n":1}},"headers":{{"Idempotency-Key":"k"}}}}}}}}"#,
        s.lab(0, "items?status=404&delay=100"),
        s.lab(1, "echo/w"),
    ));
    let e = expect_error(
        run_plan(&plan, &js("{}"), &js(r#"{"maxAttempts":1}"#)).await,
        "HTTP_STATUS",
    );
    assert_eq!(
        get_str(&e, "call"),
        "req",
        "the required sharer fails the composition"
    );
    assert_eq!(get_str(&e, "calls.opt.state"), "failed");
    assert_eq!(get_str(&e, "calls.req.state"), "failed");
    assert_eq!(get_str(&e, "calls.req.sharedFrom"), "opt");
    assert_eq!(get_f64(&e, "calls.req.status"), 404.0);
    assert!(
        get_str(&e, "calls.req.error.message").starts_with("call `req` (GET "),
        "each record names its own call: {}",
        get_str(&e, "calls.req.error.message")
    );
    let log = s.log().await;
    assert_eq!(entries_of(&log, "/lab/items"), 1, "one request for both");
    assert_eq!(
        entries_of(&log, "/lab/echo/w"),
        2,
        "identical writes both go out"
    );
}

pub async fn max_concurrency_keeps_at_most_that_many_requests_at_the_servers() {
    let s = Scenario::new("maxconc", "{}").await;
    // Six independent calls, each to its own origin so that the browser's own limit of
    // six connections per origin plays no part.
    let calls: Vec<String> = (0..6)
        .map(|i| format!(r#""c{i}":{{"url":"{}"}}"#, s.lab(i, "items?delay=150")))
        .collect();
    let plan = js(&format!(r#"{{"calls":{{{}}}}}"#, calls.join(",")));
    let result = run_plan(&plan, &js("{}"), &js(r#"{"maxConcurrency":2}"#))
        .await
        .expect("composed");
    let log = s.log().await;
    assert_eq!(log.len(), 6, "every call was sent once");
    assert!(log.iter().all(|e| get_f64(e, "status") == 200.0));
    assert_eq!(
        most_at_once(&log),
        2,
        "never more than two at the servers, and two at first"
    );
    let t = |c: usize, k: &str| get_f64(&result, &format!("calls.c{c}.{k}"));
    for c in 0..6 {
        assert_eq!(get_str(&result, &format!("calls.c{c}.state")), "ok");
    }
    assert_eq!((t(0, "queuedMs"), t(1, "queuedMs")), (0.0, 0.0));
    for c in 2..6 {
        assert!(t(c, "queuedMs") > 0.0, "c{c} waited for a slot");
        // Its wait ended when a slot freed: after an earlier call ended.
        let freed = (0..c).map(|e| t(e, "endMs")).fold(f64::MAX, f64::min);
        assert!(
            t(c, "startMs") >= freed,
            "c{c} started before any slot freed"
        );
    }
    // Unlimited, the same plan has all six at the servers at once.
    let s = Scenario::new("maxconc0", "{}").await;
    let calls: Vec<String> = (0..6)
        .map(|i| format!(r#""c{i}":{{"url":"{}"}}"#, s.lab(i, "items?delay=150")))
        .collect();
    let plan = js(&format!(r#"{{"calls":{{{}}}}}"#, calls.join(",")));
    run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(most_at_once(&s.log().await), 6);
}

pub async fn a_per_origin_limit_still_lets_other_origins_overlap() {
    let s = Scenario::new("perorigin", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a1":{{"url":"{0}"}},"a2":{{"url":"{0}"}},"b1":{{"url":"{1}"}},"b2":{{"url":"{1}"}}}}}}"#,
        s.lab(0, "items?delay=200"),
        s.lab(1, "items?delay=200"),
    ));
    let result = run_plan(
        &plan,
        &js("{}"),
        &js(r#"{"maxConcurrencyPerOrigin":1,"dedupe":false}"#),
    )
    .await
    .expect("composed");
    let log = s.log().await;
    assert_eq!(log.len(), 4);
    let origin = |name: &str| -> Vec<JsValue> {
        log.iter()
            .filter(|e| get_str(e, "service") == name)
            .cloned()
            .collect()
    };
    assert_eq!(most_at_once(&origin(SERVICES[0])), 1, "one at a time on a");
    assert_eq!(most_at_once(&origin(SERVICES[1])), 1, "one at a time on b");
    assert_eq!(most_at_once(&log), 2, "a's and b's requests overlap");
    let queued = |c: &str| get_f64(&result, &format!("calls.{c}.queuedMs"));
    assert_eq!((queued("a1"), queued("b1")), (0.0, 0.0));
    assert!(queued("a2") > 0.0 && queued("b2") > 0.0);
}

pub async fn concurrency_options_are_validated_and_reach_compose_order() {
    let s = Scenario::new("concopt", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}}}}}}"#,
        s.lab(0, "echo")
    ));
    for (option, bad) in [
        ("maxConcurrency", "0"),
        ("maxConcurrency", "-1"),
        ("maxConcurrency", "1.5"),
        ("maxConcurrency", "\"2\""),
        ("maxConcurrency", "1e7"),
        ("maxConcurrencyPerOrigin", "0"),
        ("maxConcurrencyPerOrigin", "true"),
    ] {
        let e = expect_error(
            run_plan(&plan, &js("{}"), &js(&format!(r#"{{"{option}":{bad}}}"#))).await,
            "INVALID_INPUT",
        );
        assert_eq!(
            get_str(&e, "message"),
            format!(
                "options.{option} must be a whole number of requests from 1 to 1000000; \
                 leave it out for no limit"
            ),
            "{option}: {bad}"
        );
    }
    for bad in ["\"yes\"", "1", "{}"] {
        let e = expect_error(
            run_plan(&plan, &js("{}"), &js(&format!(r#"{{"dedupe":{bad}}}"#))).await,
            "INVALID_INPUT",
        );
        assert_eq!(
            get_str(&e, "message"),
            "options.dedupe must be true or false"
        );
    }
    assert!(s.log().await.is_empty(), "nothing was sent");

    // composeOrder one request at a time: the order still comes out right.
    let s = Scenario::new("orderconc", r#"{"defaultLatency":20}"#).await;
    let order = run_order(GOLD, &options(&s.services(), r#"{"maxConcurrency":1}"#))
        .await
        .expect("order placed");
    assert!(get_str(&order, "orderId").starts_with("ord-"));
    let log = s.log().await;
    assert_eq!(log.len(), 10);
    assert_eq!(most_at_once(&log), 1, "one request at a time");
    assert!(
        SERVICES
            .iter()
            .any(|name| get_f64(&order, &format!("calls.{name}.queuedMs")) > 0.0),
        "calls that were ready together waited their turn"
    );
}

pub async fn an_abort_empties_the_queue_and_queued_writes_were_never_sent() {
    let s = Scenario::new("queueabort", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"hang":{{"url":"{}"}},"write":{{"method":"POST","url":"{}","body":{{}}}},"read":{{"url":"{}"}}}}}}"#,
        s.lab(0, "echo?fault=hang"),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
    ));
    let controller = web_sys::AbortController::new().unwrap();
    let o = js(r#"{"maxConcurrency":1}"#);
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let input = js("{}");
    let composition = run_plan(&plan, &input, &o);
    let abort_once_sent = async {
        while s.log().await.is_empty() {
            delay(10.0).await;
        }
        controller.abort();
    };
    let (result, ()) = futures::join!(composition, abort_once_sent);
    let e = expect_error(result, "ABORTED");
    assert_eq!(get_str(&e, "calls.hang.state"), "cancelled");
    for call in ["write", "read"] {
        assert_eq!(
            get_str(&e, &format!("calls.{call}.state")),
            "cancelled",
            "{call} never left the queue: never sent, so never unknown"
        );
        assert_eq!(get_f64(&e, &format!("calls.{call}.attempts")), 0.0);
        assert_eq!(get(&e, &format!("calls.{call}.startMs")), JsValue::NULL);
        assert!(get_f64(&e, &format!("calls.{call}.queuedMs")) > 0.0);
    }
    assert!(
        s.saw_aborted(None, 1).await,
        "only the hanging request reached a server, and it was aborted"
    );
}
