//! Names as JavaScript strings, made once each.
//!
//! A string passed from Rust to JavaScript is decoded from UTF-8 at every crossing: a view
//! of the wasm memory made and a `TextDecoder` run, then the fresh string hashed again when
//! it is used as a property key. The same few names cross over and over: the path segments
//! a placeholder reads (`customer.tier`), the keys of the bodies a plan builds, header
//! names, fetch's method and `credentials`, a record's state. The order flow passed 95 of
//! them per composition, and in Node each left about 130 bytes of garbage (the memory view
//! made to decode it; Node's allocation profile of the order flow). So each name is made into a JS string once and handed
//! over as that string afterwards.
//!
//! Not wasm-bindgen's `intern` (its `enable-interning` feature): its cache keeps every
//! string it is given for the life of the page, and cannot say whether a string is new,
//! so nothing could bound it; here the names of any plans a caller brings are kept up to
//! [`MAX_NAMES`], and any name past that crosses as text, as before.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use wasm_bindgen::JsValue;

/// At most this many names are kept: far more than the names of the few plans a portal
/// runs again and again, and a bound on memory whatever plans come.
const MAX_NAMES: usize = 1024;

/// A longer text is not a name worth keeping.
const MAX_NAME_BYTES: usize = 64;

/// Texts and the JS strings made for them, found by text: the kept names here, a kept
/// plan's fixed URLs in [`FixedUrls`](super::fixed_urls::FixedUrls).
///
/// A map to a position in a list rather than to the JS string itself: the plan's map of
/// call names has this type, so its code is in the .wasm already, where a second map type
/// cost 1.2 KB of the gzip budget (and a sorted list searched by halves, 2.6 KB).
#[derive(Debug, Default)]
pub(crate) struct JsStrings {
    at: HashMap<String, usize>,
    js: Vec<JsValue>,
}

impl JsStrings {
    /// How many texts are kept.
    pub(crate) fn len(&self) -> usize {
        self.js.len()
    }

    /// The JS string kept for `text`, if there is one.
    pub(crate) fn get(&self, text: &str) -> Option<&JsValue> {
        self.at.get(text).map(|&at| &self.js[at])
    }

    /// `text`'s JS string, made and kept unless it is kept already.
    pub(crate) fn keep(&mut self, text: &str) -> JsValue {
        if let Some(js) = self.get(text) {
            return js.clone();
        }
        let js = JsValue::from_str(text);
        self.at.insert(text.to_owned(), self.js.len());
        self.js.push(js.clone());
        js
    }
}

thread_local! {
    static NAMES: RefCell<JsStrings> = RefCell::default();
}

/// `name` as a JS string: the one made for it before, or made now (and kept while there
/// is room). A clone, not a borrow of the table: the JavaScript it goes to may call back
/// into the composer (a getter of the caller's input does what it likes).
pub(crate) fn interned(name: &str) -> JsValue {
    NAMES.with_borrow_mut(|names| match names.get(name) {
        Some(js) => js.clone(),
        None if names.len() < MAX_NAMES && name.len() <= MAX_NAME_BYTES => names.keep(name),
        None => JsValue::from_str(name),
    })
}
