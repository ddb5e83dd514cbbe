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
use crate::web::interned::JsStrings;
use std::borrow::Cow;
use wasm_bindgen::JsValue;

/// The fixed URLs of a plan's calls and compensations, and the JS string made for each.
#[derive(Debug, Default)]
pub struct FixedUrls(JsStrings);

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

    /// Adds `call`'s URL when it is fixed: one JS string per URL, however many calls share it.
    fn add(&mut self, call: &Call) {
        if let Some(url) = call.url.fixed_text() {
            self.0.keep(url);
        }
    }

    /// `url` as a JS string: the one made for it when it is fixed, lent rather than
    /// cloned (a clone is a call into JavaScript of its own), else made now.
    pub fn js(&self, url: &str) -> Cow<'_, JsValue> {
        self.0
            .get(url)
            .map_or_else(|| Cow::Owned(JsValue::from_str(url)), Cow::Borrowed)
    }
}
