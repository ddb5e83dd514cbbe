//! The order plan document, src/order/plan.json, as the crate embeds it: build.rs writes
//! it in as static data (no JSON parser in the .wasm), and [`document`] reads it back as
//! the [`Json`] tree plans are read from.

use crate::plan::json::Json;

/// A JSON value as static data.
///
/// Every kind of JSON value is here, although the document may not use them all today:
/// build.rs writes whatever the document holds.
#[allow(dead_code)]
enum Node {
    Null,
    Bool(bool),
    Number(f64),
    String(&'static str),
    Array(&'static [Node]),
    Object(&'static [(&'static str, Node)]),
}

include!(concat!(env!("OUT_DIR"), "/order_plan.rs"));

impl Node {
    fn to_json(&self) -> Json {
        match self {
            Node::Null => Json::Null,
            Node::Bool(b) => Json::Bool(*b),
            Node::Number(n) => Json::Number(*n),
            Node::String(s) => Json::String((*s).to_owned()),
            Node::Array(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Node::Object(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// The document, as written in plan.json.
pub(super) fn document() -> Json {
    DOCUMENT.to_json()
}
