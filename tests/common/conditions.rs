//! `when` against the mock services: a call whose condition is false is never sent (the
//! servers' log is the witness), its record and its skip event say `not-needed`, the calls
//! that read it are not needed either, and a big integer from a reply compares exactly.

use super::*;

/// The loyalty example: `points` only for a gold customer, `badge` reads it, `audit` is
/// only ordered after it. `tier` and the customer's `id` come back in the echo's query.
fn loyalty(s: &Scenario, tier: &str) -> JsValue {
    js(&format!(
        r#"{{"calls":{{
            "customer": {{"url":"{}?tier={tier}&id=7"}},
            "points":   {{"url":"{}?customer={{customer.query.id}}",
                          "when":{{"equals":["{{customer.query.tier}}","gold"]}}}},
            "badge":    {{"url":"{}?points={{points.query.customer}}"}},
            "audit":    {{"url":"{}","after":["points"]}}
        }}}}"#,
        s.lab(0, "echo"),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
        s.lab(3, "echo"),
    ))
}

pub async fn a_call_whose_condition_is_false_is_never_sent_nor_its_readers() {
    let s = Scenario::new("when-false", "{}").await;
    let events = Events::new();
    let result = run_plan(&loyalty(&s, "silver"), &js("{}"), &events.options("{}"))
        .await
        .unwrap_or_else(|e| panic!("a condition failed the composition: {}", show(&e)));
    for (call, state) in [
        ("customer", "ok"),
        ("points", "not-needed"),
        ("badge", "not-needed"),
        ("audit", "ok"),
    ] {
        assert_eq!(
            get_str(&result, &format!("calls.{call}.state")),
            state,
            "{call}"
        );
    }
    assert_eq!(get_f64(&result, "calls.points.attempts"), 0.0);
    assert!(get(&result, "calls.points.startMs").is_null());
    assert!(get(&result, "data.points").is_undefined());
    assert_eq!(show(&get(&result, "fellBack")), "[]");
    assert_eq!(events.of("points"), ["skip #- - not-needed not-needed"]);
    assert_eq!(events.of("badge"), ["skip #- - not-needed not-needed"]);
    let sent: Vec<String> = s
        .log()
        .await
        .iter()
        .map(|e| get_str(e, "service"))
        .collect();
    assert_eq!(
        sent.len(),
        2,
        "only customer and audit reached a server: {sent:?}"
    );
    assert!(
        s.log_of(SERVICES[1]).await.is_empty(),
        "points was never sent"
    );
    assert!(
        s.log_of(SERVICES[2]).await.is_empty(),
        "badge was never sent"
    );
}

pub async fn a_call_whose_condition_holds_runs_and_a_fallback_feeds_readers_otherwise() {
    let s = Scenario::new("when-true", "{}").await;
    let result = run_plan(&loyalty(&s, "gold"), &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(get_str(&result, "calls.points.state"), "ok");
    assert_eq!(get_str(&result, "data.badge.query.points"), "7");

    let s = Scenario::new("when-fallback", "{}").await;
    let plan = loyalty(&s, "silver");
    let points = get(&plan, "calls.points");
    Reflect::set(
        &points,
        &"fallback".into(),
        &js(r#"{"query":{"customer":"none"}}"#),
    )
    .unwrap();
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(get_str(&result, "calls.points.state"), "not-needed");
    assert_eq!(show(&get(&result, "fellBack")), r#"["points"]"#);
    assert_eq!(get_str(&result, "calls.badge.state"), "ok");
    assert_eq!(get_str(&result, "data.badge.query.points"), "none");
    assert!(
        s.log_of(SERVICES[1]).await.is_empty(),
        "points was never sent"
    );
}

pub async fn conditions_compare_big_integers_from_replies_exactly() {
    let s = Scenario::new("when-bignum", "{}").await;
    // 2^64 + 1: a double cannot hold it, and the nearest double is 2^64.
    let body = r#"{"id":18446744073709551617,"small":3}"#;
    let plan = js(&format!(
        r#"{{"calls":{{
            "a":      {{"url":"{}"}},
            "above":  {{"url":"{}", "when":{{"gt":["{{a.id}}", 18446744073709551616]}}}},
            "same":   {{"url":"{}", "when":{{"equals":["{{a.id}}", 18446744073709551616]}}}},
            "listed": {{"url":"{}", "when":{{"in":["{{a.small}}", [1, 2, 3]]}}}}
        }}}}"#,
        raw_url(&s, 0, body),
        s.lab(1, "echo"),
        s.lab(2, "echo"),
        s.lab(3, "echo"),
    ));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(
        get_str(&result, "calls.above.state"),
        "ok",
        "2^64 + 1 > 2^64"
    );
    assert_eq!(
        get_str(&result, "calls.same.state"),
        "not-needed",
        "2^64 + 1 != 2^64"
    );
    assert_eq!(get_str(&result, "calls.listed.state"), "ok");
}

pub async fn a_condition_with_a_mistake_is_refused_with_its_place_before_any_request() {
    let s = Scenario::new("when-invalid", "{}").await;
    for (when, message) in [
        (
            r#"{"and":[{"exists":"{input.a}"},{"same":[1,1]}]}"#,
            "calls.b.when.and[1]: unknown operator `same`",
        ),
        (
            r#"{"gt":["{a.n}","many"]}"#,
            "calls.b.when.gt[1]: gt compares numbers, not a string",
        ),
        (
            r#"{"equals":["{shop.tier}","gold"]}"#,
            "calls.b.when.equals[0]: placeholder `{shop.tier}` names `shop`",
        ),
    ] {
        let plan = js(&format!(
            r#"{{"calls":{{"a":{{"url":"{}"}},"b":{{"url":"{}","when":{when}}}}}}}"#,
            s.lab(0, "echo"),
            s.lab(1, "echo"),
        ));
        let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "INVALID_PLAN");
        let text = get_str(&e, "message");
        assert!(text.starts_with(message), "{text}");
        let thrown = validate_plan(plan.unchecked_into()).map(JsValue::from);
        let e = expect_error(thrown, "INVALID_PLAN");
        assert!(get_str(&e, "message").starts_with(message));
    }
    assert!(s.log().await.is_empty(), "nothing was sent");
}
