//! Response limits, against the mock's lab endpoints and fetch stand-ins: the byte cap
//! (`maxResponseBytes`, checked while the body streams), empty and non-JSON replies, and
//! refused redirects. Each message must name the call and its URL template, never the
//! filled-in URL.

use super::*;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = endlessFetch)]
    fn endless_fetch(chunk: u32) -> JsValue;
    #[wasm_bindgen(js_name = cannedFetch)]
    fn canned_fetch(status: u16, body: JsValue, headers: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = plainFetch)]
    fn plain_fetch(reply: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = bigText)]
    fn big_text(n: u32) -> JsValue;
}

fn message(e: &JsValue) -> String {
    get_str(e, "message")
}

pub async fn a_reply_over_max_response_bytes_is_refused_unread() {
    let s = Scenario::new("cap", "{}").await;
    let template = format!("{}?kb={{input.kb}}", s.lab(0, "big"));
    let plan = js(&format!(r#"{{"calls":{{"big":{{"url":"{template}"}}}}}}"#));
    let small = run_plan(
        &plan,
        &js(r#"{"kb":32}"#),
        &js(r#"{"maxResponseBytes":65536}"#),
    )
    .await
    .expect("32 KiB is under the cap");
    assert!(get_f64(&small, "data.big.rows.length") > 0.0);

    let e = expect_error(
        run_plan(
            &plan,
            &js(r#"{"kb":256}"#),
            &js(r#"{"maxResponseBytes":65536}"#),
        )
        .await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_str(&e, "call"), "big");
    assert_eq!(get_f64(&e, "status"), 200.0);
    let m = message(&e);
    assert!(
        m.starts_with(&format!("call `big` (GET {template}) failed: the reply ")),
        "{m}"
    );
    // Refused from its Content-Length, or while streaming where that header is hidden.
    assert!(
        m.contains("the 64 KiB cap (options.maxResponseBytes)"),
        "{m}"
    );
    assert!(!m.contains("kb=256"), "never the filled-in URL: {m}");
    assert_eq!(get_f64(&e, "calls.big.attempts"), 1.0, "never retried");
    assert_eq!(get_str(&e, "calls.big.state"), "failed");
    assert_eq!(s.log().await.len(), 2, "one request each, no retry");
}

pub async fn the_default_cap_is_5_mib() {
    let s = Scenario::new("defcap", "{}").await;
    let plan = |kb: u32| {
        js(&format!(
            r#"{{"calls":{{"big":{{"url":"{}?kb={kb}"}}}}}}"#,
            s.lab(0, "big")
        ))
    };
    let exact = run_plan(&plan(5 * 1024), &js("{}"), &js("{}"))
        .await
        .expect("exactly 5 MiB is within the cap");
    assert_eq!(get_str(&exact, "calls.big.state"), "ok");
    let e = expect_error(
        run_plan(&plan(6 * 1024), &js("{}"), &js("{}")).await,
        "BAD_RESPONSE",
    );
    assert!(
        message(&e).contains("the 5 MiB cap (options.maxResponseBytes)"),
        "{}",
        message(&e)
    );
}

pub async fn max_response_bytes_is_validated_and_reaches_compose_order() {
    let s = Scenario::new("capopt", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}}}}}}"#,
        s.lab(0, "echo")
    ));
    for bad in ["0", "-1", "1.5", "\"1MB\"", "true", "1e300"] {
        let e = expect_error(
            run_plan(
                &plan,
                &js("{}"),
                &js(&format!(r#"{{"maxResponseBytes":{bad}}}"#)),
            )
            .await,
            "INVALID_INPUT",
        );
        assert_eq!(
            message(&e),
            "options.maxResponseBytes must be a whole number of bytes above 0, such as 1048576 for 1 MiB",
            "{bad}"
        );
    }
    assert!(s.log().await.is_empty(), "nothing was sent");

    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"maxResponseBytes":64}"#)).await,
        "BAD_RESPONSE",
    );
    let call = get_str(&e, "call");
    assert!(call == "customer" || call == "cart", "{call}");
    assert!(message(&e).contains("the 64 bytes cap"), "{}", message(&e));
    assert_eq!(get_str(&e, "calls.payment.state"), "skipped");
    assert!(s.log_of("payment").await.is_empty());
}

