//! Submitting an order again, and orders placed just before the deadline or an abort,
//! against the stateful mock services: the servers' reservations, authorizations and
//! orders are the witness, and the services mark replayed replies
//! (`Idempotent-Replayed: true`) as real ones must.

use super::*;

const INVENTORY: usize = 2;
const PAYMENT: usize = 7;

/// What the mock holds now at `path` on service `i` of scenario `s`.
async fn resource(s: &Scenario, i: usize, path: &str) -> JsValue {
    request(
        "GET",
        &format!("{}/s/{}{path}", service_origin(i), s.id),
        None,
    )
    .await
}

/// `METHOD path` of every request service `name` received, `(replayed)` marked.
async fn lines(s: &Scenario, name: &str) -> Vec<String> {
    s.log_of(name)
        .await
        .iter()
        .map(|e| {
            let replayed = if get(e, "replayed") == JsValue::TRUE {
                " (replayed)"
            } else {
                ""
            };
            format!("{} {}{replayed}", get_str(e, "method"), get_str(e, "path"))
        })
        .collect()
}

fn compensations(e: &JsValue) -> Vec<(String, String)> {
    Array::from(&get(e, "compensations"))
        .iter()
        .map(|c| (get_str(&c, "call"), get_str(&c, "state")))
        .collect()
}

/// Polls the log until service `name` has received a request: the moment to act on it.
async fn until_received(s: &Scenario, name: &str) {
    for _ in 0..200 {
        if !s.log_of(name).await.is_empty() {
            return;
        }
        delay(10.0).await;
    }
    panic!("{name} never received a request");
}

