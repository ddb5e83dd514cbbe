//! A plan that cannot change is read once (src/bindings/plan_cache.rs): what must hold is
//! that nothing else is. A frozen plan runs again exactly as written and the options'
//! limits still hold for it; a plan that can change (not frozen all the way down, or with
//! a getter) is read again at every composition, so a change between two compositions
//! reaches the second.

use super::*;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = idFetch)]
    fn id_fetch() -> JsValue;
    #[wasm_bindgen(js_name = deepFreeze)]
    fn deep_freeze(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = frozenWithGetter)]
    fn frozen_with_getter() -> JsValue;
}

const PLAN: &str =
    r#"{"calls":{"a":{"url":"https://api.example/a"},"b":{"url":"https://api.example/b/{a.id}"}}}"#;

/// `extra` options (JSON text) with the fetch of `recorder`.
fn fetching(recorder: &JsValue, extra: &str) -> JsValue {
    let o = js(extra);
    Reflect::set(&o, &"fetch".into(), &get(recorder, "fetch")).unwrap();
    o
}

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
        let result = run_plan(&plan, &js("{}"), &fetching(&recorder, "{}"))
            .await
            .unwrap();
        assert_eq!(get_f64(&result, "data.b.id"), 7.0);
        assert_eq!(show(&get(&result, "stages")), r#"[["a"],["b"]]"#);
    }
    let sent = ["https://api.example/a", "https://api.example/b/7"];
    assert_eq!(urls(&recorder), [sent, sent].concat());
    // The same frozen plan under options that refuse it: refused, nothing sent.
    let e = expect_error(
        run_plan(&plan, &js("{}"), &fetching(&recorder, r#"{"maxCalls":1}"#)).await,
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
            &fetching(&recorder, r#"{"allowedOrigins":["https://other.example"]}"#),
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
        let options = fetching(&recorder, "{}");
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
