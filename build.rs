//! Embeds the order flow's plan document, src/order/plan.json, in the crate as static data
//! (`$OUT_DIR/order_plan.rs`, included by src/order/document.rs).
//!
//! Why at build time: parsing the document at run time would put a JSON parser in the
//! .wasm (serde_json: 92.8 KB -> 104.3 KB gzip -9, measured, over the 100 KB budget) for a
//! document that never changes once built. It is read here with the crate's own `Json`
//! reader, which keeps keys in their written order (the calls' order is the order of the
//! stages and the records; a body's keys are sent in the order written), and a document
//! that is not JSON fails the build, naming the place.

#[allow(dead_code)]
#[path = "src/plan/json.rs"]
mod json;

use json::Json;
use std::path::Path;
use std::{env, fs};

const DOCUMENT: &str = "src/order/plan.json";

fn main() {
    println!("cargo:rerun-if-changed={DOCUMENT}");
    println!("cargo:rerun-if-changed=src/plan/json.rs");
    let text = fs::read_to_string(DOCUMENT).unwrap_or_else(|e| panic!("{DOCUMENT}: {e}"));
    let document: Json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DOCUMENT} is not JSON: {e}"));
    let out = format!(
        "// Written by build.rs from {DOCUMENT}: edit that file, not this one.\n\
         static DOCUMENT: Node = {};\n",
        node(&document)
    );
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let path = Path::new(&out_dir).join("order_plan.rs");
    fs::write(&path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A JSON value as a Rust expression of type `Node` (src/order/document.rs).
fn node(json: &Json) -> String {
    let list = |items: Vec<String>| items.join(", ");
    match json {
        Json::Null => "Node::Null".into(),
        Json::Bool(b) => format!("Node::Bool({b})"),
        // The exact bits: no decimal round trip.
        Json::Number(n) => format!("Node::Number(f64::from_bits({:#x}))", n.to_bits()),
        // A str's Debug form is a Rust string literal, escapes included.
        Json::String(s) => format!("Node::String({s:?})"),
        Json::Array(items) => format!("Node::Array(&[{}])", list(items.iter().map(node).collect())),
        Json::Object(entries) => format!(
            "Node::Object(&[{}])",
            list(
                entries
                    .iter()
                    .map(|(k, v)| format!("({k:?}, {})", node(v)))
                    .collect()
            )
        ),
    }
}
