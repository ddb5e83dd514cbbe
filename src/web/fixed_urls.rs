//! A kept plan's fixed URLs as JavaScript strings, made once.
//!
//! Every request's URL crosses into JavaScript as a string, and a string passed from Rust
//! is decoded from UTF-8 by a `TextDecoder` each time: the largest single cost of handing
//! a request over in Chromium's profile of bench B (about 0.7 µs per call, a tenth of the
//! engine's cost per call). A URL without a placeholder is the same text at every
//! composition, so a plan that is kept for the compositions to come (`bindings/plan_cache.rs`,
//! the order flow's plan) keeps its fixed URLs as JS strings too, and a request to one of
//! them hands that string over. Any other URL is passed as text, as before.

use crate::plan::{Call, Plan};
use std::collections::HashMap;
use wasm_bindgen::JsValue;

/// The fixed URLs of a plan's calls and compensations: where each text's JS string is.
///
/// A map to a position in a list rather than to the JS string itself: the plan's map of
/// call names has this type, so its code is in the .wasm already, where a second map type
/// cost 1.2 KB of the gzip budget (and a sorted list searched by halves, 2.6 KB).
#[derive(Debug, Default)]
pub struct FixedUrls {
    at: HashMap<String, usize>,
    js: Vec<JsValue>,
}

impl FixedUrls {
    /// The fixed URLs of `plan`: those of its calls and their compensations whose URL
    /// template has no placeholder.
    pub fn of(plan: &Plan) -> FixedUrls {
        let mut urls = FixedUrls::default();
        for call in plan.calls() {
            urls.add(call);
            if let Some(undo) = &call.compensate {
                urls.add(undo);
            }
        }
        urls
    }

    /// Adds `call`'s URL when it is fixed. A URL that comes again is made again and found
    /// there (the first one stays unused): at most one string per call, as its name has.
    fn add(&mut self, call: &Call) {
        if let Some(url) = call.url.fixed_text() {
            self.at.insert(url.to_owned(), self.js.len());
            self.js.push(JsValue::from_str(url));
        }
    }

    /// `url` as a JS string: the one made for it when it is fixed, else made now.
    pub fn js(&self, url: &str) -> JsValue {
        match self.at.get(url) {
            Some(&at) => self.js[at].clone(),
            None => JsValue::from_str(url),
        }
    }
}
