//! What replies carry into the page and into later calls, against the mock's lab
//! endpoints (`/lab/raw` answers crafted JSON, `/lab/echo-text` quotes the request as
//! text): keys named `__proto__`, `constructor` and `prototype` stay plain own data and
//! pollute nothing; integers above 2^53 reach later calls with their exact digits; and a
//! canary in a header, a query value or a body field never appears in a message, a
//! record or the console, whichever way the composition fails.

use super::*;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = prototypeIsObjectPrototype)]
    fn prototype_is_object_prototype(v: &JsValue) -> bool;
    #[wasm_bindgen(js_name = ownValue)]
    fn own_value(v: &JsValue, key: &str) -> JsValue;
    fn pollution() -> Option<String>;
    #[wasm_bindgen(js_name = typeOf)]
    fn type_of(v: &JsValue) -> String;
    fn text(v: &JsValue) -> String;
    #[wasm_bindgen(js_name = craftedFetch)]
    fn crafted_fetch(matching: &str, body: &str) -> JsValue;
    #[wasm_bindgen(js_name = trapConsole)]
    fn trap_console() -> JsValue;
    #[wasm_bindgen(js_name = probeConsole)]
    fn probe_console();
}

/// `/lab/raw` on service `i` answering exactly `body`, percent-encoded into the query (so
/// the plan's URL template holds no braces).
pub fn raw_url(s: &Scenario, i: usize, body: &str) -> String {
    let encoded = String::from(js_sys::encode_uri_component(body));
    s.lab(i, &format!("raw?body={encoded}"))
}

/// The own data property `path` (dot-separated) of `v`, asserting each step is own.
fn own(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, key| {
        let next = own_value(&v, key);
        assert!(
            !next.is_undefined(),
            "`{key}` of {path} is not an own data property of {}",
            show(&v)
        );
        next
    })
}

fn assert_plain(v: &JsValue, what: &str) {
    assert!(
        prototype_is_object_prototype(v),
        "{what}: its prototype is not Object.prototype: {}",
        show(v)
    );
}

fn assert_unpolluted() {
    assert_eq!(pollution(), None, "something inherits `polluted`");
}

/// A reply with the three dangerous keys at the top and nested in an array.
const HOSTILE: &str = r#"{"__proto__":{"polluted":"p1"},"constructor":{"prototype":{"polluted":"p2"}},"prototype":{"polluted":"p3"},"deep":[{"x":{"__proto__":{"polluted":"p4"},"constructor":"c4"}}],"id":"a1"}"#;

pub async fn reply_keys_named_proto_constructor_prototype_stay_plain_data() {
    let s = Scenario::new("proto", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "a":{{"url":"{}"}},
        "echo":{{"method":"POST","url":"{}",
                 "body":{{"whole":"{{a}}","proto":"{{a.__proto__}}","__proto__":"{{a.__proto__}}",
                         "constructor":{{"prototype":"{{a.prototype}}"}},"deep":"{{a.deep.0.x.__proto__}}",
                         "text":"p={{a.__proto__.polluted}}"}}}}}}}}"#,
        raw_url(&s, 0, HOSTILE),
        s.lab(1, "echo")
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_unpolluted();
    let data = get(&result, "data");
    assert_plain(&data, "data");
    let a = own(&data, "a");
    assert_plain(&a, "data.a");
    assert_eq!(get_str(&own(&a, "__proto__"), "polluted"), "p1");
    assert_plain(&own(&a, "__proto__"), "data.a.__proto__");
    assert_eq!(get_str(&own(&a, "constructor.prototype"), "polluted"), "p2");
    assert_eq!(get_str(&own(&a, "prototype"), "polluted"), "p3");
    let x = own(&a, "deep.0.x");
    assert_plain(&x, "data.a.deep[0].x");
    assert_eq!(get_str(&own(&x, "__proto__"), "polluted"), "p4");
    assert_eq!(own(&x, "constructor").as_string().as_deref(), Some("c4"));
    assert_eq!(get_str(&a, "id"), "a1");

    // The body sent on carried the keys as data: the server received them.
    let log = s.log_of(SERVICES[1]).await;
    let sent = get(&log[0], "body");
    assert_eq!(get_str(&own(&sent, "__proto__"), "polluted"), "p1");
    assert_eq!(get_str(&own(&sent, "whole.__proto__"), "polluted"), "p1");
    assert_eq!(
        get_str(&own(&sent, "whole.constructor.prototype"), "polluted"),
        "p2"
    );
    assert_eq!(get_str(&own(&sent, "proto"), "polluted"), "p1");
    assert_eq!(
        get_str(&own(&sent, "constructor.prototype"), "polluted"),
        "p3"
    );
    assert_eq!(get_str(&own(&sent, "deep"), "polluted"), "p4");
    assert_eq!(get_str(&sent, "text"), "p=p1");
    // And the page got the echo back as plain data too.
    let echoed = own(&data, "echo.body");
    assert_plain(&echoed, "data.echo.body");
    assert_eq!(get_str(&own(&echoed, "__proto__"), "polluted"), "p1");
    assert_unpolluted();
}