pub async fn an_endless_body_is_cut_off_while_streaming() {
    let endless = endless_fetch(16 * 1024);
    let plan = js(r#"{"calls":{"feed":{"url":"https://api.example/feed/{input.token}"}}}"#);
    let e = expect_error(
        run_plan(
            &plan,
            &js(r#"{"token":"t0k3n"}"#),
            &with_fetch(&endless, r#"{"maxResponseBytes":65536}"#),
        )
        .await,
        "BAD_RESPONSE",
    );
    assert_eq!(
        message(&e),
        "call `feed` (GET https://api.example/feed/{input.token}) failed: the reply is larger \
         than the 64 KiB cap (options.maxResponseBytes); it was not read further"
    );
    assert_eq!(get(&endless, "state.cancelled"), JsValue::TRUE);
    let pulls = get_f64(&endless, "state.pulls");
    assert!(
        (5.0..=8.0).contains(&pulls),
        "stopped at the cap, not at the end: {pulls} pulls of 16 KiB"
    );

    // A stand-in without a body stream is read whole, then held to the same cap.
    let text_only = js(r#"{"status":200,"headers":null}"#);
    let big = big_text(2000);
    let text = Closure::<dyn FnMut() -> JsValue>::new(move || Promise::resolve(&big).into());
    Reflect::set(&text_only, &"text".into(), text.as_ref()).unwrap();
    let e = expect_error(
        run_plan(
            &plan,
            &js(r#"{"token":"x"}"#),
            &with_fetch(&plain_fetch(text_only), r#"{"maxResponseBytes":1000}"#),
        )
        .await,
        "BAD_RESPONSE",
    );
    assert!(
        message(&e).contains("larger than the 1000 bytes cap"),
        "{}",
        message(&e)
    );
    // One with json() alone still works.
    let json_only = js(r#"{"status":200}"#);
    let parsed =
        Closure::<dyn FnMut() -> JsValue>::new(|| Promise::resolve(&js(r#"{"id":7}"#)).into());
    Reflect::set(&json_only, &"json".into(), parsed.as_ref()).unwrap();
    let result = run_plan(
        &plan,
        &js(r#"{"token":"x"}"#),
        &with_fetch(&plain_fetch(json_only), "{}"),
    )
    .await
    .expect("a json()-only stand-in");
    assert_eq!(get_f64(&result, "data.feed.id"), 7.0);
}

pub async fn replies_that_are_not_json_say_status_type_and_start() {
    let s = Scenario::new("notjson", "{}").await;
    let template = s.lab(0, "not-json");
    let plan = js(&format!(r#"{{"calls":{{"text":{{"url":"{template}"}}}}}}"#));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
    assert_eq!(get_f64(&e, "status"), 200.0);
    assert_eq!(
        message(&e),
        format!(
            "call `text` (GET {template}) failed: the reply is not JSON (HTTP 200, content-type \
             text/plain; charset=utf-8): \"not json\""
        )
    );

    // A login page where JSON was expected: quoted short, its line breaks escaped.
    let page = format!(
        "<!doctype html>\n<title>Sign in</title>\r\n{}",
        "<p>x</p>".repeat(100)
    );
    let canned = canned_fetch(
        200,
        JsValue::from_str(&page),
        js(r#"{"content-type":"text/html"}"#),
    );
    let plan = js(r#"{"calls":{"me":{"url":"https://api.example/me"}}}"#);
    let e = expect_error(
        run_plan(&plan, &js("{}"), &with_fetch(&canned, "{}")).await,
        "BAD_RESPONSE",
    );
    let m = message(&e);
    assert!(
        m.starts_with(
            "call `me` (GET https://api.example/me) failed: the reply is not JSON (HTTP 200, \
             content-type text/html): \"<!doctype html>\\n<title>Sign in</title>\\r\\n<p>x</p>"
        ),
        "{m}"
    );
    assert!(m.ends_with("…\""), "cut short: {m}");
    assert!(!m.contains('\n') && !m.contains('\r'), "{m}");
    assert!(m.chars().count() < 250, "{m}");
}

pub async fn an_empty_reply_fails_only_where_json_is_expected() {
    let s = Scenario::new("empty", "{}").await;
    let empty = s.lab(0, "empty");
    // Nobody reads it: a 204 is null data.
    let plan = js(&format!(
        r#"{{"calls":{{"gone":{{"url":"{empty}"}},"then":{{"url":"{}","after":["gone"]}}}}}}"#,
        s.lab(1, "echo")
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("an unread 204 is fine");
    assert_eq!(get(&result, "data.gone"), JsValue::NULL);
    assert_eq!(get_f64(&result, "calls.gone.status"), 204.0);
    assert_eq!(get_str(&result, "calls.then.state"), "ok");

    // Another call reads it: the 204 is a bad response, and the reader never goes out.
    let plan = js(&format!(
        r#"{{"calls":{{"src":{{"url":"{empty}"}},"use":{{"url":"{}?id={{src.id}}"}}}}}}"#,
        s.lab(1, "echo")
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "src");
    assert_eq!(get_f64(&e, "status"), 204.0);
    assert_eq!(
        message(&e),
        format!(
            "call `src` (GET {empty}) failed: expected a JSON reply, but it is empty (HTTP 204, \
             no content-type)"
        )
    );
    assert_eq!(get_f64(&e, "calls.src.attempts"), 1.0);
    assert_eq!(get_str(&e, "calls.use.state"), "skipped");

    // An empty 200 that claims to be JSON, read by another call.
    let canned = canned_fetch(
        200,
        JsValue::from_str(""),
        js(r#"{"content-type":"application/json"}"#),
    );
    let plan = js(
        r#"{"calls":{"src":{"url":"https://api.example/src"},"use":{"url":"https://api.example/use/{src.id}"}}}"#,
    );
    let e = expect_error(
        run_plan(&plan, &js("{}"), &with_fetch(&canned, "{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(
        message(&e),
        "call `src` (GET https://api.example/src) failed: expected a JSON reply, but it is \
         empty (HTTP 200, content-type application/json)"
    );

    // A HEAD reply is empty, though its Content-Length tells of a GET over the cap.
    let canned = canned_fetch(
        200,
        JsValue::NULL,
        js(r#"{"content-length":"999999999","content-type":"application/json"}"#),
    );
    let plan = js(r#"{"calls":{"probe":{"url":"https://api.example/file","method":"HEAD"}}}"#);
    let result = run_plan(&plan, &js("{}"), &with_fetch(&canned, "{}"))
        .await
        .expect("a HEAD is not a body");
    assert_eq!(get(&result, "data.probe"), JsValue::NULL);
    assert_eq!(get_str(&result, "calls.probe.state"), "ok");
}

pub async fn redirects_are_refused_not_followed() {
    // A real 307 from the mock: browsers show it as an opaque redirect (no status), Node
    // as the 307 itself. Either way it is not followed.
    let s = Scenario::new("redirect", "{}").await;
    let template = format!("{}?status=307", s.lab(0, "echo"));
    let plan = js(&format!(
        r#"{{"calls":{{"moved":{{"url":"{template}"}}}}}}"#
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "moved");
    let status = get(&e, "status");
    assert!(
        status.is_null() || status.as_f64() == Some(307.0),
        "{status:?}"
    );
    let m = message(&e);
    assert!(
        m.starts_with(&format!(
            "call `moved` (GET {template}) failed: it was redirected"
        )),
        "{m}"
    );
    assert!(
        m.ends_with("; redirects are refused so that headers never reach another origin"),
        "{m}"
    );
    assert_eq!(get_f64(&e, "calls.moved.attempts"), 1.0, "never retried");
    assert_eq!(s.log().await.len(), 1);

    // A redirect to another origin: the message shows that origin, never the full target.
    let canned = canned_fetch(
        302,
        JsValue::NULL,
        js(r#"{"location":"https://elsewhere.example/login?token=s3cret"}"#),
    );
    let plan = js(r#"{"calls":{"me":{"url":"https://api.example/me"}}}"#);
    let e = expect_error(
        run_plan(&plan, &js("{}"), &with_fetch(&canned, "{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_f64(&e, "status"), 302.0);
    assert_eq!(
        message(&e),
        "call `me` (GET https://api.example/me) failed: it was redirected (HTTP 302 to \
         https://elsewhere.example); redirects are refused so that headers never reach another \
         origin"
    );
    assert_eq!(get_str(&get(&canned, "inits"), "0.redirect"), "manual");

    // A browser's opaque redirect: no status, no target.
    let opaque = plain_fetch(js(r#"{"type":"opaqueredirect","status":0,"body":null}"#));
    let e = expect_error(
        run_plan(&plan, &js("{}"), &with_fetch(&opaque, "{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get(&e, "status"), JsValue::NULL);
    assert_eq!(get(&e, "calls.me.status"), JsValue::NULL);
    assert_eq!(
        message(&e),
        "call `me` (GET https://api.example/me) failed: it was redirected; redirects are \
         refused so that headers never reach another origin"
    );
}
