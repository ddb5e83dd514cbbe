//! Crate-internal tests that span the engine: a simulated network on a virtual clock, and
//! the property and fuzz tests that run random plans over it (native only: proptest seeds
//! from the OS).

pub(crate) mod sim;

mod composer;
mod conditions;
mod fan_out;
mod schedule;
mod values;

#[cfg(not(target_arch = "wasm32"))]
mod composer_properties;
#[cfg(not(target_arch = "wasm32"))]
mod fuzzing;
#[cfg(not(target_arch = "wasm32"))]
mod properties;
