//! `composeOrder()`'s request as a new user writes it: every string field is read as
//! JavaScript holds it, so a value a URL cannot carry is refused before anything is sent,
//! the way `compose()` refuses it, never sent as another value.

use super::*;

#[wasm_bindgen(module = "/tests/common/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestWithLoneSurrogate)]
    fn request_with_lone_surrogate(field: &str, before: &str, after: &str) -> JsValue;
}

pub async fn compose_order_refuses_a_lone_surrogate_in_any_request_field_before_sending() {
    let s = Scenario::new("lonesurrogate", "{}").await;
    for field in ["customerId", "cartId", "paymentMethodId"] {
        for (before, after) in [("", "x"), ("c", ""), ("a", "b")] {
            let request = request_with_lone_surrogate(field, before, after);
            let result = compose_order(
                request.unchecked_into(),
                Some(options(&s.services(), "{}").unchecked_into()),
            )
            .await;
            let e = expect_error(result, "INVALID_INPUT");
            assert_eq!(
                get_str(&e, "message"),
                format!(
                    "request.{field} holds a lone surrogate (half of a UTF-16 pair), which no \
                     URL can carry; pass the id as well-formed text"
                ),
            );
            assert!(get(&e, "call").is_null());
        }
    }
    // shippingOption is one of two words: U+D800 makes it neither, and says so.
    let request = request_with_lone_surrogate("shippingOption", "express", "");
    let result = compose_order(
        request.unchecked_into(),
        Some(options(&s.services(), "{}").unchecked_into()),
    )
    .await;
    let e = expect_error(result, "INVALID_INPUT");
    assert!(
        get_str(&e, "message")
            .starts_with("request.shippingOption must be \"standard\" or \"express\""),
        "{}",
        get_str(&e, "message")
    );
    assert!(s.log().await.is_empty(), "nothing reached the services");

    // A surrogate pair and U+FFFD itself are text, and reach the customer service as such.
    let ok = js(r#"{"customerId":"c-gold-1","cartId":"k1","paymentMethodId":"pm_1"}"#);
    Reflect::set(&ok, &"customerId".into(), &"c\u{1F600}\u{FFFD}".into()).unwrap();
    let _ = compose_order(
        ok.unchecked_into(),
        Some(options(&s.services(), "{}").unchecked_into()),
    )
    .await;
    let paths: Vec<String> = s
        .log_of("customer")
        .await
        .iter()
        .map(|entry| get_str(entry, "path"))
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("/customers/c%F0%9F%98%80%EF%BF%BD")),
        "{paths:?}"
    );
}