pub async fn placeholders_read_own_properties_never_the_prototype_chain() {
    let s = Scenario::new("protoread", "{}").await;
    for path in ["constructor", "__proto__", "toString", "hasOwnProperty"] {
        let plan = js(&format!(
            r#"{{"calls":{{"a":{{"url":"{}"}},"b":{{"url":"{}?v={{a.{path}}}"}}}}}}"#,
            raw_url(&s, 0, r#"{"id":1}"#),
            s.lab(1, "echo")
        ));
        let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
        assert_eq!(
            get_str(&e, "message"),
            format!("call `b` needs `{{a.{path}}}`, but the reply of `a` has no `{path}`")
        );
    }
    // An input is read the same way.
    let plan = js(&format!(
        r#"{{"calls":{{"b":{{"url":"{}?v={{input.constructor.name}}"}}}}}}"#,
        s.lab(1, "echo")
    ));
    expect_error(
        run_plan(&plan, &js(r#"{"id":1}"#), &js("{}")).await,
        "INVALID_INPUT",
    );
    assert!(s.log_of(SERVICES[1]).await.is_empty(), "no `b` was sent");
}

pub async fn calls_named_proto_constructor_prototype_are_plain_keys_everywhere() {
    let s = Scenario::new("protonames", "{}").await;
    let calls = |last: &str| {
        js(&format!(
            r#"{{"calls":{{
            "__proto__":{{"url":"{}"}},
            "constructor":{{"method":"POST","url":"{}","body":{{"got":"{{__proto__.polluted}}"}},
                           "compensate":{{"method":"POST","url":"{}"}}}},
            "prototype":{{"url":"{last}","after":["constructor"]}}}}}}"#,
            raw_url(&s, 0, r#"{"polluted":"n1"}"#),
            s.lab(1, "echo"),
            s.lab(1, "echo?undo=1"),
        ))
    };
    let result = run_plan(&calls(&s.lab(2, "echo")), &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_unpolluted();
    for part in ["data", "calls"] {
        let obj = get(&result, part);
        assert_plain(&obj, part);
        for name in ["__proto__", "constructor", "prototype"] {
            own(&obj, name);
        }
    }
    assert_eq!(get_str(&own(&result, "data.__proto__"), "polluted"), "n1");
    assert_eq!(get_str(&own(&result, "calls.__proto__"), "state"), "ok");
    assert_eq!(get_str(&own(&result, "data.constructor"), "body.got"), "n1");
    let stages = show(&get(&result, "stages"));
    assert_eq!(stages, r#"[["__proto__"],["constructor"],["prototype"]]"#);

    // Failing: the error's records and compensations, keyed and named the same way.
    let e = expect_error(
        run_plan(
            &calls(&s.lab(2, "echo?status=500")),
            &js("{}"),
            &js(r#"{"maxAttempts":1}"#),
        )
        .await,
        "HTTP_STATUS",
    );
    assert_eq!(get_str(&e, "call"), "prototype");
    let records = get(&e, "calls");
    assert_plain(&records, "e.calls");
    assert_eq!(get_str(&own(&records, "__proto__"), "state"), "ok");
    assert_eq!(get_str(&own(&records, "constructor"), "state"), "ok");
    assert_eq!(get_str(&own(&records, "prototype"), "state"), "failed");
    let undone = Array::from(&get(&e, "compensations"));
    assert_eq!(undone.length(), 1);
    assert_plain(&undone.get(0), "e.compensations[0]");
    assert_eq!(get_str(&undone.get(0), "call"), "constructor");
    assert_eq!(get_str(&undone.get(0), "state"), "ok");
    assert_unpolluted();
}

pub async fn a_header_named_proto_is_a_header_not_a_prototype() {
    let s = Scenario::new("protoheader", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}","headers":{{"__proto__":"h1","constructor":"h2"}}}}}}}}"#,
        s.lab(0, "echo")
    ));
    let recorder = crafted_fetch("", "");
    let o = with_fetch(&recorder, "{}");
    run_plan(&plan, &js("{}"), &o).await.expect("composed");
    // What fetch is handed: both as own headers of a plain object. (Node's fetch then
    // drops a header named `__proto__`; browsers send it.)
    let headers = get(&Array::from(&get(&recorder, "inits")).get(0), "headers");
    assert_plain(&headers, "init.headers");
    assert_eq!(
        own(&headers, "__proto__").as_string().as_deref(),
        Some("h1")
    );
    assert_eq!(
        own(&headers, "constructor").as_string().as_deref(),
        Some("h2")
    );
    let log = s.log().await;
    assert_eq!(get_str(&log[0], "headers.constructor"), "h2");
    assert_unpolluted();
}

pub async fn compose_order_keeps_hostile_reply_keys_as_data() {
    let s = Scenario::new("protoorder", "{}").await;
    let customer = r#"{"id":"c-gold-1","email":"c-gold-1@example.test","tier":"gold",
        "address":{"line1":"1 Main St","city":"Springfield","postcode":"12345","country":"US","__proto__":{"polluted":"o1"}},
        "__proto__":{"polluted":"o2"},"constructor":{"prototype":{"polluted":"o3"}}}"#;
    let stand_in = crafted_fetch("/customers/", customer);
    let o = options(&s.services(), "{}");
    Reflect::set(&o, &"fetch".into(), &get(&stand_in, "fetch")).unwrap();
    let result = run_order(GOLD, &o).await.expect("order placed");
    assert_unpolluted();
    assert_plain(&result, "the order");
    let c = own(&result, "customer");
    assert_plain(&c, "order.customer");
    assert_eq!(get_str(&own(&c, "__proto__"), "polluted"), "o2");
    assert_eq!(get_str(&own(&c, "constructor.prototype"), "polluted"), "o3");
    assert_plain(&own(&c, "address"), "order.customer.address");
    assert_eq!(get_str(&own(&c, "address.__proto__"), "polluted"), "o1");
    assert_eq!(get_str(&c, "address.city"), "Springfield");
    // The address went on to shipping and tax as data, its `__proto__` key included.
    for service in ["shipping", "tax"] {
        let log = s.log_of(service).await;
        let address = get(&log[0], "body.address");
        assert_eq!(
            get_str(&own(&address, "__proto__"), "polluted"),
            "o1",
            "{service}"
        );
        assert_eq!(get_str(&address, "city"), "Springfield", "{service}");
    }
}

