//! Optional calls, fallbacks and compensation, against the mock services: the server's
//! log and its reservations and authorizations are the witness of what was undone.

use super::*;

/// What the mock holds now at `path` on service `i` of scenario `s`.
async fn resource(s: &Scenario, i: usize, path: &str) -> JsValue {
    request(
        "GET",
        &format!("{}/s/{}{path}", service_origin(i), s.id),
        None,
    )
    .await
}

/// The requests service `name` received, as `METHOD path` lines.
async fn lines(s: &Scenario, name: &str) -> Vec<String> {
    s.log_of(name)
        .await
        .iter()
        .map(|e| format!("{} {}", get_str(e, "method"), get_str(e, "path")))
        .collect()
}

/// `(call, state)` of each compensation, in the order they ran.
fn compensations(e: &JsValue) -> Vec<(String, String)> {
    Array::from(&get(e, "compensations"))
        .iter()
        .map(|c| (get_str(&c, "call"), get_str(&c, "state")))
        .collect()
}

const INVENTORY: usize = 2;
const PAYMENT: usize = 7;

pub async fn a_fraud_rejection_releases_the_reservation() {
    // Fraud answers last, so the reservation exists when the rejection arrives.
    let s = Scenario::new(
        "saga-fraud",
        r#"{"faults":{"fraud":"reject"},"latency":{"fraud":150}}"#,
    )
    .await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), "{}")).await,
        "FRAUD_REJECTED",
    );
    assert_eq!(get_str(&e, "calls.inventory.state"), "ok");
    assert_eq!(
        compensations(&e),
        [("inventory".to_owned(), "ok".to_owned())]
    );
    let released = get(&e, "compensations.0");
    assert_eq!(get_f64(&released, "status"), 200.0);
    assert_eq!(get_f64(&released, "attempts"), 1.0);
    assert_eq!(get(&released, "error"), JsValue::NULL);
    assert_eq!(
        lines(&s, "inventory").await,
        ["POST /reservations", "DELETE /reservations/res-1"]
    );
    let reservation = resource(&s, INVENTORY, "/reservations/res-1").await;
    assert_eq!(get(&reservation, "released"), JsValue::TRUE);
    assert!(s.log_of("payment").await.is_empty(), "no money was touched");
}

pub async fn a_declined_payment_releases_the_reservation_and_voids_nothing() {
    let s = Scenario::new("saga-decline", "{}").await;
    let request = r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm_declined"}"#;
    let e = expect_error(
        run_order(request, &options(&s.services(), "{}")).await,
        "PAYMENT_DECLINED",
    );
    assert_eq!(
        compensations(&e),
        [("inventory".to_owned(), "ok".to_owned())]
    );
    assert_eq!(
        lines(&s, "payment").await,
        ["POST /authorizations"],
        "a declined authorization has nothing to void"
    );
    let reservation = resource(&s, INVENTORY, "/reservations/res-1").await;
    assert_eq!(get(&reservation, "released"), JsValue::TRUE);
}

pub async fn a_failed_order_voids_the_authorization_then_releases_the_reservation() {
    let s = Scenario::new("saga-order", r#"{"faults":{"order":{"status":422}}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"operationId":"op-7"}"#)).await,
        "HTTP_STATUS",
    );
    assert_eq!(
        get_str(&e, "call"),
        "order",
        "the error is the failure itself"
    );
    // The authorization finished after the reservation, so it is undone first.
    assert_eq!(
        compensations(&e),
        [
            ("payment".to_owned(), "ok".to_owned()),
            ("inventory".to_owned(), "ok".to_owned())
        ]
    );
    let log = s.log().await;
    let undo: Vec<&JsValue> = log
        .iter()
        .filter(|e| {
            let path = get_str(e, "path");
            path.ends_with("/void") || get_str(e, "method") == "DELETE"
        })
        .collect();
    assert_eq!(undo.len(), 2, "each write undone exactly once");
    assert_eq!(get_str(undo[0], "path"), "/authorizations/auth-1/void");
    assert_eq!(get_str(undo[1], "path"), "/reservations/res-1");
    assert_eq!(
        get_str(undo[0], "headers.idempotency-key"),
        "op-7:payment.compensate",
        "a repeated undo of the same intent is deduplicated"
    );
    let order_failed_at = log
        .iter()
        .filter(|e| get_str(e, "service") == "order")
        .map(|e| get_f64(e, "repliedAt"))
        .fold(0.0, f64::max);
    assert!(
        get_f64(undo[0], "arrivedAt") >= order_failed_at,
        "undone only after the failure"
    );
    let auth = resource(&s, PAYMENT, "/authorizations/auth-1").await;
    assert_eq!(get_str(&auth, "status"), "voided");
    let reservation = resource(&s, INVENTORY, "/reservations/res-1").await;
    assert_eq!(get(&reservation, "released"), JsValue::TRUE);
}

