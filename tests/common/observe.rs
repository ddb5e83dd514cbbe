//! Observability against the mock services: progress events (`onEvent`), DevTools
//! measures (`timings`) and the W3C `traceparent` header (`traceContext`). The servers'
//! request log is the witness: which requests were sent and retried, which were aborted,
//! which compensations ran, what headers arrived, and when.

use super::*;
use wasm_bindgen::closure::Closure;

/// `options.onEvent` that keeps every event in an array.
pub struct Events {
    array: Array,
    callback: Closure<dyn FnMut(JsValue)>,
}

impl Events {
    pub fn new() -> Events {
        let array = Array::new();
        let keep = array.clone();
        let callback = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            keep.push(&event);
        });
        Events { array, callback }
    }

    /// Options `extra` (JSON text) with this recorder as `onEvent`.
    pub fn options(&self, extra: &str) -> JsValue {
        let o = js(extra);
        Reflect::set(&o, &"onEvent".into(), self.callback.as_ref()).unwrap();
        o
    }

    fn all(&self) -> Vec<JsValue> {
        self.array.iter().collect()
    }

    /// Call `call`'s events as lines: `type #attempt status state [reason]`.
    pub fn of(&self, call: &str) -> Vec<String> {
        self.all()
            .iter()
            .filter(|e| get_str(e, "call") == call)
            .map(describe)
            .collect()
    }

    /// The events of item `item` of fan-out call `call`, as [`Events::of`] gives a call's.
    pub fn of_item(&self, call: &str, item: usize) -> Vec<String> {
        self.all()
            .iter()
            .filter(|e| get_str(e, "call") == call && get(e, "item").as_f64() == Some(item as f64))
            .map(describe)
            .collect()
    }

    /// The first event of `call` with type `kind`.
    fn find(&self, call: &str, kind: &str) -> JsValue {
        self.all()
            .into_iter()
            .find(|e| get_str(e, "call") == call && get_str(e, "type") == kind)
            .unwrap_or_else(|| panic!("no {kind} event for {call}: {:?}", self.of(call)))
    }
}

/// An event as `type #attempt status state [reason]` (a retry's reason, or a skip's `not-needed`),
/// absent fields as `-`.
fn describe(e: &JsValue) -> String {
    let text = |k: &str| {
        let v = get(e, k);
        if v.is_undefined() || v.is_null() {
            "-".to_owned()
        } else if let Some(n) = v.as_f64() {
            n.to_string()
        } else {
            v.as_string().unwrap_or_else(|| show(&v))
        }
    };
    let mut line = format!(
        "{} #{} {} {}",
        text("type"),
        text("attempt"),
        text("status"),
        text("state")
    );
    if !get(e, "reason").is_undefined() {
        line.push(' ');
        line.push_str(&text("reason"));
    }
    line
}

