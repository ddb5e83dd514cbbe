//! The platform pieces under the engine, in each runtime the suite runs in (Chromium,
//! Firefox, Node): `PerformanceClock`'s timers (gloo-timers' `setTimeout` future) and the
//! listener on the caller's `AbortSignal` (a gloo-events `EventListener`).
//!
//! Node differs from browsers in both: its `setTimeout` returns a `Timeout` object, not a
//! number, and its `AbortSignal` is Node's own `EventTarget`.

use super::*;
use parallel_composer::{Clock, PerformanceClock};

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = watchTimers)]
    fn watch_timers() -> JsValue;
    #[wasm_bindgen(js_name = clearedItsOwnTimer)]
    fn cleared_its_own_timer(state: &JsValue) -> bool;
    #[wasm_bindgen(js_name = handleType)]
    fn handle_type(state: &JsValue) -> String;
    #[wasm_bindgen(js_name = isNode)]
    fn is_node() -> bool;
    #[wasm_bindgen(js_name = watchListeners)]
    fn watch_listeners(signal: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = liveListeners)]
    fn live_listeners(counts: &JsValue) -> u32;
    #[wasm_bindgen(js_name = abortLater)]
    fn abort_later(controller: &JsValue, ms: u32);
    #[wasm_bindgen(js_name = neverFetch)]
    fn never_fetch() -> JsValue;
    #[wasm_bindgen(js_name = instantFetch)]
    fn instant_fetch() -> JsValue;
    #[wasm_bindgen(js_name = countGlobalFetch)]
    fn count_global_fetch() -> JsValue;
    #[wasm_bindgen(js_name = countHttpRequests)]
    fn count_http_requests() -> JsValue;
}

fn restore(state: &JsValue) {
    let restore: Function = get(state, "restore").unchecked_into();
    restore.call0(&JsValue::UNDEFINED).unwrap();
}

pub async fn a_sleep_ends_no_earlier_than_its_time() {
    let clock = PerformanceClock;
    for ms in [30.4, 5.0] {
        let start = clock.now();
        clock.sleep(ms).await;
        let took = clock.now() - start;
        // Asked of setTimeout rounded up (31 and 5 ms); a millisecond of slack for the
        // timer's clock against performance.now().
        assert!(took >= ms.ceil() - 1.0, "sleep({ms}) ended after {took} ms");
    }
    // Nothing to wait for: over at once, not never.
    clock.sleep(0.0).await;
    clock.sleep(-3.0).await;
    // Over, it stays over when looked at again.
    let mut sleep = clock.sleep(1.0);
    sleep.as_mut().await;
    assert_eq!(futures::FutureExt::now_or_never(sleep.as_mut()), Some(()));
}

pub async fn a_dropped_sleep_clears_the_timeout_it_set() {
    let clock = PerformanceClock;
    // Synchronous from watch to restore: no other code runs in between to set timers.
    let state = watch_timers();
    let sleep = clock.sleep(20.0);
    drop(sleep);
    restore(&state);
    // The very handle setTimeout returned went back to clearTimeout: in Node a Timeout
    // object, which a number conversion would have lost.
    let expected = if is_node() { "object" } else { "number" };
    assert_eq!(handle_type(&state), expected);
    assert!(
        cleared_its_own_timer(&state),
        "setTimeout's handle was not the one cleared: {}",
        show(&state)
    );
    // Had it not been cleared, its callback would have run (and thrown, its receiver being
    // gone) within this wait.
    clock.sleep(60.0).await;
}

pub async fn a_finished_composition_leaves_no_listener_on_the_signal() {
    let controller = web_sys::AbortController::new().unwrap();
    let signal: JsValue = controller.signal().into();
    let counts = watch_listeners(&signal);
    let options = js("{}");
    Reflect::set(&options, &"fetch".into(), &instant_fetch()).unwrap();
    Reflect::set(&options, &"signal".into(), &signal).unwrap();
    let plan = js(
        r#"{"calls":{"a":{"url":"https://api.example/a"},"b":{"url":"https://api.example/b","after":["a"]}}}"#,
    );
    let result = run_plan(&plan, &js("{}"), &options)
        .await
        .expect("composed");
    assert_eq!(get_str(&result, "calls.b.state"), "ok");
    assert_eq!(
        get_f64(&counts, "added"),
        1.0,
        "one listener per composition"
    );
    assert_eq!(live_listeners(&counts), 0, "the listener was removed");
    // Aborting afterwards reaches nothing of the finished composition.
    controller.abort();
}