pub async fn an_order_of_unknown_outcome_leaves_its_inputs_for_the_caller() {
    // Every order attempt is reset: the order may exist, so undoing the payment or the
    // reservation it used could break it. Both are listed, not undone.
    let s = Scenario::new("saga-unknown", r#"{"faults":{"order":"reset"}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), "{}")).await,
        "NETWORK",
    );
    assert_eq!(get_str(&e, "calls.order.state"), "unknown");
    assert_eq!(get_str(&e, "calls.order.error.code"), "NETWORK");
    assert_eq!(
        compensations(&e),
        [
            ("payment".to_owned(), "not-run".to_owned()),
            ("inventory".to_owned(), "not-run".to_owned())
        ]
    );
    assert!(get_str(&e, "compensations.0.reason")
        .contains("`order` depends on it and its outcome is unknown"));
    assert_eq!(lines(&s, "payment").await, ["POST /authorizations"]);
    assert_eq!(lines(&s, "inventory").await, ["POST /reservations"]);
}

pub async fn an_abort_undoes_nothing_and_lists_every_write() {
    let s = Scenario::new("saga-abort", r#"{"faults":{"order":"hang"}}"#).await;
    let controller = web_sys::AbortController::new().unwrap();
    let o = options(&s.services(), "{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let order = run_order(GOLD, &o);
    let abort_when_order_arrives = async {
        while s.log_of("order").await.is_empty() {
            delay(10.0).await;
        }
        controller.abort();
    };
    let (result, ()) = futures::join!(order, abort_when_order_arrives);
    let e = expect_error(result, "ABORTED");
    assert_eq!(
        get_str(&e, "calls.order.state"),
        "unknown",
        "the order was sent; whether it was created is not known"
    );
    assert_eq!(get_str(&e, "calls.payment.state"), "ok");
    assert_eq!(
        compensations(&e),
        [
            ("payment".to_owned(), "not-run".to_owned()),
            ("inventory".to_owned(), "not-run".to_owned())
        ]
    );
    // Nothing reaches a service after the abort.
    let aborted_at = s.log_of("order").await[0].clone();
    assert!(
        s.saw_aborted(Some("order"), 1).await,
        "the order request was aborted on the wire"
    );
    let after: Vec<JsValue> = s
        .log()
        .await
        .into_iter()
        .filter(|e| get_f64(e, "seq") > get_f64(&aborted_at, "seq"))
        .collect();
    assert!(
        after.is_empty(),
        "sent after the abort: {}",
        show(&Array::from_iter(after).into())
    );
}

pub async fn a_failed_optional_call_falls_back_and_its_dependents_use_the_fallback() {
    let s = Scenario::new("fallback", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
            "recs": {{"url":"{}?status=503","fallback":{{"count":0,"items":[]}}}},
            "page": {{"url":"{}?n={{recs.count}}"}},
            "opt":  {{"url":"{}?status=500","optional":true}},
            "uses": {{"url":"{}?id={{opt.id}}"}}
        }}}}"#,
        s.lab(0, "items"),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
        s.lab(3, "echo")
    ));
    let result = run_plan(&plan, &js("{}"), &js(r#"{"maxAttempts":1}"#))
        .await
        .unwrap_or_else(|e| panic!("an optional failure failed the composition: {}", show(&e)));
    assert_eq!(show(&get(&result, "fellBack")), r#"["recs"]"#);
    assert_eq!(get_str(&result, "calls.recs.state"), "failed");
    assert_eq!(get_f64(&result, "calls.recs.status"), 503.0);
    assert_eq!(get_str(&result, "calls.recs.error.code"), "HTTP_STATUS");
    assert_eq!(
        show(&get(&result, "data.recs")),
        r#"{"count":0,"items":[]}"#
    );
    assert_eq!(get_str(&result, "calls.page.state"), "ok");
    assert_eq!(
        get_str(&result, "data.page.query.n"),
        "0",
        "the fallback was used"
    );
    assert_eq!(get_str(&result, "calls.opt.state"), "failed");
    assert_eq!(get_str(&result, "calls.uses.state"), "skipped");
    assert_eq!(get(&result, "data.opt"), JsValue::UNDEFINED);
    assert!(
        s.log_of("pricing").await.is_empty(),
        "uses was skipped, never sent"
    );
    let sent: Vec<String> = s.log().await.iter().map(|e| get_str(e, "path")).collect();
    assert_eq!(sent.len(), 3, "uses was never sent: {sent:?}");
}
