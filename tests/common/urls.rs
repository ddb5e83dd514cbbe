//! URL templates, origins and credentials, where the browser (or Node) is the witness:
//! which `credentials` each request's init carries, that a plan naming an origin outside
//! `allowedOrigins` sends nothing, that a token never follows a redirect to another
//! origin, and that a hostile value cannot reach another path on the server (the mock's
//! log says which path each request arrived at). The rules themselves have native unit
//! tests in src/template.rs, src/scope.rs and src/plan.rs.

use super::*;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = recordingFetch)]
    fn recording_fetch(reply: Option<String>) -> JsValue;
    fn nested(depth: u32, leaf: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = cyclicPlan)]
    fn cyclic_plan() -> JsValue;
    #[wasm_bindgen(js_name = loneSurrogate)]
    fn lone_surrogate(before: &str, after: &str) -> JsValue;
    #[wasm_bindgen(js_name = pageOrigin)]
    fn page_origin() -> Option<String>;
    #[wasm_bindgen(js_name = isBrowser)]
    fn is_browser() -> bool;
}

/// What the recording fetch saw: `(url, init)` pairs.
fn seen(recorder: &JsValue) -> Vec<(String, JsValue)> {
    Array::from(&get(recorder, "seen"))
        .iter()
        .map(|s| (get_str(&s, "url"), get(&s, "init")))
        .collect()
}

fn message(e: &JsValue) -> String {
    get_str(e, "message")
}

/// A JSON string literal of `text`.
fn quote(text: &str) -> String {
    String::from(JSON::stringify(&text.into()).unwrap())
}

