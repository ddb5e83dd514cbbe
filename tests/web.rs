//! The shared suite in headless Chromium and Firefox (`wasm-pack test --headless`).
use wasm_bindgen_test::*;

mod common;

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! suite {
    ($($name:ident),* $(,)?) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            common::$name().await;
        }
    )*};
}

suite!(
    compose_order_returns_the_right_total_and_sends_the_right_bodies,
    order_calls_follow_the_dependency_graph_and_independent_ones_overlap,
    independent_calls_overlap_and_makespan_follows_the_critical_path,
    eager_starts_dependents_at_once_and_stages_wait_at_the_barrier,
    compose_returns_data_calls_and_stages_with_typed_bodies,
    injected_fetch_receives_url_and_init,
    invalid_input_sends_nothing,
    invalid_plan_is_rejected_before_any_request,
    http_status_fails_the_order_and_reports_the_writes_that_happened,
    network_errors_are_reported_as_network,
    bad_responses_name_the_call_and_path,
    fraud_rejection_never_sends_payment,
    declined_payment_never_creates_an_order,
    abort_cancels_in_flight_requests,
    an_already_aborted_signal_sends_nothing,
    a_failed_notification_does_not_fail_the_order,
    a_gateway_base_url_with_a_path_prefix_routes_every_service,
    a_call_over_its_timeout_is_aborted_with_timeout_not_aborted,
    the_deadline_bounds_the_whole_composition_and_reports_unknown_writes,
    transient_failures_are_retried_with_one_idempotency_key,
    a_repeated_submission_with_one_operation_id_creates_one_order,
    a_client_error_is_never_retried,
    a_double_click_with_one_operation_id_creates_one_order,
);