pub async fn a_resubmission_never_undoes_what_an_earlier_submission_made() {
    // Submission 1 places the order, but every reply of the order service is lost.
    let s = Scenario::new("replay", r#"{"faults":{"order":"lose-reply"}}"#).await;
    let o = options(&s.services(), r#"{"operationId":"checkout-r1"}"#);
    let first = expect_error(run_order(GOLD, &o).await, "NETWORK");
    assert_eq!(get_str(&first, "calls.order.state"), "unknown");
    assert_eq!(get_str(&first, "resubmit"), "same-operation");
    assert_eq!(
        compensations(&first),
        [
            ("payment".to_owned(), "not-run".to_owned()),
            ("inventory".to_owned(), "not-run".to_owned())
        ]
    );
    // Submission 2, as the README advises, under the same operationId: the reservation
    // comes back by key, then the customer service fails before the order is sent.
    s.configure(r#"{"faults":{"customer":{"status":500}},"latency":{"customer":150}}"#)
        .await;
    let second = expect_error(run_order(GOLD, &o).await, "HTTP_STATUS");
    assert_eq!(get_str(&second, "call"), "customer");
    assert_eq!(get_str(&second, "calls.inventory.state"), "ok");
    assert_eq!(get(&second, "calls.inventory.replayed"), JsValue::TRUE);
    assert_eq!(get(&second, "calls.cart.replayed"), JsValue::FALSE);
    assert_eq!(
        compensations(&second),
        [("inventory".to_owned(), "not-run".to_owned())]
    );
    let reason = get_str(&second, "compensations.0.reason");
    assert!(
        reason.contains(
            "an earlier request with the same Idempotency-Key made it, an earlier submission's"
        ),
        "{reason}"
    );
    // An earlier submission's order may exist: never start anew.
    assert_eq!(get_str(&second, "resubmit"), "same-operation");
    // The services' own state: the order exists and its reservation is still held.
    assert_eq!(
        lines(&s, "inventory").await,
        ["POST /reservations", "POST /reservations (replayed)"],
        "nothing was released"
    );
    let reservation = resource(&s, INVENTORY, "/reservations/res-1").await;
    assert_eq!(get(&reservation, "released"), JsValue::FALSE);
    let order = resource(&s, 8, "/orders/ord-1").await;
    assert_eq!(get_str(&order, "reservationId"), "res-1");
    // Submission 3, with the services healthy, completes the operation: the same order.
    s.configure("{}").await;
    let third = run_order(GOLD, &o)
        .await
        .expect("the same operation completes");
    assert_eq!(get_str(&third, "orderId"), "ord-1");
    assert_eq!(get(&third, "calls.order.replayed"), JsValue::TRUE);
    let auth = resource(&s, PAYMENT, "/authorizations/auth-1").await;
    assert_eq!(get_str(&auth, "status"), "authorized");
}

pub async fn an_order_placed_before_the_deadline_resolves_without_its_notification() {
    let s = Scenario::new("placed-deadline", r#"{"faults":{"notification":"hang"}}"#).await;
    let o = options(&s.services(), r#"{"deadlineMs":800}"#);
    let order = run_order(GOLD, &o)
        .await
        .unwrap_or_else(|e| panic!("a placed order was reported as a failure: {}", show(&e)));
    assert!(get_str(&order, "orderId").starts_with("ord-"));
    assert_eq!(get(&order, "notification.sent"), JsValue::FALSE);
    assert_eq!(get_str(&order, "notification.state"), "unknown");
    assert!(get_str(&order, "notification.error").contains("deadline of 800 ms"));
    assert_eq!(get_str(&order, "calls.notification.state"), "unknown");
    assert_eq!(get_str(&order, "calls.notification.error.code"), "TIMEOUT");
    assert_eq!(get_str(&order, "calls.order.state"), "ok");
    assert!(
        s.saw_aborted(Some("notification"), 1).await,
        "the notification request was aborted on the wire"
    );
}

pub async fn an_order_placed_before_an_abort_resolves_without_its_notification() {
    let s = Scenario::new("placed-abort", r#"{"faults":{"notification":"hang"}}"#).await;
    let controller = web_sys::AbortController::new().unwrap();
    let o = options(&s.services(), "{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let abort_when_notified = async {
        until_received(&s, "notification").await;
        controller.abort();
    };
    let (order, ()) = futures::join!(run_order(GOLD, &o), abort_when_notified);
    let order = order.unwrap_or_else(|e| panic!("aborted after the order: {}", show(&e)));
    assert!(get_str(&order, "orderId").starts_with("ord-"));
    assert_eq!(get_str(&order, "notification.state"), "unknown");
    assert_eq!(get_str(&order, "calls.notification.error.code"), "ABORTED");
    assert!(s.saw_aborted(Some("notification"), 1).await);
}

pub async fn compose_resolves_when_only_optional_calls_are_cut_short() {
    let s = Scenario::new("optional-deadline", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
            "page":  {{"url":"{}"}},
            "audit": {{"method":"POST","url":"{}?fault=hang","optional":true,"body":{{"page":"{{page.method}}"}}}},
            "promo": {{"url":"{}?fault=hang","optional":true}},
            "after": {{"url":"{}","optional":true,"after":["promo"]}}
        }}}}"#,
        s.lab(0, "echo"),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
        s.lab(3, "echo")
    ));
    let result = run_plan(&plan, &js("{}"), &js(r#"{"deadlineMs":500}"#))
        .await
        .unwrap_or_else(|e| panic!("only optional calls were left: {}", show(&e)));
    assert_eq!(get_str(&result, "calls.page.state"), "ok");
    assert_eq!(
        get_str(&result, "calls.audit.state"),
        "unknown",
        "a write in flight"
    );
    assert_eq!(
        get_str(&result, "calls.promo.state"),
        "cancelled",
        "a read in flight"
    );
    assert_eq!(
        get_str(&result, "calls.after.state"),
        "cancelled",
        "never started"
    );
    assert_eq!(get_str(&result, "calls.after.error.code"), "TIMEOUT");
    assert_eq!(get(&result, "data.promo"), JsValue::UNDEFINED);
    assert!(
        s.saw_aborted(Some("inventory"), 1).await,
        "promo aborted on the wire"
    );
    assert!(
        s.saw_aborted(Some("cart"), 1).await,
        "audit aborted on the wire"
    );
}

pub async fn a_declined_payment_asks_for_a_new_operation_and_the_old_one_replays_the_decline() {
    let s = Scenario::new("another-card", "{}").await;
    let declined = r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm_declined"}"#;
    let another = r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm_2"}"#;
    let old = options(&s.services(), r#"{"operationId":"checkout-9:1"}"#);
    let e = expect_error(run_order(declined, &old).await, "PAYMENT_DECLINED");
    assert_eq!(
        compensations(&e),
        [("inventory".to_owned(), "ok".to_owned())]
    );
    assert_eq!(get_str(&e, "resubmit"), "new-operation");
    // Why: under the old operationId the service replays the old outcome, whatever card.
    let replay = expect_error(run_order(another, &old).await, "PAYMENT_DECLINED");
    assert_eq!(get(&replay, "calls.payment.replayed"), JsValue::TRUE);
    assert_eq!(
        get(&replay, "calls.inventory.replayed"),
        JsValue::TRUE,
        "the released reservation came back by key"
    );
    // A new attempt under a new operationId places the order with the other card.
    let new = options(&s.services(), r#"{"operationId":"checkout-9:2"}"#);
    let order = run_order(another, &new)
        .await
        .expect("the other card works");
    let auth = resource(
        &s,
        PAYMENT,
        &format!("/authorizations/{}", get_str(&order, "authorizationId")),
    )
    .await;
    assert_eq!(get_str(&auth, "paymentMethodId"), "pm_2");
    assert_eq!(get_str(&auth, "status"), "authorized");
    let reservation = resource(
        &s,
        INVENTORY,
        &format!("/reservations/{}", get_str(&order, "reservationId")),
    )
    .await;
    assert_eq!(get(&reservation, "released"), JsValue::FALSE);
}

pub async fn a_5xx_to_a_write_leaves_it_unknown_and_the_same_operation_finishes_it() {
    // A 5xx may come from a proxy in front of a service that acted on an earlier copy of
    // the request (a browser resends one by itself on a reused connection): unknown.
    let s = Scenario::new(
        "order-5xx",
        r#"{"faults":{"order":{"status":500,"times":1}}}"#,
    )
    .await;
    let o = options(&s.services(), r#"{"operationId":"checkout-5xx"}"#);
    let first = expect_error(run_order(GOLD, &o).await, "HTTP_STATUS");
    assert_eq!(get_str(&first, "calls.order.state"), "unknown");
    assert_eq!(get_f64(&first, "calls.order.status"), 500.0);
    assert_eq!(
        compensations(&first),
        [
            ("payment".to_owned(), "not-run".to_owned()),
            ("inventory".to_owned(), "not-run".to_owned())
        ]
    );
    assert_eq!(get_str(&first, "resubmit"), "same-operation");
    let second = run_order(GOLD, &o)
        .await
        .expect("the same operation finishes");
    assert_eq!(get(&second, "calls.inventory.replayed"), JsValue::TRUE);
    assert_eq!(get(&second, "calls.payment.replayed"), JsValue::TRUE);
    assert_eq!(get(&second, "calls.order.replayed"), JsValue::FALSE);
    let created: Vec<String> = s
        .log_of("order")
        .await
        .iter()
        .filter(|e| get(e, "reply.status").as_f64() == Some(201.0))
        .map(|e| get_str(e, "reply.body.orderId"))
        .collect();
    assert_eq!(created, [get_str(&second, "orderId")], "one order");
}

pub async fn a_write_replayed_after_its_own_lost_reply_leaves_the_operation_whole() {
    // The reservation's first reply is lost after the service acted; the retry (or, in a
    // browser, its own resend) gets the reply replayed. Whose the reservation is cannot be
    // told from a replay, so nothing is undone when fraud then refuses, and the same
    // operation finishes the order on it.
    let s = Scenario::new(
        "own-replay",
        r#"{"faults":{"inventory":{"type":"lose-reply","times":1},"fraud":{"status":422,"times":1}},"latency":{"fraud":400}}"#,
    )
    .await;
    let o = options(&s.services(), r#"{"operationId":"checkout-own"}"#);
    let e = expect_error(run_order(GOLD, &o).await, "HTTP_STATUS");
    assert_eq!(get_str(&e, "call"), "fraud");
    assert_eq!(get_str(&e, "calls.inventory.state"), "ok");
    assert_eq!(get(&e, "calls.inventory.replayed"), JsValue::TRUE);
    assert_eq!(
        compensations(&e),
        [("inventory".to_owned(), "not-run".to_owned())]
    );
    assert_eq!(get_str(&e, "resubmit"), "same-operation");
    let reservation = resource(&s, INVENTORY, "/reservations/res-1").await;
    assert_eq!(get(&reservation, "released"), JsValue::FALSE);
    let order = run_order(GOLD, &o)
        .await
        .expect("the same operation finishes");
    assert_eq!(get_str(&order, "reservationId"), "res-1");
}

/// A reply is a replay only of a request that carried an `Idempotency-Key`: the header
/// says a stored reply for that key came back, which a request without one cannot get.
pub async fn only_a_request_with_an_idempotency_key_can_be_replayed() {
    let s = Scenario::new("replaykeyed", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "read":{{"url":"{0}"}},
        "write":{{"method":"POST","url":"{0}","body":{{"n":1}}}},
        "unkeyed":{{"method":"PUT","url":"{0}","body":{{"n":2}}}},
        "keyed":{{"method":"PUT","url":"{0}","body":{{"n":3}},"headers":{{"idempotency-key":"k-put"}}}}}}}}"#,
        s.lab(0, "echo/r?replayed=true"),
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(
        get(&result, "calls.write.replayed"),
        JsValue::TRUE,
        "a write carries a key of its own: {}",
        show(&get(&result, "calls"))
    );
    assert_eq!(get(&result, "calls.read.replayed"), JsValue::FALSE);
    assert_eq!(get(&result, "calls.unkeyed.replayed"), JsValue::FALSE);
    assert_eq!(
        get(&result, "calls.keyed.replayed"),
        JsValue::TRUE,
        "a key the plan sets, whatever its case, counts"
    );
}
