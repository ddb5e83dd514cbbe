//! A plan is read once and found again (src/bindings/plan_cache.rs): what must hold is
//! that it runs exactly as a fresh read would. A frozen plan runs again as written and the
//! options' limits still hold for it; a plan that can change (not frozen all the way down,
//! or with a getter) reads its changes at the next composition; a plan found again by what
//! it holds is one that holds what the plan read then held, in the same order, and no other.

use super::*;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = idFetch)]
    fn id_fetch() -> JsValue;
    #[wasm_bindgen(js_name = deepFreeze)]
    fn deep_freeze(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = frozenWithGetter)]
    fn frozen_with_getter() -> JsValue;
    #[wasm_bindgen(js_name = recordingFetch)]
    fn recording_fetch(reply: Option<String>) -> JsValue;
    #[wasm_bindgen(js_name = bodyPlan)]
    fn body_plan(kind: &str) -> JsValue;
    #[wasm_bindgen(js_name = planWithGetter)]
    fn plan_with_getter() -> JsValue;
    #[wasm_bindgen(js_name = planWithThrowingGetter)]
    fn plan_with_throwing_getter() -> JsValue;
}

const PLAN: &str =
    r#"{"calls":{"a":{"url":"https://api.example/a"},"b":{"url":"https://api.example/b/{a.id}"}}}"#;

fn urls(recorder: &JsValue) -> Vec<String> {
    Array::from(&get(recorder, "urls"))
        .iter()
        .map(|u| u.as_string().unwrap())
        .collect()
}

