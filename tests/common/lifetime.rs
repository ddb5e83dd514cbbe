//! What a composition does with time and with its own lifetime: its limits are measured
//! on `performance.now()`, so a wall-clock jump changes nothing, and dropping the
//! composition (the Rust future) aborts the requests it had under way.

use super::*;

/// Runs `f` with `Date.now` jumping an hour ahead at every call, then restores it.
async fn with_a_jumping_wall_clock<F: std::future::Future>(f: F) -> F::Output {
    let date: Object = Reflect::get(&js_sys::global(), &"Date".into())
        .unwrap()
        .unchecked_into();
    let original = Reflect::get(&date, &"now".into()).unwrap();
    let jumping = Function::new_no_args(
        "globalThis.__pcJump = (globalThis.__pcJump || 0) + 3600000; \
         return 1700000000000 + globalThis.__pcJump;",
    );
    Reflect::set(&date, &"now".into(), &jumping).unwrap();
    let out = f.await;
    Reflect::set(&date, &"now".into(), &original).unwrap();
    out
}

pub async fn time_limits_follow_the_monotonic_clock_not_the_wall_clock() {
    let s = Scenario::new("wallclock", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}?delay=150"}},"b":{{"url":"{}?delay=150","after":["a"]}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "items")
    ));
    let result = with_a_jumping_wall_clock(run_plan(
        &plan,
        &js("{}"),
        &js(r#"{"timeoutMs":2000,"deadlineMs":5000}"#),
    ))
    .await
    .unwrap_or_else(|e| panic!("a wall-clock jump cut the composition short: {}", show(&e)));
    assert_eq!(get_str(&result, "calls.b.state"), "ok");
    let took = get_f64(&result, "calls.b.endMs") - get_f64(&result, "calls.a.startMs");
    assert!(
        (250.0..2000.0).contains(&took),
        "times come from performance.now(): {took} ms"
    );
}

pub async fn dropping_the_composition_aborts_its_requests() {
    let s = Scenario::new("drop", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"slow":{{"url":"{}?fault=hang"}},"also":{{"url":"{}?fault=hang"}}}}}}"#,
        s.lab(0, "echo"),
        s.lab(1, "echo")
    ));
    let (input, options) = (js("{}"), js("{}"));
    {
        let composition = Box::pin(run_plan(&plan, &input, &options));
        let both_arrived = Box::pin(async {
            while s.log().await.len() < 2 {
                delay(10.0).await;
            }
        });
        // Run the composition until both requests are at the servers, then drop it.
        match futures::future::select(composition, both_arrived).await {
            futures::future::Either::Left((result, _)) => {
                panic!("a hanging composition settled: {result:?}")
            }
            futures::future::Either::Right(((), composition)) => drop(composition),
        }
    }
    assert!(
        s.saw_aborted(None, 2).await,
        "both requests were aborted on the wire"
    );
}

pub async fn an_abort_from_inside_fetch_sends_nothing_more() {
    // Three independent writes; the injected fetch aborts the composition's signal when
    // asked for the first request, then sends it. The abort runs its listener at once, so
    // the two writes not yet sent must not be.
    let s = Scenario::new("abort-in-fetch", "{}").await;
    let controller = web_sys::AbortController::new().unwrap();
    Reflect::set(&js_sys::global(), &"__pcAbortOnFirst".into(), &controller).unwrap();
    let fetch = Function::new_with_args(
        "url, init",
        "const c = globalThis.__pcAbortOnFirst; \
         if (c && !c.signal.aborted) c.abort(); \
         return fetch(url, init);",
    );
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"method":"POST","url":"{}"}},"b":{{"method":"POST","url":"{}"}},"c":{{"method":"POST","url":"{}"}}}}}}"#,
        s.lab(0, "echo"),
        s.lab(1, "echo"),
        s.lab(2, "echo")
    ));
    let o = js("{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    Reflect::set(&o, &"fetch".into(), &fetch).unwrap();
    let e = expect_error(run_plan(&plan, &js("{}"), &o).await, "ABORTED");
    let _ = Reflect::delete_property(&js_sys::global(), &"__pcAbortOnFirst".into());
    assert_eq!(get_str(&e, "calls.b.state"), "cancelled", "never sent");
    assert_eq!(get_str(&e, "calls.c.state"), "cancelled", "never sent");
    assert_eq!(get_f64(&e, "calls.b.attempts"), 0.0);
    assert_eq!(get_f64(&e, "calls.c.attempts"), 0.0);
    // The servers are the witness: at most the first write reached them.
    assert!(
        s.log().await.len() <= 1,
        "sent after the abort: {:?}",
        s.log().await.len()
    );
}

/// An injected fetch that reads `init.signal` only after the request was aborted (here, by
/// its time limit) finds it aborted: a transport that checks the signal when it gets round
/// to sending learns that it must not.
pub async fn a_signal_read_after_the_abort_is_aborted() {
    let fetch = Function::new_with_args(
        "url, init",
        "globalThis.__pcLateInit = init; return new Promise(() => {});",
    );
    let plan = js(r#"{"calls":{"a":{"url":"https://api.example/slow"}}}"#);
    let o = js(r#"{"timeoutMs":50}"#);
    Reflect::set(&o, &"fetch".into(), &fetch).unwrap();
    let e = expect_error(run_plan(&plan, &js("{}"), &o).await, "TIMEOUT");
    assert_eq!(get_str(&e, "calls.a.state"), "failed");
    let init = Reflect::get(&js_sys::global(), &"__pcLateInit".into()).unwrap();
    let _ = Reflect::delete_property(&js_sys::global(), &"__pcLateInit".into());
    assert_eq!(
        get(&init, "signal.aborted"),
        JsValue::TRUE,
        "read after the time limit, the signal says the request was aborted"
    );
}

/// An injected fetch that wraps the real one with a copy of `init` (`{...init}`) still
/// hands it the request's signal: the request over its time limit is aborted on the wire.
pub async fn a_copy_of_init_carries_the_signal_to_the_real_fetch() {
    let s = Scenario::new("init-copy", "{}").await;
    let fetch = Function::new_with_args("url, init", "return fetch(url, { ...init });");
    let plan = js(&format!(
        r#"{{"calls":{{"slow":{{"url":"{}?fault=hang"}}}}}}"#,
        s.lab(0, "echo")
    ));
    let o = js(r#"{"timeoutMs":300}"#);
    Reflect::set(&o, &"fetch".into(), &fetch).unwrap();
    let e = expect_error(run_plan(&plan, &js("{}"), &o).await, "TIMEOUT");
    assert_eq!(get_str(&e, "calls.slow.state"), "failed");
    assert!(
        s.saw_aborted(None, 1).await,
        "the copy's signal aborted the request on the wire"
    );
}