/// The contract on a finished composition: one terminal event per call, agreeing with
/// its record (state, attempts, status, time); starts numbered 1.. with a retry before
/// each later one; nothing after a call's terminal event; compensations last; `t`
/// never going back.
fn holds_the_contract(events: &Events, calls: &JsValue) {
    let names: Vec<String> = Object::keys(calls.unchecked_ref::<Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    let all = events.all();
    let mut ended = 0;
    let mut last_t = 0.0;
    for e in &all {
        let t = get_f64(e, "t");
        assert!(t >= last_t, "time goes back at {}", show(e));
        last_t = t;
        assert_eq!(
            Object::get_prototype_of(e),
            Object::get_prototype_of(&Object::new()),
            "a plain object"
        );
        if get_str(e, "type") == "compensate" {
            assert_eq!(
                ended,
                names.len(),
                "compensations come after every call ended"
            );
        } else if ["end", "skip", "cancel"].contains(&get_str(e, "type").as_str()) {
            ended += 1;
        }
    }
    for name in &names {
        let mine: Vec<&JsValue> = all.iter().filter(|e| get_str(e, "call") == *name).collect();
        let terminal: Vec<&&JsValue> = mine
            .iter()
            .filter(|e| ["end", "skip", "cancel"].contains(&get_str(e, "type").as_str()))
            .collect();
        assert_eq!(terminal.len(), 1, "{name}: {:?}", events.of(name));
        let last = terminal[0];
        let calls_of: Vec<&&JsValue> = mine
            .iter()
            .filter(|e| get_str(e, "type") != "compensate")
            .collect();
        assert!(
            std::ptr::eq(*calls_of[calls_of.len() - 1], *last),
            "{name}: nothing after its terminal event: {:?}",
            events.of(name)
        );
        let record = get(calls, name);
        assert_eq!(get_str(last, "state"), get_str(&record, "state"), "{name}");
        let starts: Vec<f64> = mine
            .iter()
            .filter(|e| get_str(e, "type") == "start")
            .map(|e| get_f64(e, "attempt"))
            .collect();
        let sent = get_f64(&record, "attempts");
        assert_eq!(
            starts,
            (1..=sent as u32).map(f64::from).collect::<Vec<_>>(),
            "{name}"
        );
        let retries = mine
            .iter()
            .filter(|e| get_str(e, "type") == "retry")
            .count();
        assert_eq!(
            retries as f64,
            (sent - 1.0).max(0.0),
            "{name}: a retry per later attempt"
        );
        if get_str(last, "type") != "skip" {
            assert_eq!(get_f64(last, "attempt"), sent, "{name}");
            assert_eq!(get(last, "status"), get(&record, "status"), "{name}");
        }
        if let Some(start) = get(&record, "startMs").as_f64() {
            assert_eq!(
                get_f64(mine[0], "t"),
                start,
                "{name}: the first start is the record's"
            );
        }
        if let Some(end) = get(&record, "endMs").as_f64() {
            assert_eq!(
                get_f64(last, "t"),
                end,
                "{name}: the terminal event is the record's end"
            );
        }
    }
}

/// Service `i`'s base URL in scenario `s`.
fn base(s: &Scenario, i: usize) -> String {
    format!("{}/s/{}", service_origin(i), s.id)
}

const CUSTOMER: usize = 0;
const CART: usize = 1;
const INVENTORY: usize = 2;
const PRICING: usize = 3;
const SHIPPING: usize = 4;

pub async fn progress_events_follow_the_contract_and_what_the_servers_saw() {
    // customer answers 503 once (a retry); `bad` fails the composition while `slow` is
    // in flight (a cancel) and after `reserve` completed (a compensation); `later`
    // waits for `bad` (a skip).
    let s = Scenario::new(
        "ev-contract",
        r#"{"faults":{"customer":{"status":503,"times":1}}}"#,
    )
    .await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "reserve":{{"method":"POST","url":"{inv}/reservations",
                    "body":{{"cartId":"k1","items":[{{"sku":"SKU-1","quantity":1}}]}},
                    "compensate":{{"method":"DELETE","url":"{inv}/reservations/{{reserve.reservationId}}"}}}},
        "customer":{{"url":"{cust}/customers/c1"}},
        "slow":{{"url":"{slow}"}},
        "bad":{{"url":"{bad}","after":["reserve","customer"]}},
        "later":{{"url":"{later}","after":["bad"]}}}}}}"#,
        inv = base(&s, INVENTORY),
        cust = base(&s, CUSTOMER),
        slow = s.lab(CART, "echo?delay=5000"),
        bad = s.lab(PRICING, "echo?status=500&delay=100"),
        later = s.lab(SHIPPING, "echo"),
    ));
    let events = Events::new();
    let e = expect_error(
        run_plan(&plan, &js("{}"), &events.options("{}")).await,
        "HTTP_STATUS",
    );
    assert_eq!(get_str(&e, "call"), "bad");
    let calls = get(&e, "calls");
    holds_the_contract(&events, &calls);

    assert_eq!(
        events.of("customer"),
        [
            "start #1 - -",
            "retry #1 503 - HTTP_STATUS",
            "start #2 - -",
            "end #2 200 ok"
        ]
    );
    let retry = events.find("customer", "retry");
    let second = events
        .all()
        .into_iter()
        .filter(|e| get_str(e, "call") == "customer")
        .nth(2)
        .unwrap();
    assert!(
        get_f64(&second, "t") >= get_f64(&retry, "t") + get_f64(&retry, "waitMs") - 1.0,
        "the next attempt waited the announced {} ms",
        get_f64(&retry, "waitMs")
    );
    assert_eq!(
        events.of("reserve"),
        ["start #1 - -", "end #1 201 ok", "compensate #1 200 ok"]
    );
    assert_eq!(events.of("bad"), ["start #1 - -", "end #1 500 failed"]);
    assert_eq!(events.of("slow"), ["start #1 - -", "cancel #1 - cancelled"]);
    assert_eq!(events.of("later"), ["skip #- - skipped"]);
    assert_eq!(
        describe(events.all().last().unwrap()),
        "compensate #1 200 ok",
        "the compensation is the last event"
    );

    // The server's side of each event.
    let customer = s.log_of("customer").await;
    assert_eq!(customer.len(), 2, "two starts, two requests");
    assert_eq!(
        customer
            .iter()
            .map(|e| get_f64(e, "status"))
            .collect::<Vec<_>>(),
        [503.0, 200.0]
    );
    assert!(
        get_f64(&customer[1], "arrivedAt") >= get_f64(&customer[0], "repliedAt"),
        "the retry was sent after the 503"
    );
    assert!(
        s.saw_aborted(Some("cart"), 1).await,
        "the cancelled call's request was aborted on the wire"
    );
    assert!(
        s.log_of("shipping").await.is_empty(),
        "the skipped call never sent"
    );
    let inventory: Vec<String> = s
        .log_of("inventory")
        .await
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                get_str(e, "method"),
                get_str(e, "path"),
                get_f64(e, "status")
            )
        })
        .collect();
    assert_eq!(
        inventory,
        ["POST /reservations 201", "DELETE /reservations/res-1 200"],
        "the compensate event stands for the DELETE the server answered"
    );
}