/// An amount past 2^53 cents arrives as a BigInt and is refused with the path it came from,
/// never rounded into a payment: the order stops before anything is charged or created.
pub async fn compose_order_refuses_an_amount_past_2_53_rather_than_rounding_it() {
    let s = Scenario::new("bigamount", "{}").await;
    let quote = r#"{"subtotal":90071992547409931,"discount":0,"currency":"USD"}"#;
    let stand_in = crafted_fetch("/quotes", quote);
    let o = options(&s.services(), "{}");
    Reflect::set(&o, &"fetch".into(), &get(&stand_in, "fetch")).unwrap();
    let e = expect_error(run_order(GOLD, &o).await, "BAD_RESPONSE");
    let message = get_str(&e, "message");
    assert!(
        message.contains("needs integer cents in `pricing.subtotal`"),
        "{message}"
    );
    assert!(
        !message.contains("90071992547409931"),
        "the amount is not quoted: {message}"
    );
    for service in ["payment", "order"] {
        assert!(
            s.log_of(service).await.is_empty(),
            "{service} was never called"
        );
    }
}

/// Integers past 2^53 (and one just inside), a decimal, an exponent and a string of digits.
const BIG: &str = r#"{"id":12345678901234567890,"neg":-9007199254740993,"safe":9007199254740991,"dec":1.5,"exp":1e3,"nested":{"ids":[18446744073709551615]},"str":"12345678901234567890"}"#;

