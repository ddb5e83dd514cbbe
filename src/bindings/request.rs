//! `composeOrder()`'s request, `{ customerId, cartId, paymentMethodId, shippingOption? }`,
//! read by serde into [`RequestJs`] and checked field by field, each message naming its
//! field (`request.cartId must be a string, not a number`).
//!
//! Every string is checked as JavaScript holds it, before it becomes Rust text: a lone
//! surrogate (half of a UTF-16 pair) would otherwise turn into U+FFFD on the way, and the
//! order would go to another customer or cart than the one asked for.

use super::fields::{field_names, read_object, type_name, Raw};
use crate::error::{Error, ErrorKind};
use crate::order::OrderRequest;
use js_sys::{Array, JsString, Object};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

/// The request as JavaScript passes it; the field order is the order of the checks
/// and of the fields an unknown key's message lists.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestJs {
    #[serde(default)]
    customer_id: Option<Raw>,
    #[serde(default)]
    cart_id: Option<Raw>,
    #[serde(default)]
    payment_method_id: Option<Raw>,
    #[serde(default)]
    shipping_option: Option<Raw>,
}

/// How deep a request may nest before it is refused as too deep (or cyclic): the limit
/// plans have too (SECURITY.md, Limits).
const MAX_DEPTH: usize = 128;

/// Reads and checks `composeOrder()`'s request: `INVALID_INPUT` naming the field, before
/// anything is sent.
pub(crate) fn read_request(request: &JsValue) -> Result<OrderRequest, Error> {
    let bad = |message: String| Error::new(ErrorKind::InvalidInput, message);
    check_nesting(request, "request", 0).map_err(bad)?;
    if !request.is_object() || Array::is_array(request) {
        return Err(bad(format!(
            "request must be an object {{ customerId, cartId, paymentMethodId, shippingOption? }}, not {}",
            type_name(request)
        )));
    }
    let names = field_names::<RequestJs>();
    let (given, values): (RequestJs, _) = read_object(request, names, &|key| {
        format!(
            "request.{key} is not an order field; expected {}",
            names.join(", ")
        )
    })?;
    let required = |field: Option<Raw>, key: &str| match field {
        Some(raw) => text(values.get(raw), key),
        None => Err(format!("request.{key} is missing")),
    };
    let checked = (|| {
        Ok::<_, String>(OrderRequest {
            customer_id: required(given.customer_id, "customerId")?,
            cart_id: required(given.cart_id, "cartId")?,
            payment_method_id: required(given.payment_method_id, "paymentMethodId")?,
            shipping_option: match given.shipping_option {
                Some(raw) => shipping_option(values.get(raw))?,
                None => "standard".into(),
            },
        })
    })();
    checked.map_err(bad)
}

/// Refuses a request nested more than [`MAX_DEPTH`] levels deep (or cyclic), naming the
/// path, as plans are refused.
fn check_nesting(value: &JsValue, at: &str, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{at} is nested more than {MAX_DEPTH} levels deep (or is cyclic)"
        ));
    }
    if !value.is_object() || value.is_function() {
        return Ok(());
    }
    let object: &Object = value.unchecked_ref();
    for entry in Object::entries(object).iter() {
        let entry: Array = entry.unchecked_into();
        let key = entry.get(0).as_string().unwrap_or_default();
        check_nesting(&entry.get(1), &format!("{at}.{key}"), depth + 1)?;
    }
    Ok(())
}

/// A required text field: a string, not blank, whole UTF-16 (no lone surrogate).
fn text(value: &JsValue, key: &str) -> Result<String, String> {
    let Some(text) = value.as_string() else {
        return Err(format!(
            "request.{key} must be a string, not {}",
            type_name(value)
        ));
    };
    // Only a string with a lone surrogate turns into U+FFFD as it becomes Rust text.
    if text.chars().any(|c| c == '\u{FFFD}') && !value.unchecked_ref::<JsString>().is_valid_utf16()
    {
        return Err(format!(
            "request.{key} holds a lone surrogate (half of a UTF-16 pair), which no URL can \
             carry; pass the id as well-formed text"
        ));
    }
    if text.trim().is_empty() {
        return Err(format!("request.{key} must not be empty"));
    }
    Ok(text)
}

/// `request.shippingOption`: `"standard"` (the default) or `"express"`.
fn shipping_option(v: &JsValue) -> Result<String, String> {
    match v.as_string() {
        Some(s) if s == "standard" || s == "express" => Ok(s),
        other => {
            let shown = other.map_or_else(|| type_name(v).to_owned(), |s| format!("\"{s}\""));
            Err(format!(
                "request.shippingOption must be \"standard\" or \"express\", not {shown}"
            ))
        }
    }
}