/// Replaces `console.error` for the duration of a test, counting its calls.
struct ConsoleErrors {
    original: JsValue,
    seen: Array,
    _callback: Closure<dyn FnMut(JsValue, JsValue)>,
}

impl ConsoleErrors {
    fn capture() -> ConsoleErrors {
        let console = Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        let original = Reflect::get(&console, &"error".into()).unwrap();
        let seen = Array::new();
        let keep = seen.clone();
        let callback = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |message, error| {
            keep.push(&Array::of2(&message, &error));
        });
        Reflect::set(&console, &"error".into(), callback.as_ref()).unwrap();
        ConsoleErrors {
            original,
            seen,
            _callback: callback,
        }
    }

    /// Waits (up to 2 s, polling) for at least one report, then gives all of them.
    async fn reports(&self) -> Vec<(String, JsValue)> {
        for _ in 0..100 {
            if self.seen.length() > 0 {
                break;
            }
            delay(20.0).await;
        }
        // One more turn of the event loop: a second report would have come by now.
        delay(20.0).await;
        self.seen
            .iter()
            .map(|pair| {
                (
                    get(&pair, "0").as_string().unwrap_or_default(),
                    get(&pair, "1"),
                )
            })
            .collect()
    }
}

impl Drop for ConsoleErrors {
    fn drop(&mut self) {
        let console = Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        Reflect::set(&console, &"error".into(), &self.original).unwrap();
    }
}