pub async fn integers_above_2_53_reach_later_calls_with_their_exact_digits() {
    let s = Scenario::new("bignum", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "a":{{"url":"{}"}},
        "b":{{"method":"POST","url":"{}/{{a.id}}?n={{a.neg}}&big={{a.nested.ids.0}}","headers":{{"X-Id":"{{a.id}}"}},
              "body":{{"id":"{{a.id}}","label":"order {{a.id}}","whole":"{{a}}","safe":"{{a.safe}}"}}}}}}}}"#,
        raw_url(&s, 0, BIG),
        s.lab(1, "echo"),
    ));
    let recorder = crafted_fetch("", "");
    let o = with_fetch(&recorder, "{}");
    let result = run_plan(&plan, &js("{}"), &o).await.expect("composed");

    // The page gets BigInts for the integers a double cannot hold, numbers for the rest.
    let a = get(&result, "data.a");
    for (key, kind, exact) in [
        ("id", "bigint", "12345678901234567890"),
        ("neg", "bigint", "-9007199254740993"),
        ("safe", "number", "9007199254740991"),
        ("dec", "number", "1.5"),
        ("exp", "number", "1000"),
        ("str", "string", "12345678901234567890"),
    ] {
        let v = get(&a, key);
        assert_eq!(
            (type_of(&v), text(&v)),
            (kind.to_owned(), exact.to_owned()),
            "{key}"
        );
    }
    assert_eq!(
        text(&get(&a, "nested.ids.0")),
        "18446744073709551615",
        "nested in an array"
    );

    // URL path, query and header, as the server received them.
    let log = s.log_of(SERVICES[1]).await;
    assert_eq!(get_str(&log[0], "path"), "/lab/echo/12345678901234567890");
    assert_eq!(get_str(&log[0], "query.n"), "-9007199254740993");
    assert_eq!(get_str(&log[0], "query.big"), "18446744073709551615");
    assert_eq!(get_str(&log[0], "headers.x-id"), "12345678901234567890");
    // The body text as sent: the same JSON numbers, digit for digit.
    let bodies = Array::from(&get(&recorder, "bodies"));
    assert_eq!(
        bodies.get(1).as_string().as_deref(),
        Some(
            r#"{"id":12345678901234567890,"label":"order 12345678901234567890","whole":{"id":12345678901234567890,"neg":-9007199254740993,"safe":9007199254740991,"dec":1.5,"exp":1000,"nested":{"ids":[18446744073709551615]},"str":"12345678901234567890"},"safe":9007199254740991}"#
        )
    );

    // A BigInt the page passes back as input travels the same way.
    let input = Object::new();
    Reflect::set(&input, &"id".into(), &get(&a, "id")).unwrap();
    let plan = js(&format!(
        r#"{{"calls":{{"c":{{"method":"POST","url":"{}/{{input.id}}","body":{{"id":"{{input.id}}"}}}}}}}}"#,
        s.lab(2, "echo"),
    ));
    let recorder = crafted_fetch("", "");
    let o = with_fetch(&recorder, "{}");
    run_plan(&plan, &input, &o).await.expect("composed");
    let log = s.log_of(SERVICES[2]).await;
    assert_eq!(get_str(&log[0], "path"), "/lab/echo/12345678901234567890");
    let bodies = Array::from(&get(&recorder, "bodies"));
    assert_eq!(
        bodies.get(0).as_string().as_deref(),
        Some(r#"{"id":12345678901234567890}"#)
    );
    // Written into the plan itself, it is refused with the way to send it exactly.
    let plan = js(&format!(
        r#"{{"calls":{{"c":{{"method":"POST","url":"{}","body":{{}}}}}}}}"#,
        s.lab(2, "echo"),
    ));
    Reflect::set(&get(&plan, "calls.c.body"), &"id".into(), &get(&a, "id")).unwrap();
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "INVALID_PLAN");
    assert_eq!(
        get_str(&e, "message"),
        "plan.calls.c.body.id is a BigInt; pass it in the input and write a placeholder such as \"{input.id}\" here, which sends its exact digits"
    );
}

