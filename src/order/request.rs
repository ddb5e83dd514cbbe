//! The order request: `{ customerId, cartId, paymentMethodId, shippingOption? }`, read
//! and checked before anything is sent, and handed to the plan as its `input`.

use crate::error::{Error, ErrorKind};
use crate::plan::json::Json;
use crate::plan::value::Value;

/// The request's fields, in the order messages list them.
const FIELDS: [&str; 4] = ["customerId", "cartId", "paymentMethodId", "shippingOption"];

/// A validated order request: `{ customerId, cartId, paymentMethodId, shippingOption? }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The customer placing the order.
    pub customer_id: String,
    /// The cart to check out.
    pub cart_id: String,
    /// The stored payment method to charge.
    pub payment_method_id: String,
    /// `standard` (the default) or `express`.
    pub shipping_option: String,
}

fn bad_input(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

impl OrderRequest {
    /// Reads and checks a request; anything unexpected is `INVALID_INPUT`.
    pub fn from_json(json: &Json) -> Result<OrderRequest, Error> {
        let Json::Object(entries) = json else {
            return Err(bad_input(format!(
                "request must be an object {{ customerId, cartId, paymentMethodId, shippingOption? }}, not {}",
                json.type_name()
            )));
        };
        if let Some((key, _)) = entries.iter().find(|(k, _)| !FIELDS.contains(&k.as_str())) {
            return Err(bad_input(format!(
                "request.{key} is not an order field; expected {}",
                FIELDS.join(", ")
            )));
        }
        // Checked before the required fields, so that a request with several mistakes
        // is always refused with the same message.
        let shipping_option = shipping_option(json)?;
        Ok(OrderRequest {
            customer_id: required(json, "customerId")?,
            cart_id: required(json, "cartId")?,
            payment_method_id: required(json, "paymentMethodId")?,
            shipping_option,
        })
    }

    /// The request as the plan's `input`.
    pub fn to_input<V: Value>(&self) -> V {
        V::object(vec![
            (
                "customerId".into(),
                V::from_string(self.customer_id.clone()),
            ),
            ("cartId".into(), V::from_string(self.cart_id.clone())),
            (
                "paymentMethodId".into(),
                V::from_string(self.payment_method_id.clone()),
            ),
            (
                "shippingOption".into(),
                V::from_string(self.shipping_option.clone()),
            ),
        ])
    }
}

/// A required field: a string with more than blanks in it.
fn required(json: &Json, key: &str) -> Result<String, Error> {
    match json.get(key) {
        Some(Json::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Json::String(_)) => Err(bad_input(format!("request.{key} must not be empty"))),
        None | Some(Json::Null) => Err(bad_input(format!("request.{key} is missing"))),
        Some(other) => Err(bad_input(format!(
            "request.{key} must be a string, not {}",
            other.type_name()
        ))),
    }
}

/// `shippingOption`: `standard` when left out.
fn shipping_option(json: &Json) -> Result<String, Error> {
    match json.get("shippingOption") {
        None | Some(Json::Null) => Ok("standard".to_owned()),
        Some(Json::String(s)) if s == "standard" || s == "express" => Ok(s.clone()),
        Some(other) => {
            let shown = match other {
                Json::String(s) => format!("\"{s}\""),
                other => other.type_name().to_owned(),
            };
            Err(bad_input(format!(
                "request.shippingOption must be \"standard\" or \"express\", not {shown}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::sim::json;

    fn request() -> OrderRequest {
        OrderRequest::from_json(&json(
            r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm"}"#,
        ))
        .unwrap()
    }

    #[test]
    fn request_defaults_and_rejections() {
        assert_eq!(request().shipping_option, "standard");
        let bad = |s: &str| {
            OrderRequest::from_json(&json(s))
                .unwrap_err()
                .message()
                .to_owned()
        };
        assert_eq!(bad("[]"), "request must be an object { customerId, cartId, paymentMethodId, shippingOption? }, not an array");
        assert_eq!(
            bad(r#"{"cartId":"k","paymentMethodId":"p"}"#),
            "request.customerId is missing"
        );
        assert_eq!(
            bad(r#"{"customerId":" ","cartId":"k","paymentMethodId":"p"}"#),
            "request.customerId must not be empty"
        );
        assert!(
            bad(r#"{"customerId":"c","cartId":"k","paymentMethodId":"p","shippingOption":1}"#)
                .ends_with("not a number")
        );
    }
}