pub async fn a_throwing_or_rejecting_on_event_leaves_the_result_intact() {
    let s = Scenario::new("ev-throw", "{}").await;
    let secret = "canary-7f3a";
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}/{{input.token}}"}},"b":{{"url":"{}","after":["a"]}}}}}}"#,
        s.lab(CART, "echo"),
        s.lab(PRICING, "items?n=2"),
    ));
    let input = js(&format!(r#"{{"token":"{secret}"}}"#));
    // A JavaScript function that keeps each event and throws (a Rust closure that throws
    // could not be called again).
    let calls = Array::new();
    let throwing = Function::new_with_args(
        "calls, event",
        "calls.push(event); throw new Error('the portal progress bar broke');",
    )
    .bind1(&JsValue::UNDEFINED, &calls);
    let options = js("{}");
    Reflect::set(&options, &"onEvent".into(), &throwing).unwrap();
    let console = ConsoleErrors::capture();
    let result = run_plan(&plan, &input, &options)
        .await
        .expect("the composition carried on");
    let reports = console.reports().await;
    drop(console);
    assert_eq!(get_f64(&result, "data.b.count"), 2.0);
    assert_eq!(
        get_str(&result, "data.a.path"),
        format!("/lab/echo/{secret}")
    );
    assert_eq!(get_str(&result, "calls.b.state"), "ok");
    assert_eq!(calls.length(), 4, "it was still called for every event");
    assert_eq!(
        reports.len(),
        1,
        "reported once per composition: {reports:?}"
    );
    let (message, error) = &reports[0];
    assert!(message.contains("options.onEvent"), "{message}");
    assert!(
        message.contains("\"start\""),
        "names the event type: {message}"
    );
    assert!(
        !message.contains(secret),
        "quotes no request value: {message}"
    );
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "the thrown error is handed on"
    );

    // An async callback: its rejections are caught too (in Node an unhandled rejection
    // would end the process), and reported once.
    let rejecting = Closure::<dyn FnMut(JsValue) -> Promise>::new(|_event: JsValue| {
        Promise::reject(&js_sys::Error::new("async progress failed"))
    });
    let options = js("{}");
    Reflect::set(&options, &"onEvent".into(), rejecting.as_ref()).unwrap();
    let console = ConsoleErrors::capture();
    let result = run_plan(&plan, &input, &options).await.expect("carried on");
    let reports = console.reports().await;
    drop(console);
    assert_eq!(get_str(&result, "calls.a.state"), "ok");
    assert_eq!(reports.len(), 1, "{reports:?}");

    // Anything but a function is refused before a request is sent, as are the other
    // options' wrong types.
    let before = s.log().await.len();
    for (bad, name) in [
        (r#"{"onEvent":"log"}"#, "options.onEvent"),
        (r#"{"onEvent":{}}"#, "options.onEvent"),
        (r#"{"timings":"yes"}"#, "options.timings"),
        (r#"{"traceContext":"on"}"#, "options.traceContext"),
        (
            r#"{"traceContext":["not an origin"]}"#,
            "options.traceContext.0",
        ),
    ] {
        let e = expect_error(run_plan(&plan, &input, &js(bad)).await, "INVALID_INPUT");
        assert!(
            get_str(&e, "message").starts_with(name),
            "{}",
            get_str(&e, "message")
        );
        assert_eq!(get(&e, "traceId"), JsValue::NULL);
    }
    assert_eq!(s.log().await.len(), before, "nothing was sent");
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = getEntriesByType)]
    fn entries_by_type(kind: &str) -> Array;
}

/// The measures of the composition with trace id `trace`, by name.
fn measures_of(trace: &str) -> Vec<(String, JsValue)> {
    entries_by_type("measure")
        .iter()
        .filter(|m| get(m, "detail.traceId").as_string().as_deref() == Some(trace))
        .map(|m| (get_str(&m, "name"), m))
        .collect()
}

pub async fn measures_name_every_call_and_span_its_request_as_the_server_saw_it() {
    let s = Scenario::new("ev-timings", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "a":{{"url":"{}"}},
        "b":{{"url":"{}","after":["a"]}},
        "c":{{"url":"{}","optional":true}},
        "d":{{"url":"{}","after":["c"]}}}}}}"#,
        s.lab(CART, "echo?delay=150"),
        s.lab(PRICING, "echo?delay=100"),
        s.lab(SHIPPING, "echo?status=404"),
        s.lab(INVENTORY, "echo"),
    ));
    let result = run_plan(&plan, &js("{}"), &js(r#"{"timings":true}"#))
        .await
        .expect("composed");
    let trace = get_str(&result, "traceId");
    let measures = measures_of(&trace);
    let names: Vec<&str> = measures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("compose:")).count(),
        3,
        "one per call that started (d was skipped): {names:?}"
    );
    let m = |name: &str| {
        measures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no measure {name} in {names:?}"))
    };
    let whole = m("compose");
    let origin = get_f64(&whole, "startTime");
    for call in ["a", "b", "c"] {
        let measure = m(&format!("compose:{call}"));
        let start = get_f64(&measure, "startTime");
        let end = start + get_f64(&measure, "duration");
        // On the records' clock: the record's times from the composition's start.
        let record = |k: &str| get_f64(&result, &format!("calls.{call}.{k}"));
        assert!(
            (start - origin - record("startMs")).abs() < 0.01,
            "{call} starts with its record"
        );
        assert!(
            (end - origin - record("endMs")).abs() < 0.01,
            "{call} ends with its record"
        );
        assert!(start >= origin && end <= origin + get_f64(&whole, "duration") + 0.01);
        assert_eq!(
            get_str(&measure, "detail.state"),
            get_str(&result, &format!("calls.{call}.state"))
        );
    }
    assert_eq!(get_str(&m("compose:c"), "detail.state"), "failed");
    assert_eq!(get_f64(&m("compose:c"), "detail.status"), 404.0);
    assert_eq!(get_str(&whole, "detail.state"), "ok");
    assert_eq!(
        get_str(&whole, "detail.devtools.trackGroup"),
        "parallel-composer"
    );

    // Each measure spans its request as the server saw it: it lasts at least as long as
    // the server held the request (each side measured on its own clock), and, once the
    // page's and the server's clocks are put on one time line (both count from the Unix
    // epoch), it starts before the request arrived and ends after the reply left. Two
    // processes read that epoch slightly differently: a few ms are allowed for it.
    let skew = 5.0;
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let epoch = get_f64(&performance, "timeOrigin");
    for (call, service) in [("a", "cart"), ("b", "pricing"), ("c", "shipping")] {
        let measure = m(&format!("compose:{call}"));
        let log = &s.log_of(service).await[0];
        let (arrived, replied) = (get_f64(log, "arrivedAt"), get_f64(log, "repliedAt"));
        let duration = get_f64(&measure, "duration");
        assert!(
            duration >= replied - arrived,
            "{call}: {duration} ms < the server's {} ms",
            replied - arrived
        );
        let start = epoch + get_f64(&measure, "startTime");
        assert!(
            start <= arrived + skew,
            "{call}: measured from {start}, arrived {arrived}"
        );
        assert!(
            start + duration >= replied - skew,
            "{call}: measured to {}, replied {replied}",
            start + duration
        );
    }
    // b waited for a: their measures do not overlap, nor did their requests.
    let (a, b) = (m("compose:a"), m("compose:b"));
    assert!(get_f64(&b, "startTime") >= get_f64(&a, "startTime") + get_f64(&a, "duration"));

    // Two compositions at once: same names, told apart by trace id and DevTools track.
    let (input, options) = (js("{}"), js(r#"{"timings":true}"#));
    let (one, two) = futures::join!(
        run_plan(&plan, &input, &options),
        run_plan(&plan, &input, &options)
    );
    let (one, two) = (
        get_str(&one.unwrap(), "traceId"),
        get_str(&two.unwrap(), "traceId"),
    );
    assert_ne!(one, two);
    let track = |trace: &str| {
        let ms = measures_of(trace);
        assert_eq!(ms.len(), 4, "{trace}");
        let tracks: Vec<String> = ms
            .iter()
            .map(|(_, m)| get_str(m, "detail.devtools.track"))
            .collect();
        assert!(
            tracks.iter().all(|t| *t == tracks[0]),
            "one track per composition"
        );
        tracks[0].clone()
    };
    assert_ne!(track(&one), track(&two));

    // Only when asked.
    let quiet = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert!(measures_of(&get_str(&quiet, "traceId")).is_empty());
    let off = run_plan(&plan, &js("{}"), &js(r#"{"timings":false}"#))
        .await
        .expect("composed");
    assert!(measures_of(&get_str(&off, "traceId")).is_empty());
}

/// `traceparent` values the server received, per log entry (None when absent).
fn traceparents(log: &[JsValue]) -> Vec<Option<String>> {
    log.iter()
        .map(|e| get(e, "headers.traceparent").as_string())
        .collect()
}

/// `00-<32 hex>-<16 hex>-01` read into (trace id, span id).
fn parse_traceparent(value: &str) -> (String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!((parts[0], parts[3]), ("00", "01"), "{value}");
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(hex(parts[1], 32) && parts[1] != "0".repeat(32), "{value}");
    assert!(hex(parts[2], 16) && parts[2] != "0".repeat(16), "{value}");
    (parts[1].to_owned(), parts[2].to_owned())
}

pub async fn traceparent_reaches_the_allowed_origins_with_one_trace_and_a_span_per_call() {
    let s = Scenario::new(
        "ev-trace",
        r#"{"faults":{"customer":{"status":503,"times":1},"order":{"status":422}}}"#,
    )
    .await;
    let origins = [CUSTOMER, CART, INVENTORY, PRICING, 8]
        .map(service_origin)
        .map(|o| format!("\"{o}\""))
        .join(",");
    // customer is retried; cart and pricing are reads on other origins; reserve is a
    // write whose compensation runs when `order` (service 8) fails.
    let plan = format!(
        r#"{{"calls":{{
        "customer":{{"url":"{cust}/customers/c1"}},
        "cart":{{"url":"{cart}"}},
        "price":{{"url":"{price}","headers":{{"x-n":"{{cart.query.n}}"}}}},
        "reserve":{{"method":"POST","url":"{inv}/reservations",
                    "body":{{"cartId":"k1","items":[{{"sku":"SKU-1","quantity":1}}]}},
                    "compensate":{{"method":"DELETE","url":"{inv}/reservations/{{reserve.reservationId}}"}}}},
        "order":{{"method":"POST","url":"{order}/orders","after":["customer","price","reserve"],
                  "body":{{"customerId":"c1"}}}}}}}}"#,
        cust = base(&s, CUSTOMER),
        cart = s.lab(CART, "echo?n=1"),
        price = s.lab(PRICING, "echo"),
        inv = base(&s, INVENTORY),
        order = base(&s, 8),
    );
    let e = expect_error(
        run_plan(
            &js(&plan),
            &js("{}"),
            &js(&format!(r#"{{"allowedOrigins":[{origins}]}}"#)),
        )
        .await,
        "HTTP_STATUS",
    );
    let trace = get_str(&e, "traceId");
    let log = s.log().await;
    let sent = traceparents(&log);
    assert_eq!(
        sent.len(),
        7,
        "2 customer, cart, price, reserve, order, the undo"
    );
    let mut spans = Vec::new();
    for (entry, header) in log.iter().zip(&sent) {
        let what = format!("{} {}", get_str(entry, "method"), get_str(entry, "path"));
        let header = header
            .as_deref()
            .unwrap_or_else(|| panic!("{what} came without traceparent"));
        let (trace_id, span) = parse_traceparent(header);
        assert_eq!(
            trace_id, trace,
            "{what}: the error's trace id is the one sent"
        );
        spans.push((what, span));
    }
    let span_of = |what: &str| -> Vec<String> {
        spans
            .iter()
            .filter(|(w, _)| w == what)
            .map(|(_, s)| s.clone())
            .collect()
    };
    let customer = span_of("GET /customers/c1");
    assert_eq!(customer.len(), 2);
    assert_eq!(customer[0], customer[1], "a retry keeps its call's span id");
    let mut distinct: Vec<String> = spans.iter().map(|(_, s)| s.clone()).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        6,
        "one span per call and one for the compensation"
    );
    assert_ne!(
        span_of("DELETE /reservations/res-1"),
        span_of("POST /reservations"),
        "the compensation is a span of its own in the same trace"
    );

    // The same composition's trace id is in a successful result too, and a plan's own
    // traceparent wins over the engine's.
    let s = Scenario::new("ev-trace-ok", "{}").await;
    let mine = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}},"b":{{"url":"{}","headers":{{"traceparent":"{mine}"}}}}}}}}"#,
        s.lab(CART, "echo"),
        s.lab(PRICING, "echo"),
    ));
    let allowed = format!(
        r#"{{"allowedOrigins":["{}","{}"]}}"#,
        service_origin(CART),
        service_origin(PRICING)
    );
    let result = run_plan(&plan, &js("{}"), &js(&allowed))
        .await
        .expect("composed");
    let trace = get_str(&result, "traceId");
    assert_eq!(
        parse_traceparent(&get_str(&result, "data.a.headers.traceparent")).0,
        trace
    );
    assert_eq!(
        get_str(&result, "data.b.headers.traceparent"),
        mine,
        "the plan's header wins"
    );

    // Off: no header, no trace id.
    let off = format!(
        r#"{{"allowedOrigins":["{}","{}"],"traceContext":false}}"#,
        service_origin(CART),
        service_origin(PRICING)
    );
    let result = run_plan(&plan, &js("{}"), &js(&off))
        .await
        .expect("composed");
    assert_eq!(get(&result, "traceId"), JsValue::NULL);
    assert!(get(&result, "data.a.headers.traceparent").is_undefined());

    // Without allowedOrigins the services are origins nobody named (the test page's
    // origin, or none in Node): no header goes to them, so no CORS preflight either.
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(get_str(&result, "traceId").len(), 32);
    assert!(get(&result, "data.a.headers.traceparent").is_undefined());

    // An explicit list: only those origins.
    let only_cart = format!(r#"{{"traceContext":["{}"]}}"#, service_origin(CART));
    let result = run_plan(&plan, &js("{}"), &js(&only_cart))
        .await
        .expect("composed");
    let trace = get_str(&result, "traceId");
    assert_eq!(
        parse_traceparent(&get_str(&result, "data.a.headers.traceparent")).0,
        trace
    );
    let plain = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}},"b":{{"url":"{}"}}}}}}"#,
        s.lab(CART, "echo"),
        s.lab(PRICING, "echo"),
    ));
    let result = run_plan(&plain, &js("{}"), &js(&only_cart))
        .await
        .expect("composed");
    assert!(get(&result, "data.a.headers.traceparent").is_string());
    assert!(
        get(&result, "data.b.headers.traceparent").is_undefined(),
        "pricing's origin is not listed"
    );
}

