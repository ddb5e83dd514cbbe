//! `composeOrder()`'s request, `{ customerId, cartId, paymentMethodId, shippingOption? }`,
//! read by serde into [`RequestJs`] and checked field by field, each message naming its
//! field (`request.cartId must be a string, not a number`).
//!
//! Every string is checked as JavaScript holds it, before it becomes Rust text: a lone
//! surrogate (half of a UTF-16 pair) would otherwise turn into U+FFFD on the way, and the
//! order would go to another customer or cart than the one asked for.

use super::fields::{field_names, raw_field, read_object, type_name};
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
    customer_id: Option<CustomerId>,
    #[serde(default)]
    cart_id: Option<CartId>,
    #[serde(default)]
    payment_method_id: Option<PaymentMethodId>,
    #[serde(default)]
    shipping_option: Option<ShippingOption>,
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
    let fields = field_names::<RequestJs>();
    let read: RequestJs = read_object(request, fields, |key| {
        format!(
            "request.{key} is not an order field; expected {}",
            fields.join(", ")
        )
    })?;
    let missing = |key: &str| bad(format!("request.{key} is missing"));
    Ok(OrderRequest {
        customer_id: read.customer_id.ok_or_else(|| missing("customerId"))?.0,
        cart_id: read.cart_id.ok_or_else(|| missing("cartId"))?.0,
        payment_method_id: read
            .payment_method_id
            .ok_or_else(|| missing("paymentMethodId"))?
            .0,
        shipping_option: read.shipping_option.map_or("standard".into(), |s| s.0),
    })
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
    if text.contains('\u{FFFD}') && !value.unchecked_ref::<JsString>().is_valid_utf16() {
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

raw_field!(
    /// `request.customerId`.
    CustomerId(String),
    |v| text(&v, "customerId")
);
raw_field!(
    /// `request.cartId`.
    CartId(String),
    |v| text(&v, "cartId")
);
raw_field!(
    /// `request.paymentMethodId`.
    PaymentMethodId(String),
    |v| text(&v, "paymentMethodId")
);
raw_field!(
    /// `request.shippingOption`: `"standard"` (the default) or `"express"`.
    ShippingOption(String),
    |v| match v.as_string() {
        Some(s) if s == "standard" || s == "express" => Ok(s),
        other => {
            let shown = other.map_or_else(|| type_name(&v).to_owned(), |s| format!("\"{s}\""));
            Err(format!(
                "request.shippingOption must be \"standard\" or \"express\", not {shown}"
            ))
        }
    }
);