pub async fn digits_inside_strings_and_malformed_replies_are_left_alone() {
    let s = Scenario::new("bigstr", "{}").await;
    // Sixteen digits in a string send the reply down the exact path; nothing changes.
    let text = r#"{"card":"4111111111111111","n":7,"k":{"12345678901234567890":1}}"#;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}}}}}}"#,
        raw_url(&s, 0, text)
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(show(&get(&result, "data.a")), text);
    // A reply that is not JSON is still reported with its own start.
    let broken = r#"{"id":12345678901234567890,"#;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}}}}}}"#,
        raw_url(&s, 0, broken)
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
    let m = get_str(&e, "message");
    assert!(m.ends_with(&format!("\"{broken}\"")), "{m}");
}

// ------------------------------------------------------------------ secrets

const HEADER_CANARY: &str = "hdrCanary7Q2x9Kf";
const QUERY_CANARY: &str = "qryCanary4K8m1Wd";
const BODY_CANARY: &str = "bodyCanary3Z5p6Ht";
const CANARIES: [&str; 3] = [HEADER_CANARY, QUERY_CANARY, BODY_CANARY];

/// The input: the header's, the query's and the body's canary.
fn secret_input() -> JsValue {
    js(&format!(
        r#"{{"auth":"{HEADER_CANARY}","token":"{QUERY_CANARY}","card":"{BODY_CANARY}"}}"#
    ))
}