pub async fn compose_order_reports_progress_measures_and_its_trace() {
    let s = Scenario::new(
        "ev-order",
        r#"{"faults":{"shipping":{"status":503,"times":1}}}"#,
    )
    .await;
    let events = Events::new();
    let origins: Vec<String> = (0..10)
        .map(|i| format!("\"{}\"", service_origin(i)))
        .collect();
    let extra = format!(
        r#"{{"timings":true,"allowedOrigins":[{}]}}"#,
        origins.join(",")
    );
    let opts = events.options(&extra);
    Reflect::set(&opts, &"services".into(), &s.services()).unwrap();
    let result = run_order(GOLD, &opts).await.expect("order placed");
    holds_the_contract(&events, &get(&result, "calls"));
    assert_eq!(
        events.of("shipping"),
        [
            "start #1 - -",
            "retry #1 503 - HTTP_STATUS",
            "start #2 - -",
            "end #2 200 ok"
        ]
    );
    for name in SERVICES {
        assert_eq!(
            events.of(name).last().unwrap().split(' ').nth(3),
            Some("ok"),
            "{name}"
        );
    }
    let trace = get_str(&result, "traceId");
    let measures = measures_of(&trace);
    assert_eq!(measures.len(), 11, "ten services and the order");
    let sent = traceparents(&s.log().await);
    assert_eq!(sent.len(), 11, "ten calls and shipping's retry");
    for header in sent {
        let header = header.expect("every request of the order carries traceparent");
        assert_eq!(parse_traceparent(&header).0, trace);
    }
}

pub async fn a_fan_out_call_has_a_measure_per_item_beside_its_own() {
    let s = Scenario::new("ev-timings-items", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "each":{{"url":"{}/{{item}}","forEach":"{{input.skus}}"}}}}}}"#,
        s.lab(CART, "echo"),
    ));
    let result = run_plan(
        &plan,
        &js(r#"{"skus":["a","b"]}"#),
        &js(r#"{"timings":true}"#),
    )
    .await
    .expect("composed");
    let measures = measures_of(&get_str(&result, "traceId"));
    let mut names: Vec<&str> = measures.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "compose",
            "compose:each",
            "compose:each[0]",
            "compose:each[1]"
        ]
    );
}
