//! The create-order flow: the portal's ten calls as a plan, plus the money logic and
//! outcome checks that templates deliberately cannot express.
//!
//! One concern per module:
//!
//! - `request`: the order request, read and checked, as the plan's `input`;
//! - `services`: the ten services and their base URLs, from the options;
//! - `plan`: the plan, as data (the document `plan.json`, embedded by `document`), over
//!   those URLs;
//! - `rules`: the money in the tax, payment and order bodies, and the outcomes a 200 can
//!   carry ([`OrderHooks`]);
//! - `summary`: what `composeOrder` resolves.
//!
//! The plan's edges are the contract's "depends on" column; eager scheduling then lets
//! fraud run beside pricing and shipping, and inventory beside everything after cart.

mod document;
mod plan;
mod request;
mod rules;
mod services;
mod summary;

pub use plan::{plan, plan_json};
pub use request::OrderRequest;
pub use rules::OrderHooks;
pub use services::{check_origins, service_urls, SERVICES};
pub use summary::summary;
