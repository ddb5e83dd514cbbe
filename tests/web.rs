//! The shared suite in headless Chromium and Firefox (`wasm-pack test --headless`).
use wasm_bindgen_test::*;

#[macro_use]
mod common;

wasm_bindgen_test_configure!(run_in_browser);

shared_suite!();
