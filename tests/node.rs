//! The shared suite in Node (`wasm-pack test --node`): the backend-for-frontend case.
use wasm_bindgen_test::*;

#[macro_use]
mod common;

shared_suite!();