pub async fn credentials_are_same_origin_by_default_and_include_only_for_the_named_origin() {
    let plan = js(r#"{"calls":{
        "a": {"url":"https://api.example/a"},
        "b": {"url":"https://other.example/b"},
        "c": {"method":"POST","url":"https://quiet.example/c","body":{"x":1}},
        "d": {"url":"https://API.example:443/d"},
        "e": {"url":"/e"}
    }}"#);
    let credentials_of = |recorder: &JsValue| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = seen(recorder)
            .into_iter()
            .map(|(url, init)| (url, get_str(&init, "credentials")))
            .collect();
        out.sort();
        out
    };

    // No option: every request says same-origin, whatever the fetch's own default is.
    let recorder = recording_fetch(None);
    run_plan(&plan, &js("{}"), &with_fetch(&recorder, "{}"))
        .await
        .expect("composed");
    let all: Vec<String> = credentials_of(&recorder)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(all, vec!["same-origin"; 5]);

    // `include` for one origin (however its URLs write it), `omit` for another.
    let recorder = recording_fetch(None);
    let mut extra = String::from(
        r#"{"credentials":{"https://api.example":"include","https://quiet.example":"omit""#,
    );
    if let Some(page) = page_origin() {
        extra.push_str(&format!(r#","{page}":"omit""#));
    }
    extra.push_str("}}");
    run_plan(&plan, &js("{}"), &with_fetch(&recorder, &extra))
        .await
        .expect("composed");
    // A relative URL is on the page's origin: `omit` there too in a browser; Node has no page.
    let relative = if page_origin().is_some() {
        "omit"
    } else {
        "same-origin"
    };
    assert_eq!(
        credentials_of(&recorder),
        vec![
            ("/e".to_owned(), relative.to_owned()),
            ("https://API.example:443/d".to_owned(), "include".to_owned()),
            ("https://api.example/a".to_owned(), "include".to_owned()),
            (
                "https://other.example/b".to_owned(),
                "same-origin".to_owned()
            ),
            ("https://quiet.example/c".to_owned(), "omit".to_owned()),
        ]
    );

    // Bad values are refused before anything is sent.
    let recorder = recording_fetch(None);
    let bad = [
        (
            r#"{"credentials":"include"}"#,
            "options.credentials must be an object from origin to \"include\", \"same-origin\" or \"omit\", such as {\"https://api.example\": \"include\"}",
        ),
        (
            r#"{"credentials":{"api.example":"include"}}"#,
            "each key of options.credentials must be an origin such as \"https://api.example\" (scheme, host and port, no path), not \"api.example\"",
        ),
        (
            r#"{"credentials":{"https://api.example/v1":"include"}}"#,
            "each key of options.credentials must be an origin such as \"https://api.example\" (scheme, host and port, no path), not \"https://api.example/v1\"",
        ),
        (
            r#"{"credentials":{"https://api.example":"always"}}"#,
            "options.credentials[\"https://api.example\"] must be \"include\", \"same-origin\" or \"omit\"",
        ),
    ];
    for (extra, expected) in bad {
        let e = expect_error(
            run_plan(&plan, &js("{}"), &with_fetch(&recorder, extra)).await,
            "INVALID_INPUT",
        );
        assert_eq!(message(&e), expected);
    }
    assert!(seen(&recorder).is_empty(), "nothing was sent");
}

pub async fn credentials_include_reaches_the_real_fetch_for_its_origin_only() {
    // The mock answers every origin with `Access-Control-Allow-Origin: *`, which a browser
    // refuses for a request made with `credentials: "include"`: so in a browser the call
    // to the origin opted into `include` fails (after its request arrived), and the call
    // to the other origin, sent `same-origin`, succeeds. Node's fetch has no cookies and no
    // CORS: both succeed there.
    let s = Scenario::new("credentials", "{}").await;
    let included = s.lab(0, "echo");
    let plain = s.lab(1, "echo");
    let plan = js(&format!(
        r#"{{"calls":{{"included":{{"url":"{included}","optional":true}},"plain":{{"url":"{plain}"}}}}}}"#
    ));
    let options = js(&format!(
        r#"{{"maxAttempts":1,"credentials":{{"{}":"include"}}}}"#,
        service_origin(0)
    ));
    let result = run_plan(&plan, &js("{}"), &options)
        .await
        .expect("the required call succeeds");
    assert_eq!(get_str(&result, "calls.plain.state"), "ok");
    if is_browser() {
        assert_eq!(get_str(&result, "calls.included.state"), "failed");
        assert_eq!(get_str(&result, "calls.included.error.code"), "NETWORK");
    } else {
        assert_eq!(get_str(&result, "calls.included.state"), "ok");
    }
    let log = s.log().await;
    assert_eq!(log.len(), 2, "both requests were sent: {log:?}");

    // Without the option, the same call succeeds in a browser too.
    let result = run_plan(&plan, &js("{}"), &js(r#"{"maxAttempts":1}"#))
        .await
        .expect("composed");
    assert_eq!(get_str(&result, "calls.included.state"), "ok");
}

pub async fn allowed_origins_refuse_a_plan_before_any_request() {
    let s = Scenario::new("allowed", "{}").await;
    let a = s.lab(0, "echo");
    let b = s.lab(1, "echo");
    let undo = s.lab(2, "echo");
    let plan = js(&format!(
        r#"{{"calls":{{
            "a":{{"url":"{a}"}},
            "b":{{"method":"POST","url":"{b}","body":{{}},"compensate":{{"method":"DELETE","url":"{undo}"}}}}
        }}}}"#
    ));
    let (o0, o1, o2) = (service_origin(0), service_origin(1), service_origin(2));

    let e = expect_error(
        run_plan(
            &plan,
            &js("{}"),
            &js(&format!(r#"{{"allowedOrigins":["{o0}"]}}"#)),
        )
        .await,
        "INVALID_PLAN",
    );
    assert_eq!(get_str(&e, "call"), "b");
    assert_eq!(
        message(&e),
        format!("calls.b.url goes to {o1}, which is not in options.allowedOrigins ({o0}); add it there if the plan may call it")
    );
    assert_eq!(get_str(&e, "calls.a.state"), "not-sent");
    let e = expect_error(
        run_plan(
            &plan,
            &js("{}"),
            &js(&format!(r#"{{"allowedOrigins":["{o0}","{o1}"]}}"#)),
        )
        .await,
        "INVALID_PLAN",
    );
    assert!(
        message(&e).starts_with(&format!(
            "calls.b.compensate.url goes to {o2}, which is not"
        )),
        "{}",
        message(&e)
    );
    let e = expect_error(
        run_plan(&plan, &js("{}"), &js(r#"{"allowedOrigins":[]}"#)).await,
        "INVALID_PLAN",
    );
    assert_eq!(get_str(&e, "call"), "a", "an empty list allows nothing");
    assert!(s.log().await.is_empty(), "nothing was sent");

    // Listed (in any letter case), they run; without the option, as before.
    let listed = format!(
        r#"{{"allowedOrigins":["{o0}","{}","{o2}"]}}"#,
        o1.replace("http://", "HTTP://")
    );
    run_plan(&plan, &js("{}"), &js(&listed))
        .await
        .expect("every origin is allowed");
    assert_eq!(s.log().await.len(), 2);
    run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("no allow-list");
    assert_eq!(s.log().await.len(), 4);

    // A relative URL is on the page's origin; where there is no page it is refused.
    let relative = js(r#"{"calls":{"r":{"url":"/r"}}}"#);
    let recorder = recording_fetch(None);
    // Refused either way: on the page's origin, which is not listed, or with no page.
    let e = expect_error(
        run_plan(
            &relative,
            &js("{}"),
            &with_fetch(&recorder, &format!(r#"{{"allowedOrigins":["{o0}"]}}"#)),
        )
        .await,
        "INVALID_PLAN",
    );
    match page_origin() {
        Some(page) => {
            assert!(
                message(&e).starts_with(&format!("calls.r.url goes to {page}, which is not")),
                "{}",
                message(&e)
            );
            run_plan(
                &relative,
                &js("{}"),
                &with_fetch(&recorder, &format!(r#"{{"allowedOrigins":["{page}"]}}"#)),
            )
            .await
            .expect("the page's own origin is listed");
            assert_eq!(seen(&recorder).len(), 1);
        }
        None => {
            assert_eq!(
                message(&e),
                "calls.r.url is relative (/r), but there is no page origin to resolve it against; write an absolute URL, or leave out options.allowedOrigins"
            );
            assert!(seen(&recorder).is_empty());
        }
    }

    // The option itself is checked.
    for (extra, expected) in [
        (
            r#"{"allowedOrigins":"https://api.example"}"#,
            "options.allowedOrigins must be an array of origins such as [\"https://api.example\"]",
        ),
        (
            r#"{"allowedOrigins":["https://api.example","https://api.example/v1"]}"#,
            "options.allowedOrigins.1 must be an origin such as \"https://api.example\" (scheme, host and port, no path), not \"https://api.example/v1\"",
        ),
        (
            r#"{"allowedOrigins":[7]}"#,
            "options.allowedOrigins.0 must be an origin such as \"https://api.example\" (scheme, host and port, no path)",
        ),
    ] {
        let e = expect_error(
            run_plan(&plan, &js("{}"), &js(extra)).await,
            "INVALID_INPUT",
        );
        assert_eq!(message(&e), expected);
    }
    assert_eq!(s.log().await.len(), 4, "nothing more was sent");
}

pub async fn compose_order_refuses_services_outside_allowed_origins() {
    let s = Scenario::new("allowed-order", "{}").await;
    let request = r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm_1"}"#;
    let origins: Vec<String> = (0..10).map(service_origin).collect();
    let without_fraud: Vec<String> = origins
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 5)
        .map(|(_, o)| format!(r#""{o}""#))
        .collect();
    let e = expect_error(
        run_order(
            request,
            &options(
                &s.services(),
                &format!(r#"{{"allowedOrigins":[{}]}}"#, without_fraud.join(",")),
            ),
        )
        .await,
        "INVALID_INPUT",
    );
    assert!(
        message(&e).starts_with(&format!(
            "service `fraud` is at {} (options.services.fraud), which is not in options.allowedOrigins",
            origins[5]
        )),
        "{}",
        message(&e)
    );
    assert!(s.log().await.is_empty(), "nothing was sent");

    let all: Vec<String> = origins.iter().map(|o| format!(r#""{o}""#)).collect();
    run_order(
        request,
        &options(
            &s.services(),
            &format!(r#"{{"allowedOrigins":[{}]}}"#, all.join(",")),
        ),
    )
    .await
    .expect("every service is allowed");
    assert_eq!(s.log().await.len(), 10);

    // maxCalls is for plans the caller writes: the order's ten calls are fixed.
    let e = expect_error(
        run_order(request, &options(&s.services(), r#"{"maxCalls":5}"#)).await,
        "INVALID_INPUT",
    );
    assert!(message(&e).starts_with("options.maxCalls is not an option"));
}

pub async fn authorization_never_follows_a_redirect_to_another_origin() {
    // The customer service answers 307 to the notification port's /lab/echo, which logs
    // whatever arrives with its headers. The call carries a token in `Authorization` (which
    // browsers drop on a cross-origin redirect by themselves) and in `X-Api-Key` (which
    // they would carry along): neither, nor any request at all, may reach that port.
    let s = Scenario::new(
        "redirect-token",
        r#"{"faults":{"customer":{"type":"redirect","to":"notification"}}}"#,
    )
    .await;
    let canary = format!("canary-{}", (js_sys::Math::random() * 1e12) as u64);
    let url = format!("{}/s/{}/customers/c1", service_origin(0), s.id);
    let plan = js(&format!(
        r#"{{"calls":{{"me":{{"url":"{url}","headers":{{"Authorization":"Bearer {canary}","X-Api-Key":"{canary}"}}}}}}}}"#
    ));
    let e = expect_error(
        run_plan(&plan, &js("{}"), &js(r#"{"deadlineMs":3000}"#)).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_str(&e, "call"), "me");
    assert!(message(&e).contains("it was redirected"), "{}", message(&e));
    assert!(!message(&e).contains(&canary));

    let log = s.log().await;
    assert_eq!(
        log.len(),
        1,
        "only the request to the customer service: {}",
        log.iter().map(show).collect::<Vec<_>>().join("\n")
    );
    let sent = &log[0];
    assert_eq!(get_str(sent, "service"), "customer");
    assert_eq!(get_f64(sent, "status"), 307.0);
    // The token went where the plan sent it: the log would show it anywhere else too.
    assert_eq!(
        get_str(sent, "headers.authorization"),
        format!("Bearer {canary}")
    );
    assert_eq!(get_str(sent, "headers.x-api-key"), canary);
    assert!(s.log_of("notification").await.is_empty());
    // Nor did it reach the notification port outside the scenario (a redirect drops no
    // `/s/<id>` prefix, but a follow-up to the wrong place would land in `default`).
    let everywhere = request("GET", &format!("{}/log", admin_url()), None).await;
    let leaked: Vec<JsValue> = Array::from(&everywhere)
        .iter()
        .filter(|e| show(e).contains(&canary) && get_str(e, "service") != "customer")
        .collect();
    assert!(leaked.is_empty(), "the token arrived elsewhere: {leaked:?}");
}

pub async fn headers_for_one_origin_are_never_sent_to_another() {
    let s = Scenario::new("headers-origin", "{}").await;
    let canary = format!("canary-{}", (js_sys::Math::random() * 1e12) as u64);
    let a = s.lab(0, "echo");
    let b = s.lab(1, "echo");
    let plan = js(&format!(
        r#"{{"calls":{{
            "a":{{"url":"{a}","headers":{{"Authorization":"Bearer {canary}","X-Api-Key":"{canary}"}}}},
            "b":{{"url":"{b}?after={{a.method}}"}}
        }}}}"#
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(
        get_str(&result, "data.a.headers.authorization"),
        format!("Bearer {canary}")
    );
    let to_a = s.log_of("customer").await;
    let to_b = s.log_of("cart").await;
    assert_eq!((to_a.len(), to_b.len()), (1, 1));
    assert_eq!(get_str(&to_a[0], "headers.x-api-key"), canary);
    assert!(get(&to_b[0], "headers.authorization").is_undefined());
    assert!(get(&to_b[0], "headers.x-api-key").is_undefined());
    assert!(!show(&to_b[0]).contains(&canary), "{}", show(&to_b[0]));
}

pub async fn a_hostile_value_cannot_reach_another_path_on_the_server() {
    let s = Scenario::new("hostile", "{}").await;
    let hostile = [
        ("//evil.example/x", "%2F%2Fevil.example%2Fx"),
        ("/\\evil.example", "%2F%5Cevil.example"),
        ("a?admin=1#", "a%3Fadmin%3D1%23"),
        ("../../admin", "..%2F..%2Fadmin"),
    ];
    let base = format!("{}/s/{}/lab", service_origin(0), s.id);
    let plan = js(&format!(
        r#"{{"calls":{{
            "path":{{"url":"{base}/{{input.v}}","optional":true}},
            "query":{{"url":"{base}/echo?v={{input.v}}&fixed=1"}}
        }}}}"#
    ));
    for (value, encoded) in hostile {
        let input = js(&format!(r#"{{"v":{}}}"#, quote(value)));
        let result = run_plan(&plan, &input, &js(r#"{"maxAttempts":1}"#))
            .await
            .expect("the query call succeeds");
        // The path call reached /lab/<one segment>, a 404 in this scenario.
        assert_eq!(get_f64(&result, "calls.path.status"), 404.0, "{value}");
        assert_eq!(get_str(&result, "data.query.query.v"), value);
        assert_eq!(get_str(&result, "data.query.query.fixed"), "1");
        assert!(get(&result, "data.query.query.admin").is_undefined());
        let log = s.log().await;
        let last: Vec<&JsValue> = log.iter().rev().take(2).collect();
        let paths: Vec<String> = last.iter().map(|e| get_str(e, "path")).collect();
        assert!(
            paths.contains(&format!("/lab/{encoded}")),
            "{value}: {paths:?}"
        );
        assert!(paths.contains(&"/lab/echo".to_owned()), "{paths:?}");
        for entry in last {
            assert_eq!(get_str(entry, "service"), "customer");
        }
    }
    assert_eq!(
        s.log().await.len(),
        2 * hostile.len(),
        "all in this scenario"
    );

    // A dot segment is refused before anything is sent (from input), or before the
    // call that would use it (from a reply).
    for value in ["..", ".", "%2e%2E", ""] {
        let e = expect_error(
            run_plan(
                &plan,
                &js(&format!(r#"{{"v":{}}}"#, quote(value))),
                &js("{}"),
            )
            .await,
            "INVALID_INPUT",
        );
        assert_eq!(get_str(&e, "call"), "path");
        assert!(
            message(&e).starts_with(&format!(
                "call `path` (GET {base}/{{input.v}}): `{{input.v}}` is "
            )),
            "{}",
            message(&e)
        );
    }
    assert_eq!(
        s.log().await.len(),
        2 * hostile.len(),
        "nothing more was sent"
    );
    let chained = js(&format!(
        r#"{{"calls":{{
            "a":{{"url":"{base}/echo?next=.."}},
            "b":{{"url":"{base}/items/{{a.query.next}}"}}
        }}}}"#
    ));
    let e = expect_error(
        run_plan(&chained, &js("{}"), &js("{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_str(&e, "call"), "b");
    assert!(
        message(&e).ends_with(
            "`{a.query.next}` is `.` or `..` (perhaps percent-encoded); it cannot go into the URL's path"
        ),
        "{}",
        message(&e)
    );
    assert_eq!(get_str(&e, "calls.b.state"), "failed");
    assert_eq!(
        s.log().await.len(),
        2 * hostile.len() + 1,
        "only `a` was sent"
    );
}

pub async fn lone_surrogates_never_reach_a_url() {
    let plan = js(r#"{"calls":{
        "p":{"url":"https://api.example/p/{input.v}"},
        "q":{"url":"https://api.example/q?v={input.v}"}
    }}"#);
    let recorder = recording_fetch(None);
    let e = expect_error(
        run_plan(
            &plan,
            &lone_surrogate("a", "b"),
            &with_fetch(&recorder, "{}"),
        )
        .await,
        "INVALID_INPUT",
    );
    assert_eq!(
        message(&e),
        "call `p` (GET https://api.example/p/{input.v}): `{input.v}` holds a lone surrogate (half of a UTF-16 pair); it cannot go into the URL's path"
    );
    // At the end of the text, and in a query value.
    let query_only = js(r#"{"calls":{"q":{"url":"https://api.example/q?v={input.v}"}}}"#);
    let e = expect_error(
        run_plan(
            &query_only,
            &lone_surrogate("a", ""),
            &with_fetch(&recorder, "{}"),
        )
        .await,
        "INVALID_INPUT",
    );
    assert!(
        message(&e).ends_with(
            "`{input.v}` holds a lone surrogate (half of a UTF-16 pair); it cannot go into the URL"
        ),
        "{}",
        message(&e)
    );
    assert!(seen(&recorder).is_empty());

    // A pair, and U+FFFD itself (what a lone surrogate would silently become), are text.
    let result = run_plan(
        &plan,
        &js(r#"{"v":"\ud83d\ude00\ufffd"}"#),
        &with_fetch(&recorder, "{}"),
    )
    .await
    .expect("composed");
    assert_eq!(get_str(&result, "calls.q.state"), "ok");
    let urls: Vec<String> = seen(&recorder).into_iter().map(|(u, _)| u).collect();
    assert!(urls.contains(&"https://api.example/p/%F0%9F%98%80%EF%BF%BD".to_owned()));

    // From a reply: BAD_RESPONSE, and the call that needed it is not sent.
    let chained = js(r#"{"calls":{
        "a":{"url":"https://api.example/a"},
        "b":{"url":"https://api.example/b?v={a.v}"}
    }}"#);
    let recorder = recording_fetch(Some(r#"{"v":"x\udc00"}"#.into()));
    let e = expect_error(
        run_plan(&chained, &js("{}"), &with_fetch(&recorder, "{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_str(&e, "call"), "b");
    assert!(
        message(&e).ends_with(
            "`{a.v}` holds a lone surrogate (half of a UTF-16 pair); it cannot go into the URL"
        ),
        "{}",
        message(&e)
    );
    assert_eq!(seen(&recorder).len(), 1, "only `a` was sent");
}

/// A header value `fetch` would refuse (a line break, NUL, a character above U+00FF) is
/// refused by the engine instead: from `input` before anything is sent, from a reply before
/// the call that needs it. The header name, not the value, is in the message.
pub async fn header_values_fetch_would_refuse_are_refused_before_sending() {
    let plan = js(r#"{"calls":{
        "a":{"url":"https://api.example/a"},
        "b":{"url":"https://api.example/b","headers":{"X-Tenant":"t-{input.tenant}"}}
    }}"#);
    let recorder = recording_fetch(None);
    for (tenant, problem) in [
        ("x\r\nX-Admin: 1", "holds a line break or NUL"),
        ("x\u{0}", "holds a line break or NUL"),
        (
            "\u{20ac}",
            "holds a character above U+00FF, which a header value cannot carry",
        ),
    ] {
        let input = Object::new();
        Reflect::set(&input, &"tenant".into(), &tenant.into()).unwrap();
        let e = expect_error(
            run_plan(&plan, &input, &with_fetch(&recorder, "{}")).await,
            "INVALID_INPUT",
        );
        assert_eq!(
            message(&e),
            format!(
                "call `b` (GET https://api.example/b): `{{input.tenant}}` {problem}; it cannot go into the header X-Tenant"
            )
        );
        assert!(
            seen(&recorder).is_empty(),
            "nothing was sent for {tenant:?}"
        );
    }
    // Latin-1 text is a header value, and arrives as written.
    let result = run_plan(
        &plan,
        &js(r#"{"tenant":"caf\u00e9"}"#),
        &with_fetch(&recorder, "{}"),
    )
    .await
    .expect("composed");
    assert_eq!(get_str(&result, "calls.b.state"), "ok");
    let (_, init) = seen(&recorder)
        .into_iter()
        .find(|(u, _)| u.ends_with("/b"))
        .expect("b was sent");
    let headers = Reflect::get(&init, &"headers".into()).unwrap();
    let tenant = Reflect::get(&headers, &"X-Tenant".into()).unwrap();
    assert_eq!(tenant.as_string().as_deref(), Some("t-caf\u{e9}"));

    // From a reply: BAD_RESPONSE, and the call that needed it is not sent.
    let chained = js(r#"{"calls":{
        "a":{"url":"https://api.example/a"},
        "b":{"url":"https://api.example/b","headers":{"X-Trace":"{a.trace}"}}
    }}"#);
    let recorder = recording_fetch(Some(r#"{"trace":"1\r\nSet-Cookie: s=1"}"#.into()));
    let e = expect_error(
        run_plan(&chained, &js("{}"), &with_fetch(&recorder, "{}")).await,
        "BAD_RESPONSE",
    );
    assert_eq!(get_str(&e, "call"), "b");
    assert_eq!(
        message(&e),
        "call `b` (GET https://api.example/b): `{a.trace}` holds a line break or NUL; it cannot go into the header X-Trace"
    );
    assert_eq!(seen(&recorder).len(), 1, "only `a` was sent");
}

/// Templates that would let a value choose the scheme, host or port, complete an escape, or
/// be resolved away, and templates and placeholders past their length limits: each is
/// `INVALID_PLAN` from `compose()` and `validatePlan()`, before anything is sent.
pub async fn url_templates_that_let_a_value_steer_are_refused_at_validation() {
    let long_template = format!("https://api.example/{}", "a".repeat(8192));
    let long_placeholder = format!("https://api.example/{{input.{}}}", "a".repeat(251));
    let cases: [(&str, &str); 9] = [
        (
            "/\\evil.example/x",
            "must start with http://, https:// or a single `/`",
        ),
        (
            "https://{input.host}/x",
            "the host must be written in the template, not come from a placeholder",
        ),
        (
            "{input.base}/x",
            "must start with http://, https:// or a single `/`",
        ),
        (
            "https://api.example:{input.port}/x",
            "the host must be written in the template",
        ),
        (
            "http://{input.host}",
            "the host must be written in the template",
        ),
        (
            "https://api.example/v1/.%2{input.x}",
            "a `%` must start an escape of two hex digits",
        ),
        (
            "https://api.example/users/{input.id}/..",
            "has a `.` or `..` path segment",
        ),
        (&long_template, "more than the limit of 8192 for a template"),
        (&long_placeholder, "longer than 256 characters"),
    ];
    let recorder = recording_fetch(None);
    for (url, problem) in cases {
        let plan = Object::new();
        let calls = Object::new();
        let call = Object::new();
        Reflect::set(&call, &"url".into(), &url.into()).unwrap();
        Reflect::set(&calls, &"a".into(), &call).unwrap();
        Reflect::set(&plan, &"calls".into(), &calls).unwrap();
        let input = js(
            r#"{"host":"evil.example","base":"https://evil.example","port":"1","x":"e","id":"u"}"#,
        );
        let e = expect_error(
            run_plan(&plan.clone().into(), &input, &with_fetch(&recorder, "{}")).await,
            "INVALID_PLAN",
        );
        assert!(message(&e).contains(problem), "{url}: {}", message(&e));
        assert!(message(&e).starts_with("calls.a.url"), "{}", message(&e));
        let e = validate_plan(JsValue::from(plan).unchecked_into())
            .map(JsValue::from)
            .expect_err("validatePlan refuses it too");
        assert_eq!(get_str(&e, "code"), "INVALID_PLAN", "{url}");
    }
    assert!(seen(&recorder).is_empty(), "nothing was sent");
}

pub async fn plan_size_and_nesting_limits_hold_for_plans_from_javascript() {
    let many = |n: usize| {
        let calls: Vec<String> = (0..n)
            .map(|i| format!(r#""c{i}":{{"url":"https://api.example/c/{i}"}}"#))
            .collect();
        js(&format!(r#"{{"calls":{{{}}}}}"#, calls.join(",")))
    };
    let recorder = recording_fetch(None);
    let e = expect_error(
        run_plan(&many(1001), &js("{}"), &with_fetch(&recorder, "{}")).await,
        "INVALID_PLAN",
    );
    assert_eq!(
        message(&e),
        "plan has 1001 calls, more than the limit of 1000; split it, or raise options.maxCalls"
    );
    let e = expect_error(
        run_plan(
            &many(3),
            &js("{}"),
            &with_fetch(&recorder, r#"{"maxCalls":2}"#),
        )
        .await,
        "INVALID_PLAN",
    );
    assert!(message(&e).starts_with("plan has 3 calls, more than the limit of 2"));
    assert!(seen(&recorder).is_empty());
    run_plan(
        &many(1001),
        &js("{}"),
        &with_fetch(&recorder, r#"{"maxCalls":1001}"#),
    )
    .await
    .expect("raised");
    assert_eq!(seen(&recorder).len(), 1001);
    for bad in ["0", "1.5", "\"10\"", "2000000"] {
        let e = expect_error(
            run_plan(
                &many(1),
                &js("{}"),
                &js(&format!(r#"{{"maxCalls":{bad}}}"#)),
            )
            .await,
            "INVALID_INPUT",
        );
        assert_eq!(
            message(&e),
            "options.maxCalls must be a whole number of calls from 1 to 1000000"
        );
    }

    // A body 33 levels deep is refused by the plan's limit; one 100,000 levels deep (or a
    // cyclic one) by the reader, before it could exhaust the stack.
    let plan_with_body = |body: JsValue| {
        let plan = js(r#"{"calls":{"a":{"method":"POST","url":"https://api.example/a"}}}"#);
        Reflect::set(&get(&plan, "calls.a"), &"body".into(), &body).unwrap();
        plan
    };
    let e = expect_error(
        run_plan(
            &plan_with_body(nested(33, "{input.x}".into())),
            &js("{}"),
            &js("{}"),
        )
        .await,
        "INVALID_PLAN",
    );
    assert!(
        message(&e).starts_with("calls.a.body nests arrays and objects more than 32 levels deep"),
        "{}",
        message(&e)
    );
    for plan in [
        plan_with_body(nested(100_000, JsValue::NULL)),
        cyclic_plan(),
    ] {
        let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "INVALID_PLAN");
        assert!(
            message(&e).contains("is nested more than 128 levels deep (or is cyclic)"),
            "{}",
            message(&e)
        );
    }
    let deep_request = nested(100_000, JsValue::NULL);
    let e = expect_error(
        compose_order(deep_request.unchecked_into(), None).await,
        "INVALID_INPUT",
    );
    assert!(
        message(&e).contains("nested more than 128 levels deep"),
        "{}",
        message(&e)
    );
}

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = cyclicInput)]
    fn cyclic_input() -> JsValue;
    #[wasm_bindgen(js_name = bigintInput)]
    fn bigint_input() -> JsValue;
    #[wasm_bindgen(js_name = flakyInput)]
    fn flaky_input() -> JsValue;
}

pub async fn a_body_that_cannot_be_written_as_json_is_refused_not_thrown() {
    let plan = js(
        r#"{"calls":{"w":{"method":"POST","url":"https://api.example/w","body":{"x":"{input.o}"}}}}"#,
    );
    let recorder = recording_fetch(None);
    let e = expect_error(
        run_plan(&plan, &cyclic_input(), &with_fetch(&recorder, "{}")).await,
        "INVALID_INPUT",
    );
    assert_eq!(get_str(&e, "call"), "w");
    assert!(
        message(&e).starts_with("call `w`: `{input.o}` cannot be sent as JSON ("),
        "{}",
        message(&e)
    );
    assert!(
        message(&e).ends_with("); pass plain data, without cycles"),
        "{}",
        message(&e)
    );
    assert_eq!(get_str(&e, "calls.w.state"), "not-sent");
    assert!(seen(&recorder).is_empty(), "nothing was sent");

    // A BigInt is data JSON can hold: it is sent with its exact digits.
    let recorder = recording_fetch(None);
    run_plan(&plan, &bigint_input(), &with_fetch(&recorder, "{}"))
        .await
        .unwrap_or_else(|e| panic!("a BigInt input was refused: {}", message(&e)));
    let sent = seen(&recorder);
    assert_eq!(get_str(&sent[0].1, "body"), r#"{"x":{"n":10}}"#);
    let recorder = recording_fetch(None);

    // Had it passed that check, writing the body fails the request; it does not throw
    // through the wasm instance (which would leave the composition's promise unsettled).
    let e = expect_error(
        run_plan(
            &plan,
            &flaky_input(),
            &with_fetch(&recorder, r#"{"maxAttempts":1}"#),
        )
        .await,
        "NETWORK",
    );
    assert!(message(&e).contains("boom"), "{}", message(&e));
    assert!(seen(&recorder).is_empty(), "fetch was never called");
}