pub async fn an_abort_reaches_a_running_composition_through_its_listener() {
    let controller = web_sys::AbortController::new().unwrap();
    let signal: JsValue = controller.signal().into();
    let counts = watch_listeners(&signal);
    let options = js("{}");
    Reflect::set(&options, &"signal".into(), &signal).unwrap();
    // A call that never answers on its own: only the abort can end the composition.
    Reflect::set(&options, &"fetch".into(), &never_fetch()).unwrap();
    let plan = js(r#"{"calls":{"a":{"url":"https://api.example/a"}}}"#);
    let input = js("{}");
    abort_later(&controller, 20);
    let result = run_plan(&plan, &input, &options).await;
    let e = expect_error(result, "ABORTED");
    assert_eq!(get_str(&e, "calls.a.state"), "cancelled");
    assert_eq!(live_listeners(&counts), 0, "the listener was removed");
}

/// Which platform API carries a request the composer sends itself: the global `fetch` in a
/// browser, and in Node its http module while the global `fetch` is Node's own
/// (js/fetch-call.js says why). A global `fetch` replaced by the page or the process (a
/// test's stand-in, an instrumentation) is called as it is, in every runtime.
pub async fn requests_go_through_the_platform_or_the_replaced_global_fetch() {
    let scenario = Scenario::new("transport", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}}}}}}"#,
        scenario.lab(0, "echo")
    ));
    let run = || async {
        let result = run_plan(&plan, &js("{}"), &js("{}"))
            .await
            .expect("composed");
        assert_eq!(get_str(&result, "calls.a.state"), "ok");
    };
    let replaced = count_global_fetch();
    run().await;
    restore(&replaced);
    assert_eq!(
        get_f64(&replaced, "calls"),
        1.0,
        "the replaced fetch was called"
    );
    let http = count_http_requests();
    if http.is_null() {
        return;
    }
    run().await;
    restore(&http);
    assert_eq!(
        get_f64(&http, "calls"),
        1.0,
        "Node's http module sent the request"
    );
}

/// A reply compressed though nobody asked (a compressing proxy in front of a service) reads
/// as its JSON: the browser's fetch decompresses it, and so does the composer over Node's
/// http module, which sends no Accept-Encoding.
pub async fn a_compressed_reply_reads_as_its_json() {
    let scenario = Scenario::new("encoding", "{}").await;
    for encoding in ["gzip", "deflate", "br"] {
        let plan = js(&format!(
            r#"{{"calls":{{"a":{{"url":"{}"}}}}}}"#,
            scenario.lab(0, &format!("echo?encoding={encoding}"))
        ));
        let result = run_plan(&plan, &js("{}"), &js("{}"))
            .await
            .unwrap_or_else(|e| panic!("{encoding}: {}", show(&e)));
        assert_eq!(get_str(&result, "data.a.method"), "GET", "{encoding}");
        assert_eq!(get_str(&result, "data.a.query.encoding"), encoding);
    }
}

/// A URL with user info in it (`http://user:secret@host/`) is refused as a browser's fetch
/// refuses it, in Node too, where Node's http module would send the user info on as Basic
/// authentication: nothing reaches the service.
pub async fn a_url_with_user_info_is_refused_in_every_runtime() {
    let scenario = Scenario::new("userinfo", "{}").await;
    let url = scenario
        .lab(0, "echo")
        .replacen("://", "://user:secret@", 1);
    let plan = js(&format!(r#"{{"calls":{{"a":{{"url":"{url}"}}}}}}"#));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "NETWORK");
    assert_eq!(get_str(&e, "calls.a.state"), "failed");
    assert!(
        scenario.log().await.is_empty(),
        "the service received nothing"
    );
}

/// A header the HTTP client sets itself (`Host`, `Content-Length`) is the client's to set in
/// every runtime: dropped as fetch drops it, never sent on as the plan wrote it (a
/// `Content-Length` on a GET would leave the service waiting for a body that never comes).
pub async fn headers_the_http_client_sets_are_not_sent_as_written() {
    let scenario = Scenario::new("client-headers", "{}").await;
    let url = scenario.lab(0, "echo");
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{url}","headers":{{"Host":"evil.example","Content-Length":"5"}}}}}}}}"#
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .unwrap_or_else(|e| panic!("{}", show(&e)));
    let host = url.split('/').nth(2).unwrap();
    assert_eq!(get_str(&result, "data.a.headers.host"), host);
    assert!(get(&result, "data.a.headers.content-length").is_undefined());
}