/// A call to `url` (a lab URL without a query, or with one ending in `&`) carrying the
/// canaries: `Authorization: Bearer`, `?token=` and a body field, as chosen by `parts`
/// ("h", "q", "b").
fn secret_call(method: &str, url: &str, parts: &str, extra: &str) -> String {
    let mut call = format!(r#""method":"{method}""#);
    let sep = if url.contains('?') { "" } else { "?" };
    if parts.contains('q') {
        call += &format!(r#","url":"{url}{sep}token={{input.token}}""#);
    } else {
        call += &format!(r#","url":"{url}""#);
    }
    if parts.contains('h') {
        call += r#","headers":{"Authorization":"Bearer {input.auth}"}"#;
    }
    if parts.contains('b') && method != "GET" {
        call += r#","body":{"card":"{input.card}"}"#;
    }
    format!("{{{call}{extra}}}")
}

/// Runs `plan` with the canaries as input and the console trapped; asserts it rejects
/// with `code` and that no canary is in its message, records, compensations or the
/// console. Returns the error.
async fn run_secret(plan: &str, input: &JsValue, options: &JsValue, code: &str) -> JsValue {
    let trap = trap_console();
    let result = run_plan(&js(plan), input, options).await;
    let restore: Function = get(&trap, "restore").unchecked_into();
    // The trap works: it catches a warning (removed again below).
    probe_console();
    restore.call0(&JsValue::NULL).unwrap();
    let e = expect_error(result, code);
    let logged: Vec<String> = Array::from(&get(&trap, "calls"))
        .iter()
        .filter_map(|c| c.as_string())
        .collect();
    assert_eq!(
        logged,
        ["warn: console trap probe"],
        "nothing is logged but the probe"
    );
    let message = get_str(&e, "message");
    let records = show(&get(&e, "calls"));
    let undone = show(&get(&e, "compensations"));
    for canary in CANARIES {
        assert!(
            !message.contains(canary),
            "{canary} in the message: {message}"
        );
        assert!(!records.contains(canary), "{canary} in e.calls: {records}");
        assert!(
            !undone.contains(canary),
            "{canary} in e.compensations: {undone}"
        );
    }
    e
}

/// Each canary on its own, so that each can be the one an excerpt shows.
const ONE_AT_A_TIME: [&str; 3] = ["h", "q", "b"];

pub async fn secrets_stay_out_of_status_network_and_timeout_errors() {
    let s = Scenario::new("secret1", "{}").await;
    let no_retry = js(r#"{"maxAttempts":1}"#);
    for method in ["GET", "POST"] {
        let call = secret_call(method, &s.lab(0, "echo?status=500&"), "hqb", "");
        let plan = format!(r#"{{"calls":{{"a":{call}}}}}"#);
        let e = run_secret(&plan, &secret_input(), &no_retry, "HTTP_STATUS").await;
        assert!(get_str(&e, "message").contains("?status=500&token={input.token}"));

        let call = secret_call(method, "http://127.0.0.1:9/closed", "hqb", "");
        let plan = format!(r#"{{"calls":{{"a":{call}}}}}"#);
        run_secret(&plan, &secret_input(), &no_retry, "NETWORK").await;

        let call = secret_call(method, &s.lab(0, "echo?delay=3000&"), "hqb", "");
        let plan = format!(r#"{{"calls":{{"a":{call}}}}}"#);
        run_secret(
            &plan,
            &secret_input(),
            &js(r#"{"maxAttempts":1,"timeoutMs":150}"#),
            "TIMEOUT",
        )
        .await;
    }
    // A header value the platform refuses: Node's fetch quotes it in its error.
    let call = secret_call("GET", &s.lab(0, "echo"), "h", "");
    let plan = format!(r#"{{"calls":{{"a":{call}}}}}"#);
    let input = js(&format!(r#"{{"auth":"{HEADER_CANARY}\nx"}}"#));
    let trap = trap_console();
    let result = run_plan(&js(&plan), &input, &no_retry).await;
    let restore: Function = get(&trap, "restore").unchecked_into();
    restore.call0(&JsValue::NULL).unwrap();
    let e = result.expect_err("a header value with a line break is refused");
    let code = get_str(&e, "code");
    assert!(
        code == "NETWORK" || code == "INVALID_INPUT",
        "{code}: {}",
        get_str(&e, "message")
    );
    let everything = format!(
        "{} {} {}",
        get_str(&e, "message"),
        show(&get(&e, "calls")),
        show(&get(&trap, "calls"))
    );
    assert!(!everything.contains(HEADER_CANARY), "{everything}");
}

pub async fn secrets_stay_out_of_bad_responses_that_echo_the_request() {
    let s = Scenario::new("secret2", "{}").await;
    let no_retry = js(r#"{"maxAttempts":1}"#);
    for part in ONE_AT_A_TIME {
        let method = if part == "b" { "POST" } else { "GET" };
        let call = secret_call(method, &s.lab(0, "echo-text"), part, "");
        let plan = format!(r#"{{"calls":{{"a":{call}}}}}"#);
        let e = run_secret(&plan, &secret_input(), &no_retry, "BAD_RESPONSE").await;
        let m = get_str(&e, "message");
        assert!(m.contains("the reply is not JSON"), "{m}");
        assert!(
            m.contains("[redacted]"),
            "the echo was quoted, redacted: {m}"
        );
    }
    // The server really echoed the canaries: the redaction is what kept them out.
    let log = s.log().await;
    assert_eq!(log.len(), 3);
    assert_eq!(
        get_str(&log[0], "headers.authorization"),
        format!("Bearer {HEADER_CANARY}")
    );
    assert_eq!(get_str(&log[1], "query.token"), QUERY_CANARY);
    assert_eq!(get_str(&log[2], "body.card"), BODY_CANARY);

    // A reply quoting a query value outright (as an error page might).
    let plan = format!(
        r#"{{"calls":{{"a":{{"url":"{}?body=token%20{{input.token}}%20is%20invalid&type=text%2Fhtml"}}}}}}"#,
        s.lab(1, "raw")
    );
    let e = run_secret(&plan, &secret_input(), &no_retry, "BAD_RESPONSE").await;
    assert!(
        get_str(&e, "message").ends_with("\"token [redacted] is invalid\""),
        "{}",
        get_str(&e, "message")
    );

    // A reply that is JSON but lacks what a later call needs names the path, not values.
    let plan = format!(
        r#"{{"calls":{{"a":{},"b":{{"url":"{}?x={{a.missing}}","after":["a"]}}}}}}"#,
        secret_call("POST", &s.lab(1, "echo"), "hqb", ""),
        s.lab(1, "echo")
    );
    run_secret(&plan, &secret_input(), &no_retry, "BAD_RESPONSE").await;
}

pub async fn secrets_stay_out_of_invalid_input_and_abort_errors() {
    let s = Scenario::new("secret3", "{}").await;
    // An input value that cannot go in a URL: the message names its type, not its content.
    let call = secret_call("POST", &s.lab(0, "echo"), "hqb", "");
    let plan = format!(r#"{{"calls":{{"a":{call}}}}}"#);
    let input = js(&format!(
        r#"{{"auth":"{HEADER_CANARY}","token":{{"nested":"{QUERY_CANARY}"}},"card":"{BODY_CANARY}"}}"#
    ));
    run_secret(&plan, &input, &js("{}"), "INVALID_INPUT").await;
    let input = js(&format!(
        r#"{{"auth":["{HEADER_CANARY}"],"token":"{QUERY_CANARY}","card":"{BODY_CANARY}"}}"#
    ));
    run_secret(&plan, &input, &js("{}"), "INVALID_INPUT").await;
    assert!(s.log().await.is_empty(), "nothing was sent");

    // Aborted while requests carrying all three are in flight.
    let plan = format!(
        r#"{{"calls":{{"a":{},"b":{}}}}}"#,
        secret_call("POST", &s.lab(0, "echo?delay=3000&"), "hqb", ""),
        secret_call("GET", &s.lab(1, "echo?delay=3000&"), "hq", "")
    );
    let controller = web_sys::AbortController::new().unwrap();
    let o = js("{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let input = secret_input();
    let run = run_secret(&plan, &input, &o, "ABORTED");
    let abort_later = async {
        delay(150.0).await;
        controller.abort();
    };
    let (e, ()) = futures::join!(run, abort_later);
    assert_eq!(get_str(&e, "calls.a.state"), "unknown");
}

pub async fn secrets_stay_out_of_failed_compensations() {
    let s = Scenario::new("secret4", "{}").await;
    // Two writes whose undoing goes wrong (a reply echoing the request; a 500), then a
    // required call that fails: both compensations run, neither succeeds.
    let undo_echo = secret_call("POST", &s.lab(0, "echo-text"), "hqb", "");
    let undo_500 = secret_call("DELETE", &s.lab(0, "echo?status=500&"), "hqb", "");
    let plan = format!(
        r#"{{"calls":{{
        "w1":{},
        "w2":{},
        "last":{{"url":"{}","after":["w1","w2"]}}}}}}"#,
        secret_call(
            "POST",
            &s.lab(1, "echo"),
            "hqb",
            &format!(r#","compensate":{}"#, undo_echo)
        ),
        secret_call(
            "POST",
            &s.lab(2, "echo"),
            "hqb",
            &format!(r#","compensate":{}"#, undo_500)
        ),
        s.lab(3, "echo?status=500")
    );
    let e = run_secret(
        &plan,
        &secret_input(),
        &js(r#"{"maxAttempts":1}"#),
        "HTTP_STATUS",
    )
    .await;
    let undone = Array::from(&get(&e, "compensations"));
    assert_eq!(undone.length(), 2);
    let mut codes: Vec<String> = undone
        .iter()
        .map(|c| {
            // Neither rules out that the undo was carried out (a 2xx whose body could not be
            // read; a 500, which may come from in front of a service that acted): unknown.
            assert_eq!(get_str(&c, "state"), "unknown", "{}", show(&c));
            get_str(&c, "error.code")
        })
        .collect();
    codes.sort();
    assert_eq!(codes, ["BAD_RESPONSE", "HTTP_STATUS"]);
    assert!(show(&undone).contains("[redacted]"), "{}", show(&undone));
}
