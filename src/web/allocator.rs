//! The allocator of the `.wasm`: Talc instead of the standard library's dlmalloc.
//!
//! Measured on this crate's release build (wasm-opt -Oz, gzip -9): 2.9 KB smaller than
//! dlmalloc (115,760 -> 112,849 bytes), and no slower per call in the engine benchmark
//! (bench B). The engine allocates per call (records, requests, futures), so both count. Only for wasm32 without threads, where it grows the linear memory itself; native
//! builds (tests) keep the system allocator.

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