pub async fn a_frozen_plan_runs_again_as_written_and_the_limits_still_hold() {
    let plan = deep_freeze(&js(PLAN));
    let recorder = id_fetch();
    for _ in 0..2 {
        let result = run_plan(&plan, &js("{}"), &with_fetch(&recorder, "{}"))
            .await
            .unwrap();
        assert_eq!(get_f64(&result, "data.b.id"), 7.0);
        assert_eq!(show(&get(&result, "stages")), r#"[["a"],["b"]]"#);
    }
    let sent = ["https://api.example/a", "https://api.example/b/7"];
    assert_eq!(urls(&recorder), [sent, sent].concat());
    // The same frozen plan under options that refuse it: refused, nothing sent.
    let e = expect_error(
        run_plan(
            &plan,
            &js("{}"),
            &with_fetch(&recorder, r#"{"maxCalls":1}"#),
        )
        .await,
        "INVALID_PLAN",
    );
    assert!(
        get_str(&e, "message").contains("maxCalls"),
        "{}",
        get_str(&e, "message")
    );
    let e = expect_error(
        run_plan(
            &plan,
            &js("{}"),
            &with_fetch(&recorder, r#"{"allowedOrigins":["https://other.example"]}"#),
        )
        .await,
        "INVALID_PLAN",
    );
    assert!(
        get_str(&e, "message").contains("https://api.example"),
        "{}",
        get_str(&e, "message")
    );
    assert_eq!(
        urls(&recorder).len(),
        4,
        "the refused compositions sent nothing"
    );
}

pub async fn a_plan_that_can_change_is_read_again_at_every_composition() {
    let recorder = id_fetch();
    let run = |plan: JsValue| {
        let options = with_fetch(&recorder, "{}");
        async move { run_plan(&plan, &js("{}"), &options).await.unwrap() }
    };
    // Runs `plan`, sets call `a`'s URL to `url`, and runs it again.
    let run_changed = |plan: JsValue, url: &'static str| {
        let run = &run;
        async move {
            run(plan.clone()).await;
            Reflect::set(&get(&plan, "calls.a"), &"url".into(), &url.into()).unwrap();
            run(plan).await;
        }
    };
    // Not frozen at all: the URL changed between two compositions is the one sent.
    run_changed(js(PLAN), "https://api.example/a2").await;
    // Frozen, but for call `a`'s object.
    let plan = js(PLAN);
    Object::freeze(get(&plan, "calls").unchecked_ref::<Object>());
    Object::freeze(plan.unchecked_ref::<Object>());
    run_changed(plan, "https://api.example/a3").await;
    // Frozen all the way down, with the URL behind a getter.
    let plan = frozen_with_getter();
    run(plan.clone()).await;
    run(plan).await;
    let sent: Vec<String> = urls(&recorder)
        .into_iter()
        .filter(|u| !u.contains("/b/"))
        .collect();
    assert_eq!(
        sent,
        [
            "https://api.example/a",
            "https://api.example/a2",
            "https://api.example/a",
            "https://api.example/a3",
            "https://api.example/a/1",
            "https://api.example/a/2",
        ]
    );
}

/// Runs `plan` until it is kept and found: plans that are not found eight times
/// in a row make the lookup rest for 56 compositions (js/value.js), and the first
/// lookup after a rest may be the eighth again, so 2 x 57 + 1 runs end with a lookup that
/// found it, and none missed since. Returns the number of runs.
async fn found_again(plan: &JsValue, options: &dyn Fn() -> JsValue) -> usize {
    const RUNS: usize = 2 * 57 + 1;
    for _ in 0..RUNS {
        run_plan(plan, &js("{}"), &options()).await.unwrap();
    }
    RUNS
}

pub async fn plans_written_anew_run_as_written_however_many_come_and_go() {
    let recorder = id_fetch();
    let plan = |k: usize| js(&PLAN.replace("api.example/a", &format!("api.example/p{k}")));
    found_again(&plan(0), &|| with_fetch(&recorder, "{}")).await;
    get(&recorder, "urls")
        .unchecked_ref::<Array>()
        .set_length(0);
    // Five plans again and again (found again), then ten in turn, more than are
    // kept (each pushes one out), then the first again: each sends its own URL.
    let order: Vec<usize> = (0..4)
        .flat_map(|_| 0..5)
        .chain((0..2).flat_map(|_| 0..10))
        .chain(0..5)
        .collect();
    for &k in &order {
        let result = run_plan(&plan(k), &js("{}"), &with_fetch(&recorder, "{}"))
            .await
            .unwrap();
        assert_eq!(get_f64(&result, "data.b.id"), 7.0);
    }
    let expected: Vec<String> = order
        .iter()
        .flat_map(|k| {
            [
                format!("https://api.example/p{k}"),
                "https://api.example/b/7".into(),
            ]
        })
        .collect();
    assert_eq!(urls(&recorder), expected);
    // A plan found again is still held to the options' limits.
    let e = expect_error(
        run_plan(
            &plan(0),
            &js("{}"),
            &with_fetch(&recorder, r#"{"maxCalls":1}"#),
        )
        .await,
        "INVALID_PLAN",
    );
    assert!(get_str(&e, "message").contains("maxCalls"));
    assert_eq!(
        urls(&recorder).len(),
        expected.len(),
        "the refused one sent nothing"
    );
}

pub async fn a_plan_alike_as_json_text_but_not_as_read_is_read_as_itself() {
    let recorder = recording_fetch(None);
    let options = || with_fetch(&recorder, "{}");
    let sent_body = |i: u32| {
        let seen = get(&recorder, "seen");
        let init = get(&Array::from(&seen).get(i), "init");
        get_str(&init, "body")
    };
    let mut sent = found_again(&body_plan("null"), &options).await as u32;
    // Each pair: the first kept, the second alike as JSON text (JSON.stringify writes both the same).
    for (kept, alike, expected) in [
        (
            "null",
            "infinity",
            Err("plan.calls.a.body.v is not a finite number"),
        ),
        ("date-text", "date", Ok(r#"{"v":{}}"#)),
        ("text", "boxed", Ok(r#"{"v":{"0":"a","1":"b"}}"#)),
        (
            "empty",
            "function",
            Err("plan.calls.a.body.v.f is not JSON data"),
        ),
    ] {
        for _ in 0..2 {
            run_plan(&body_plan(kept), &js("{}"), &options())
                .await
                .unwrap();
            sent += 1;
        }
        match expected {
            Ok(body) => {
                run_plan(&body_plan(alike), &js("{}"), &options())
                    .await
                    .unwrap();
                assert_eq!(sent_body(sent), body, "{alike} after {kept}");
                sent += 1;
            }
            Err(message) => {
                let e = expect_error(
                    run_plan(&body_plan(alike), &js("{}"), &options()).await,
                    "INVALID_PLAN",
                );
                assert!(
                    get_str(&e, "message").contains(message),
                    "{}",
                    get_str(&e, "message")
                );
            }
        }
        assert_eq!(Array::from(&get(&recorder, "seen")).length(), sent);
    }
    // A getter that answers anew at each read: each composition sends what it read.
    let ids = id_fetch();
    let plan = plan_with_getter();
    for _ in 0..3 {
        run_plan(&plan, &js("{}"), &with_fetch(&ids, "{}"))
            .await
            .unwrap();
    }
    let sent = urls(&ids);
    assert_eq!(sent.len(), 3);
    assert!(sent[0] != sent[1] && sent[1] != sent[2], "{sent:?}");
}

pub async fn a_plan_found_again_holds_the_same_calls_in_the_same_order() {
    let recorder = id_fetch();
    let options = || with_fetch(&recorder, "{}");
    let xy =
        r#"{"calls":{"x":{"url":"https://api.example/x"},"y":{"url":"https://api.example/y"}}}"#;
    let yx =
        r#"{"calls":{"y":{"url":"https://api.example/y"},"x":{"url":"https://api.example/x"}}}"#;
    found_again(&js(xy), &options).await;
    // The same calls declared the other way round: another plan, read as itself.
    let result = run_plan(&js(yx), &js("{}"), &options()).await.unwrap();
    let names = Object::keys(get(&result, "data").unchecked_ref::<Object>());
    assert_eq!(show(&names), r#"["y","x"]"#);
    assert_eq!(show(&get(&result, "stages")), r#"[["y","x"]]"#);
}

pub async fn a_plan_whose_getter_throws_is_refused_as_read_never_thrown() {
    let recorder = id_fetch();
    let options = || with_fetch(&recorder, "{}");
    // A kept plan with the same call, so that the lookup reads the getter too.
    found_again(
        &js(r#"{"calls":{"a":{"url":"https://api.example/a"}}}"#),
        &options,
    )
    .await;
    let sent = urls(&recorder).len();
    for _ in 0..2 {
        let e = expect_error(
            run_plan(&plan_with_throwing_getter(), &js("{}"), &options()).await,
            "INVALID_PLAN",
        );
        assert!(
            get_str(&e, "message").contains("calls.a"),
            "{}",
            get_str(&e, "message")
        );
    }
    assert_eq!(
        urls(&recorder).len(),
        sent,
        "the refused plans sent nothing"
    );
}
