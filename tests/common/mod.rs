//! Shared wasm-bindgen tests, run in Chromium and Firefox (tests/web.rs) and in Node
//! (tests/node.rs) against the mock services started by scripts/test.sh.
//!
//! Every test uses its own mock scenario (`/s/<id>` path prefix), so its latency, faults
//! and request log are its own, and asserts against the server's log where the server is
//! the witness (what was sent, when it arrived, whether it was aborted).

#![allow(dead_code)]

/// Declares every shared test as a `#[wasm_bindgen_test]` in the including file, so that
/// tests/web.rs and tests/node.rs run the same list, written once here.
macro_rules! shared_suite {
    () => {
        shared_suite!(
            compose_order_returns_the_right_total_and_sends_the_right_bodies,
            a_prefetched_order_sends_only_the_calls_that_were_not_cached,
            a_composer_breaker_opens_on_5xx_and_fails_fast_with_circuit_open,
            a_slow_read_is_hedged_and_the_hedge_wins,
            composer_options_are_checked_and_invalidate_drops_entries,
            order_calls_follow_the_dependency_graph_and_independent_ones_overlap,
            independent_calls_overlap_and_makespan_follows_the_critical_path,
            eager_starts_dependents_at_once_and_stages_wait_at_the_barrier,
            compose_returns_data_calls_and_stages_with_typed_bodies,
            a_results_calls_behave_as_a_plain_property_built_on_first_read,
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
            a_fraud_rejection_releases_the_reservation,
            a_declined_payment_releases_the_reservation_and_voids_nothing,
            a_failed_order_voids_the_authorization_then_releases_the_reservation,
            an_order_of_unknown_outcome_leaves_its_inputs_for_the_caller,
            an_abort_undoes_nothing_and_lists_every_write,
            a_failed_optional_call_falls_back_and_its_dependents_use_the_fallback,
            fault_latency_and_jitter_stay_inside_the_deadline,
            fault_a_status_is_retried_under_one_key_until_it_clears,
            fault_429_waits_for_retry_after_only_when_it_fits_the_deadline,
            fault_a_reset_mid_body_is_retried_and_a_write_left_unknown_is_listed,
            fault_a_hang_before_headers_times_out_and_is_aborted_on_the_wire,
            fault_a_slow_body_is_cut_off_by_the_deadline,
            fault_a_body_that_is_not_json_is_a_bad_response_with_its_excerpt,
            fault_an_empty_body_where_json_was_expected_is_a_bad_response,
            fault_a_huge_body_is_stopped_at_the_byte_cap,
            fault_a_redirect_to_another_origin_is_refused_and_never_followed,
            fault_a_lost_reply_is_retried_under_its_key_and_one_order_exists,
            time_limits_follow_the_monotonic_clock_not_the_wall_clock,
            dropping_the_composition_aborts_its_requests,
            an_abort_from_inside_fetch_sends_nothing_more,
            a_signal_read_after_the_abort_is_aborted,
            a_copy_of_init_carries_the_signal_to_the_real_fetch,
        );
        // Resubmissions, replays and a placed order at the deadline (tests/common/resubmit.rs).
        shared_suite!(
            a_resubmission_never_undoes_what_an_earlier_submission_made,
            an_order_placed_before_the_deadline_resolves_without_its_notification,
            an_order_placed_before_an_abort_resolves_without_its_notification,
            compose_resolves_when_only_optional_calls_are_cut_short,
            a_declined_payment_asks_for_a_new_operation_and_the_old_one_replays_the_decline,
            a_5xx_to_a_write_leaves_it_unknown_and_the_same_operation_finishes_it,
            a_write_replayed_after_its_own_lost_reply_leaves_the_operation_whole,
            only_a_request_with_an_idempotency_key_can_be_replayed,
        );
        // Conditions: calls that run only when needed (tests/common/conditions.rs).
        shared_suite!(
            a_call_whose_condition_is_false_is_never_sent_nor_its_readers,
            a_call_whose_condition_holds_runs_and_a_fallback_feeds_readers_otherwise,
            conditions_compare_big_integers_from_replies_exactly,
            a_condition_with_a_mistake_is_refused_with_its_place_before_any_request,
        );
        // Fan-out: one call per element of a list (tests/common/fan_out.rs).
        shared_suite!(
            a_fan_out_call_sends_one_request_per_element_and_replies_in_list_order,
            a_failed_item_fails_its_call_and_the_completed_ones_are_undone,
            a_fan_out_over_a_list_that_is_not_one_names_the_call_and_the_path,
            a_streamed_fan_out_call_is_one_part_with_its_whole_list_and_items,
            a_fan_out_call_has_a_measure_per_item_beside_its_own,
        );
        // Response limits (tests/common/limits.rs).
        shared_suite!(
            a_reply_over_max_response_bytes_is_refused_unread,
            the_default_cap_is_5_mib,
            max_response_bytes_is_validated_and_reaches_compose_order,
            an_endless_body_is_cut_off_while_streaming,
            replies_that_are_not_json_say_status_type_and_start,
            an_empty_reply_fails_only_where_json_is_expected,
            redirects_are_refused_not_followed,
        );
        // URL templates, origins and credentials (tests/common/urls.rs).
        shared_suite!(
            credentials_are_same_origin_by_default_and_include_only_for_the_named_origin,
            credentials_include_reaches_the_real_fetch_for_its_origin_only,
            allowed_origins_refuse_a_plan_before_any_request,
            compose_order_refuses_services_outside_allowed_origins,
            authorization_never_follows_a_redirect_to_another_origin,
            headers_for_one_origin_are_never_sent_to_another,
            a_hostile_value_cannot_reach_another_path_on_the_server,
            lone_surrogates_never_reach_a_url,
            header_values_fetch_would_refuse_are_refused_before_sending,
            url_templates_that_let_a_value_steer_are_refused_at_validation,
            plan_size_and_nesting_limits_hold_for_plans_from_javascript,
            a_body_that_cannot_be_written_as_json_is_refused_not_thrown,
        );
        // What replies carry into the page and into later calls (tests/common/data.rs).
        shared_suite!(
            reply_keys_named_proto_constructor_prototype_stay_plain_data,
            placeholders_read_own_properties_never_the_prototype_chain,
            calls_named_proto_constructor_prototype_are_plain_keys_everywhere,
            a_header_named_proto_is_a_header_not_a_prototype,
            compose_order_keeps_hostile_reply_keys_as_data,
            compose_order_refuses_an_amount_past_2_53_rather_than_rounding_it,
            integers_above_2_53_reach_later_calls_with_their_exact_digits,
            digits_inside_strings_and_malformed_replies_are_left_alone,
            secrets_stay_out_of_status_network_and_timeout_errors,
            secrets_stay_out_of_bad_responses_that_echo_the_request,
            secrets_stay_out_of_invalid_input_and_abort_errors,
            secrets_stay_out_of_failed_compensations,
        );
        // Dedupe and concurrency limits (tests/common/flow.rs).
        shared_suite!(
            identical_gets_share_one_request_and_a_different_header_does_not,
            a_shared_failure_fails_each_sharer_and_writes_are_never_shared,
            max_concurrency_keeps_at_most_that_many_requests_at_the_servers,
            a_per_origin_limit_still_lets_other_origins_overlap,
            concurrency_options_are_validated_and_reach_compose_order,
            an_abort_empties_the_queue_and_queued_writes_were_never_sent,
        );
        // Progress events, DevTools measures and trace context (tests/common/observe.rs).
        shared_suite!(
            progress_events_follow_the_contract_and_what_the_servers_saw,
            a_throwing_or_rejecting_on_event_leaves_the_result_intact,
            measures_name_every_call_and_span_its_request_as_the_server_saw_it,
            traceparent_reaches_the_allowed_origins_with_one_trace_and_a_span_per_call,
            compose_order_reports_progress_measures_and_its_trace,
        );
        // The order flow's plan, handed out by orderPlan() (tests/common/order_plan.rs).
        shared_suite!(
            order_plan_is_the_plan_compose_order_runs,
            order_plan_refuses_bad_options_as_compose_order_does,
            a_hostile_base_url_cannot_add_placeholders_to_the_order_plan,
        );
        // A plan read once and found again runs as a fresh read would (tests/common/plans.rs).
        shared_suite!(
            a_frozen_plan_runs_again_as_written_and_the_limits_still_hold,
            a_plan_that_can_change_is_read_again_at_every_composition,
            plans_written_anew_run_as_written_however_many_come_and_go,
            a_plan_alike_as_json_text_but_not_as_read_is_read_as_itself,
            a_plan_found_again_holds_the_same_calls_in_the_same_order,
            a_plan_whose_getter_throws_is_refused_as_read_never_thrown,
        );
        // composeOrder()'s request read as JavaScript holds it (tests/common/request.rs).
        shared_suite!(compose_order_refuses_a_lone_surrogate_in_any_request_field_before_sending,);
        // Results as they arrive: composeStream() and composeOrderStream() (tests/common/stream.rs).
        shared_suite!(
            a_stream_yields_each_reply_as_it_arrives_then_what_compose_resolves_to,
            a_streamed_fallback_is_a_part_that_says_so,
            a_failed_stream_throws_the_compose_error_after_the_parts_before_it,
            leaving_a_stream_early_aborts_the_composition_as_a_signal_would,
            the_callers_signal_still_aborts_a_stream,
            a_stream_nobody_reads_holds_no_request_up,
            compose_order_stream_yields_customer_and_cart_first_then_the_order,
        );
        // The clock's timers and the abort listener in each runtime (tests/common/platform.rs).
        shared_suite!(
            a_sleep_ends_no_earlier_than_its_time,
            a_dropped_sleep_clears_the_timeout_it_set,
            a_finished_composition_leaves_no_listener_on_the_signal,
            an_abort_reaches_a_running_composition_through_its_listener,
            requests_go_through_the_platform_or_the_replaced_global_fetch,
            a_compressed_reply_reads_as_its_json,
            a_url_with_user_info_is_refused_in_every_runtime,
            headers_the_http_client_sets_are_not_sent_as_written,
        );
    };
    ($($name:ident),* $(,)?) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            common::$name().await;
        }
    )*};
}

mod composer;
mod conditions;
mod data;
mod fan_out;
mod faults;
mod flow;
mod lifetime;
mod limits;
mod observe;
mod order_plan;
mod plans;
mod platform;
mod request;
mod resubmit;
mod saga;
mod stream;
mod urls;
pub use composer::*;
pub use conditions::*;
pub use data::*;
pub use fan_out::*;
pub use faults::*;
pub use flow::*;
pub use lifetime::*;
pub use limits::*;
pub use observe::*;
pub use order_plan::*;
pub use plans::*;
pub use platform::*;
pub use request::*;
pub use resubmit::*;
pub use saga::*;
pub use stream::*;
pub use urls::*;

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use parallel_composer::{compose, compose_order, validate_plan};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
}

/// The mock services' base port, fixed when the tests are compiled.
pub fn base_port() -> u16 {
    option_env!("PC_MOCK_PORT")
        .unwrap_or("4500")
        .parse()
        .expect("PC_MOCK_PORT is a port number")
}

pub const SERVICES: [&str; 10] = [
    "customer",
    "cart",
    "inventory",
    "pricing",
    "shipping",
    "fraud",
    "tax",
    "payment",
    "order",
    "notification",
];

pub fn admin_url() -> String {
    format!("http://127.0.0.1:{}", base_port())
}

pub fn gateway_url() -> String {
    format!("http://127.0.0.1:{}", base_port() + 1)
}

/// The origin of service number `i` (in [`SERVICES`] order).
pub fn service_origin(i: usize) -> String {
    format!("http://127.0.0.1:{}", base_port() + 2 + i as u16)
}

pub fn js(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or_else(|e| panic!("bad test JSON {text}: {e:?}"))
}

pub fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| {
        Reflect::get(&v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
    })
}

pub fn get_str(v: &JsValue, path: &str) -> String {
    get(v, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string in {}", show(v)))
}

pub fn get_f64(v: &JsValue, path: &str) -> f64 {
    get(v, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {}", show(v)))
}

pub fn show(v: &JsValue) -> String {
    JSON::stringify(v)
        .map(String::from)
        .unwrap_or_else(|_| format!("{v:?}"))
}

async fn request(method: &str, url: &str, body: Option<&str>) -> JsValue {
    let init = Object::new();
    Reflect::set(&init, &"method".into(), &method.into()).unwrap();
    if let Some(body) = body {
        Reflect::set(&init, &"body".into(), &body.into()).unwrap();
        Reflect::set(
            &init,
            &"headers".into(),
            &js(r#"{"Content-Type":"application/json"}"#),
        )
        .unwrap();
    }
    let response = JsFuture::from(global_fetch(url, &init))
        .await
        .expect("admin request");
    let json: Function = Reflect::get(&response, &"json".into())
        .unwrap()
        .unchecked_into();
    JsFuture::from(json.call0(&response).unwrap().unchecked_into::<Promise>())
        .await
        .expect("admin JSON")
}

/// A mock scenario of its own for one test.
pub struct Scenario {
    pub id: String,
}

impl Scenario {
    /// A fresh scenario with `config` (`{latency, defaultLatency, faults}`).
    pub async fn new(name: &str, config: &str) -> Scenario {
        let id = format!("{name}-{}", (js_sys::Math::random() * 1e9) as u64);
        request(
            "PUT",
            &format!("{}/scenarios/{id}", admin_url()),
            Some(config),
        )
        .await;
        Scenario { id }
    }

    /// Replaces the scenario's config (latency, faults); its state and log stay.
    pub async fn configure(&self, config: &str) {
        request(
            "PUT",
            &format!("{}/scenarios/{}", admin_url(), self.id),
            Some(config),
        )
        .await;
    }

    /// Each service's base URL within this scenario.
    pub fn services(&self) -> JsValue {
        let obj = Object::new();
        for (i, name) in SERVICES.iter().enumerate() {
            let url = format!("{}/s/{}", service_origin(i), self.id);
            Reflect::set(&obj, &(*name).into(), &url.into()).unwrap();
        }
        obj.into()
    }

    /// The URL of a lab endpoint on service `i`'s origin.
    pub fn lab(&self, i: usize, rest: &str) -> String {
        format!("{}/s/{}/lab/{rest}", service_origin(i), self.id)
    }

    /// The scenario's request log, as the server recorded it.
    pub async fn log(&self) -> Vec<JsValue> {
        let entries = request(
            "GET",
            &format!("{}/log?scenario={}", admin_url(), self.id),
            None,
        )
        .await;
        Array::from(&entries).iter().collect()
    }

    /// Polls the server's log (every 20 ms, for 2 s) until it holds exactly `count`
    /// requests to `service` (to any service with `None`), every one of them logged as
    /// aborted: the server saw the client drop them. Whether it came to that.
    pub async fn saw_aborted(&self, service: Option<&str>, count: usize) -> bool {
        for _ in 0..100 {
            let entries: Vec<JsValue> = self
                .log()
                .await
                .into_iter()
                .filter(|e| service.map_or(true, |name| get_str(e, "service") == name))
                .collect();
            if entries.len() == count && entries.iter().all(|e| get(e, "aborted") == JsValue::TRUE)
            {
                return true;
            }
            delay(20.0).await;
        }
        false
    }

    /// Polls the server's log (every 20 ms, for 2 s) until it shows the request to
    /// `service` at `path` aborted: the server saw the client drop it. Whether it came to
    /// that.
    pub async fn saw_aborted_at(&self, service: &str, path: &str) -> bool {
        for _ in 0..100 {
            let entries = self.log_of(service).await;
            let entry = entries.iter().find(|e| get_str(e, "path") == path);
            if entry.is_some_and(|e| get(e, "aborted") == JsValue::TRUE) {
                return true;
            }
            delay(20.0).await;
        }
        false
    }

    /// The log entries of one service.
    pub async fn log_of(&self, service: &str) -> Vec<JsValue> {
        self.log()
            .await
            .into_iter()
            .filter(|e| get_str(e, "service") == service)
            .collect()
    }
}

/// Resolves after `ms`: the stimulus for an abort, never a wait for a result.
pub async fn delay(ms: f64) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

pub async fn run_order(request: &str, options: &JsValue) -> Result<JsValue, JsValue> {
    compose_order(
        js(request).unchecked_into(),
        Some(options.clone().unchecked_into()),
    )
    .await
}

pub async fn run_plan(
    plan: &JsValue,
    input: &JsValue,
    options: &JsValue,
) -> Result<JsValue, JsValue> {
    compose(
        plan.clone().unchecked_into(),
        input.clone().unchecked_into(),
        Some(options.clone().unchecked_into()),
    )
    .await
}

pub fn options(services: &JsValue, extra: &str) -> JsValue {
    let o = js(extra);
    Reflect::set(&o, &"services".into(), services).unwrap();
    o
}

/// `extra` options (JSON text) with the `fetch` of a stand-in from `page.js` (a recording,
/// crafted or counting fetch: an object whose `fetch` is the function to inject).
pub fn with_fetch(stand_in: &JsValue, extra: &str) -> JsValue {
    let o = js(extra);
    Reflect::set(&o, &"fetch".into(), &get(stand_in, "fetch")).unwrap();
    o
}

/// Asserts `e` is a ComposeError with `code`, and returns it.
pub fn expect_error(result: Result<JsValue, JsValue>, code: &str) -> JsValue {
    let e = match result {
        Ok(v) => panic!("expected {code}, but it resolved {}", show(&v)),
        Err(e) => e,
    };
    assert!(e.is_instance_of::<js_sys::Error>(), "not an Error: {e:?}");
    assert_eq!(get_str(&e, "name"), "ComposeError");
    assert_eq!(
        get_str(&e, "code"),
        code,
        "message: {}",
        get_str(&e, "message")
    );
    e
}

const GOLD: &str = r#"{"customerId":"c-gold-1","cartId":"k1","paymentMethodId":"pm_1"}"#;

// The expected money, from the mock's published rules (mock/README.md), not from the
// composer: SKU-1 x2 at 1999 + SKU-2 at 4500 = 8498; gold discount 10% = 850;
// tax 8.25% of 7648 = 631; standard shipping 599.
const SUBTOTAL: f64 = 8498.0;
const DISCOUNT: f64 = 850.0;
const TAX: f64 = 631.0;
const SHIPPING: f64 = 599.0;

pub async fn compose_order_returns_the_right_total_and_sends_the_right_bodies() {
    let s = Scenario::new("order", r#"{"defaultLatency":20}"#).await;
    let result = run_order(GOLD, &options(&s.services(), "{}"))
        .await
        .expect("order placed");
    let total = SUBTOTAL - DISCOUNT + SHIPPING + TAX;
    assert_eq!(get_f64(&result, "total"), total);
    assert_eq!(get_str(&result, "currency"), "USD");
    assert_eq!(get_f64(&result, "tax"), TAX);
    assert_eq!(get_f64(&result, "shipping.cost"), SHIPPING);
    assert_eq!(get_str(&result, "customer.tier"), "gold");
    assert_eq!(get(&result, "notification.sent"), JsValue::TRUE);
    for name in SERVICES {
        assert_eq!(
            get_str(&result, &format!("calls.{name}.state")),
            "ok",
            "{name}"
        );
        assert_eq!(get_f64(&result, &format!("calls.{name}.attempts")), 1.0);
    }

    let tax = &s.log_of("tax").await[0];
    assert_eq!(get_f64(tax, "body.amount"), SUBTOTAL - DISCOUNT);
    assert_eq!(get_str(tax, "body.address.city"), "Springfield");
    let payment = &s.log_of("payment").await[0];
    assert_eq!(get_f64(payment, "body.amount"), total);
    assert_eq!(get_str(payment, "body.currency"), "USD");
    assert_eq!(get_str(payment, "body.paymentMethodId"), "pm_1");
    let order = &s.log_of("order").await[0];
    assert_eq!(get_f64(order, "body.total"), total);
    assert_eq!(
        get_str(order, "body.reservationId"),
        get_str(&result, "reservationId")
    );
    assert_eq!(
        get_str(order, "body.authorizationId"),
        get_str(&result, "authorizationId")
    );
    let shipping = &s.log_of("shipping").await[0];
    assert_eq!(get_str(shipping, "body.option"), "standard");
    assert_eq!(get_f64(shipping, "body.items.length"), 2.0);
    let fraud = &s.log_of("fraud").await[0];
    assert_eq!(get_str(fraud, "body.email"), "c-gold-1@example.test");
    let inventory = &s.log_of("inventory").await[0];
    assert_eq!(
        get_str(inventory, "headers.content-type"),
        "application/json"
    );
    let notification = &s.log_of("notification").await[0];
    assert_eq!(get_str(notification, "body.template"), "order-confirmation");
    assert_eq!(
        get_str(notification, "body.orderId"),
        get_str(&result, "orderId")
    );
}

pub async fn order_calls_follow_the_dependency_graph_and_independent_ones_overlap() {
    let s = Scenario::new("graph", r#"{"defaultLatency":120}"#).await;
    let result = run_order(GOLD, &options(&s.services(), "{}"))
        .await
        .expect("order placed");
    let span = |name: &str| {
        (
            get_f64(&result, &format!("calls.{name}.startMs")),
            get_f64(&result, &format!("calls.{name}.endMs")),
        )
    };
    let deps: [(&str, &[&str]); 8] = [
        ("inventory", &["cart"]),
        ("pricing", &["cart", "customer"]),
        ("shipping", &["cart", "customer"]),
        ("fraud", &["customer"]),
        ("tax", &["pricing", "customer"]),
        ("payment", &["pricing", "shipping", "tax", "fraud"]),
        ("order", &["inventory", "payment"]),
        ("notification", &["order", "customer"]),
    ];
    for (call, needs) in deps {
        for need in needs {
            assert!(
                span(call).0 >= span(need).1,
                "{call} started before {need} ended"
            );
        }
    }
    // customer and cart have no dependencies: both are in flight at once.
    assert!(span("customer").0 < span("cart").1 && span("cart").0 < span("customer").1);
    // pricing, shipping and inventory wait only for cart and customer: they overlap.
    assert!(span("pricing").0 < span("shipping").1 && span("shipping").0 < span("pricing").1);
    assert!(span("inventory").0 < span("pricing").1);
    // The server saw those requests overlap too.
    let log = s.log().await;
    let at = |svc: &str, key: &str| {
        log.iter()
            .find(|e| get_str(e, "service") == svc)
            .map(|e| get_f64(e, key))
            .unwrap()
    };
    assert!(at("pricing", "arrivedAt") < at("shipping", "repliedAt"));
    assert!(at("shipping", "arrivedAt") < at("pricing", "repliedAt"));
}

pub async fn independent_calls_overlap_and_makespan_follows_the_critical_path() {
    let s = Scenario::new("overlap", "{}").await;
    let calls: Vec<String> = (0..5)
        .map(|i| format!(r#""c{i}":{{"url":"{}"}}"#, s.lab(i, "items?n=1&delay=300")))
        .collect();
    let plan = js(&format!(r#"{{"calls":{{{}}}}}"#, calls.join(",")));
    let result = run_plan(&plan, &js("{}"), &js("{}"))
        .await
        .expect("composed");
    let starts: Vec<f64> = (0..5)
        .map(|i| get_f64(&result, &format!("calls.c{i}.startMs")))
        .collect();
    let ends: Vec<f64> = (0..5)
        .map(|i| get_f64(&result, &format!("calls.c{i}.endMs")))
        .collect();
    let last_start = starts.iter().copied().fold(f64::MIN, f64::max);
    let first_end = ends.iter().copied().fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "all five were in flight together: {starts:?} {ends:?}"
    );
    let makespan = ends.iter().copied().fold(0.0, f64::max);
    assert!(
        makespan < 5.0 * 300.0,
        "makespan {makespan} follows the longest call, not the sum"
    );
    let log = s.log().await;
    assert_eq!(log.len(), 5);
    let last_arrival = log
        .iter()
        .map(|e| get_f64(e, "arrivedAt"))
        .fold(f64::MIN, f64::max);
    let first_reply = log
        .iter()
        .map(|e| get_f64(e, "repliedAt"))
        .fold(f64::MAX, f64::min);
    assert!(
        last_arrival < first_reply,
        "the server held all five at once"
    );
}

/// The skewed plan: `slow` (400 ms) beside `fast` (30 ms) -> `next` (150 ms); `last`
/// after both. Eager starts `next` at ~30 ms; stages hold it until `slow` ends.
fn skewed_plan(s: &Scenario) -> JsValue {
    js(&format!(
        r#"{{"calls":{{
        "slow":{{"url":"{}"}},
        "fast":{{"url":"{}"}},
        "next":{{"url":"{}","after":["fast"]}},
        "last":{{"url":"{}","after":["slow","next"]}}}}}}"#,
        s.lab(0, "items?delay=400"),
        s.lab(1, "items?delay=30"),
        s.lab(2, "items?delay=150"),
        s.lab(3, "items?delay=30"),
    ))
}

pub async fn eager_starts_dependents_at_once_and_stages_wait_at_the_barrier() {
    let s = Scenario::new("skew", "{}").await;
    let plan = skewed_plan(&s);
    let eager = run_plan(&plan, &js("{}"), &js(r#"{"schedule":"eager"}"#))
        .await
        .expect("eager");
    let stages = run_plan(&plan, &js("{}"), &js(r#"{"schedule":"stages"}"#))
        .await
        .expect("stages");
    let seq = run_plan(&plan, &js("{}"), &js(r#"{"schedule":"sequential"}"#))
        .await
        .expect("sequential");
    let t = |r: &JsValue, c: &str, k: &str| get_f64(r, &format!("calls.{c}.{k}"));
    assert!(
        t(&eager, "next", "startMs") < t(&eager, "slow", "endMs"),
        "eager: next overlaps slow"
    );
    assert!(t(&eager, "next", "endMs") <= t(&eager, "last", "startMs"));
    assert!(
        t(&stages, "next", "startMs") >= t(&stages, "slow", "endMs"),
        "stages: next waits for slow"
    );
    assert!(
        t(&eager, "last", "endMs") < t(&stages, "last", "endMs"),
        "eager finishes first"
    );
    for (a, b) in [("slow", "fast"), ("fast", "next"), ("next", "last")] {
        assert!(
            t(&seq, b, "startMs") >= t(&seq, a, "endMs"),
            "sequential: {b} after {a}"
        );
    }
    assert_eq!(
        show(&get(&eager, "stages")),
        r#"[["slow","fast"],["next"],["last"]]"#
    );
}

pub async fn compose_returns_data_calls_and_stages_with_typed_bodies() {
    let s = Scenario::new("typed", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{
        "items":{{"url":"{}"}},
        "echo":{{"method":"POST","url":"{}?q={{input.q}}","headers":{{"X-Source":"portal"}},
                 "body":{{"n":"{{items.items.length}}","first":"{{items.items.0}}","label":"n={{items.count}}"}}}}}}}}"#,
        s.lab(0, "items?n=3"),
        s.lab(1, "echo"),
    ));
    let result = run_plan(&plan, &js(r#"{"q":"a b&c/d"}"#), &js("{}"))
        .await
        .expect("composed");
    assert_eq!(get_f64(&result, "data.items.count"), 3.0);
    assert_eq!(
        get_str(&result, "data.echo.query.q"),
        "a b&c/d",
        "percent-encoded on the way, decoded by the server"
    );
    assert_eq!(get_f64(&result, "data.echo.body.n"), 3.0);
    assert_eq!(get_str(&result, "data.echo.body.first.name"), "item-1");
    assert_eq!(get_str(&result, "data.echo.body.label"), "n=3");
    assert_eq!(get_str(&result, "data.echo.headers.x-source"), "portal");
    assert_eq!(get_str(&result, "calls.echo.state"), "ok");
    assert_eq!(get_f64(&result, "calls.echo.status"), 200.0);
    assert_eq!(show(&get(&result, "stages")), r#"[["items"],["echo"]]"#);
}

/// `calls` of compose()'s result is built when first read (js/report.js): everything a
/// page can do with a plain data property still works, in any order.
pub async fn a_results_calls_behave_as_a_plain_property_built_on_first_read() {
    let s = Scenario::new("lazy-calls", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}"}},"b":{{"url":"{}","after":["a"]}}}}}}"#,
        s.lab(0, "echo"),
        s.lab(1, "echo"),
    ));
    let none = js("{}");
    let run = || run_plan(&plan, &none, &none);
    let keys = |v: &JsValue| show(&Object::keys(v.unchecked_ref::<Object>()).into());

    let result = run().await.expect("composed");
    assert_eq!(
        keys(&result),
        r#"["data","calls","stages","fellBack","traceId"]"#
    );
    let descriptor = |v: &JsValue| {
        Object::get_own_property_descriptor(v.unchecked_ref::<Object>(), &"calls".into())
    };
    // Not built yet: what stands in its place builds it when read.
    assert!(
        get(&descriptor(&result), "get").is_function(),
        "calls not yet read is built on reading"
    );
    let text = String::from(JSON::stringify(&result).unwrap());
    let copy = JSON::parse(&text).unwrap();
    assert_eq!(get_str(&copy, "calls.b.state"), "ok", "{text}");
    let calls = get(&result, "calls");
    assert!(
        Object::is(&calls, &get(&result, "calls")),
        "the same object"
    );
    assert_eq!(keys(&calls), r#"["a","b"]"#);
    let own = descriptor(&result);
    assert!(
        Object::is(&get(&own, "value"), &calls),
        "now a data property"
    );
    assert!(get(&own, "writable").is_truthy() && get(&own, "enumerable").is_truthy());

    // Frozen before the first read: the records all the same, and still one object.
    let frozen = run().await.expect("composed");
    Object::freeze(frozen.unchecked_ref::<Object>());
    assert_eq!(get_str(&frozen, "calls.a.state"), "ok");
    assert!(Object::is(&get(&frozen, "calls"), &get(&frozen, "calls")));

    // Assigned before the first read: the assigned value, as for any property.
    let assigned = run().await.expect("composed");
    Reflect::set(&assigned, &"calls".into(), &JsValue::from_str("mine")).unwrap();
    assert_eq!(get(&assigned, "calls").as_string().as_deref(), Some("mine"));
    assert_eq!(
        keys(&assigned),
        r#"["data","calls","stages","fellBack","traceId"]"#
    );
}

pub async fn injected_fetch_receives_url_and_init() {
    let seen = Array::new();
    let seen_in = seen.clone();
    let fake = Closure::<dyn FnMut(JsValue, JsValue) -> JsValue>::new(
        move |url: JsValue, init: JsValue| {
            seen_in.push(&Array::of2(&url, &init));
            let body = JSON::stringify(&js(r#"{"id":"u/1"}"#)).unwrap();
            let response = web_sys::Response::new_with_opt_str(Some(&String::from(body))).unwrap();
            Promise::resolve(&response).into()
        },
    );
    let options = Object::new();
    Reflect::set(&options, &"fetch".into(), fake.as_ref()).unwrap();
    let plan = js(
        r#"{"calls":{"user":{"url":"https://api.example/users/{input.id}"},
        "audit":{"method":"POST","url":"https://api.example/audit/{user.id}","body":{"who":"{user.id}"}}}}"#,
    );
    let result = run_plan(&plan, &js(r#"{"id":"ä b"}"#), &options.into())
        .await
        .expect("composed");
    assert_eq!(get_str(&result, "data.audit.id"), "u/1");
    assert_eq!(seen.length(), 2);
    let first = seen.get(0);
    assert_eq!(
        get(&first, "0").as_string().unwrap(),
        "https://api.example/users/%C3%A4%20b"
    );
    assert_eq!(get_str(&first, "1.method"), "GET");
    let second = seen.get(1);
    assert_eq!(
        get(&second, "0").as_string().unwrap(),
        "https://api.example/audit/u%2F1"
    );
    assert_eq!(get_str(&second, "1.body"), r#"{"who":"u/1"}"#);
    assert_eq!(
        get_str(&second, "1.headers.Content-Type"),
        "application/json"
    );
    assert!(
        get(&second, "1.signal").is_object(),
        "every request carries its own AbortSignal"
    );
}

pub async fn invalid_input_sends_nothing() {
    let s = Scenario::new("badinput", "{}").await;
    let bad = [
        r#"{"customerId":"c1","paymentMethodId":"pm"}"#,
        r#"{"customerId":"","cartId":"k","paymentMethodId":"pm"}"#,
        r#"{"customerId":"c1","cartId":7,"paymentMethodId":"pm"}"#,
        r#"{"customerId":"c1","cartId":"k","paymentMethodId":"pm","shippingOption":"overnight"}"#,
        r#"{"customerId":"c1","cartId":"k","paymentMethodId":"pm","coupon":"X"}"#,
    ];
    let expected = [
        "request.cartId is missing",
        "request.customerId must not be empty",
        "request.cartId must be a string, not a number",
        "request.shippingOption must be \"standard\" or \"express\", not \"overnight\"",
        "request.coupon is not an order field",
    ];
    for (request, message) in bad.iter().zip(expected) {
        let e = expect_error(
            run_order(request, &options(&s.services(), "{}")).await,
            "INVALID_INPUT",
        );
        assert!(
            get_str(&e, "message").starts_with(message),
            "{}",
            get_str(&e, "message")
        );
    }
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"schedule":"fastest"}"#)).await,
        "INVALID_INPUT",
    );
    assert!(get_str(&e, "message").contains("options.schedule"));
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"retries":3}"#)).await,
        "INVALID_INPUT",
    );
    assert!(get_str(&e, "message").starts_with("options.retries is not an option"));
    let e = expect_error(
        run_order(
            GOLD,
            &js(r#"{"services":{"customer":"http://127.0.0.1:1"}}"#),
        )
        .await,
        "INVALID_INPUT",
    );
    assert!(get_str(&e, "message").contains("options.services.cart or options.baseUrl"));
    let plan = js(&format!(
        r#"{{"calls":{{"a":{{"url":"{}/{{input.user.id}}"}}}}}}"#,
        s.lab(0, "echo")
    ));
    let e = expect_error(
        run_plan(&plan, &js(r#"{"user":{}}"#), &js("{}")).await,
        "INVALID_INPUT",
    );
    assert_eq!(get_str(&e, "call"), "a");
    assert_eq!(get_str(&e, "calls.a.state"), "not-sent");
    assert!(s.log().await.is_empty(), "nothing reached the services");
}

pub async fn invalid_plan_is_rejected_before_any_request() {
    let s = Scenario::new("badplan", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"ok":{{"url":"{}"}},"a":{{"url":"{}/{{b.id}}"}},"b":{{"url":"{}","after":["a"]}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "echo"),
        s.lab(2, "echo")
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "INVALID_PLAN");
    assert_eq!(
        get_str(&e, "message"),
        "cycle: a -> b -> a; remove one of these dependencies"
    );
    let thrown = validate_plan(plan.unchecked_into()).map(JsValue::from);
    let e = expect_error(thrown, "INVALID_PLAN");
    assert!(get_str(&e, "message").starts_with("cycle: a -> b -> a"));
    let ok = validate_plan(
        js(r#"{"calls":{"a":{"url":"/a"},"b":{"url":"/b/{a.id}"},"c":{"url":"/c"}}}"#)
            .unchecked_into(),
    )
    .map(JsValue::from)
    .expect("valid");
    assert_eq!(show(&get(&ok, "stages")), r#"[["a","c"],["b"]]"#);
    // Data that is not JSON is named by its place in the plan.
    let with_function = js(r#"{"calls":{"a":{"url":"/a"}}}"#);
    let call = get(&with_function, "calls.a");
    let a_function = Reflect::get(&js_sys::global(), &"parseInt".into()).unwrap();
    Reflect::set(&call, &"url".into(), &a_function).unwrap();
    let thrown = validate_plan(with_function.unchecked_into()).map(JsValue::from);
    let e = expect_error(thrown, "INVALID_PLAN");
    assert_eq!(
        get_str(&e, "message"),
        "plan.calls.a.url is not JSON data (a function, symbol or bigint)"
    );
    assert!(s.log().await.is_empty(), "nothing reached the services");
}

pub async fn http_status_fails_the_order_and_reports_the_writes_that_happened() {
    // A definite refusal (a 4xx): the order was not created. (A 5xx leaves it unknown:
    // tests/common/resubmit.rs.)
    let s = Scenario::new("http422", r#"{"faults":{"order":{"status":422}}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), "{}")).await,
        "HTTP_STATUS",
    );
    assert_eq!(get_str(&e, "call"), "order");
    assert_eq!(get_f64(&e, "status"), 422.0);
    assert!(
        get_str(&e, "message").contains("call `order` (POST "),
        "{}",
        get_str(&e, "message")
    );
    assert_eq!(
        get_str(&e, "calls.payment.state"),
        "ok",
        "the authorization happened"
    );
    assert_eq!(
        get_str(&e, "calls.inventory.state"),
        "ok",
        "the reservation happened"
    );
    assert_eq!(get_str(&e, "calls.order.state"), "failed");
    assert_eq!(get_str(&e, "calls.notification.state"), "skipped");
    assert!(s.log_of("notification").await.is_empty());
}

pub async fn network_errors_are_reported_as_network() {
    let closed = format!("http://127.0.0.1:{}/nothing", base_port() + 40);
    let plan = js(&format!(
        r#"{{"calls":{{"gone":{{"url":"{closed}"}},"after":{{"url":"{closed}/x","after":["gone"]}}}}}}"#
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "NETWORK");
    assert_eq!(get_str(&e, "call"), "gone");
    assert_eq!(get(&e, "status"), JsValue::NULL);
    assert_eq!(get_str(&e, "calls.gone.state"), "failed");
    assert_eq!(get_str(&e, "calls.after.state"), "skipped");
}

pub async fn bad_responses_name_the_call_and_path() {
    let s = Scenario::new("badresp", "{}").await;
    let plan = js(&format!(
        r#"{{"calls":{{"text":{{"url":"{}"}}}}}}"#,
        s.lab(0, "not-json")
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "text");
    assert!(get_str(&e, "message").contains("the reply is not JSON"));

    let plan = js(&format!(
        r#"{{"calls":{{"items":{{"url":"{}"}},"next":{{"url":"{}?id={{items.first.id}}"}}}}}}"#,
        s.lab(0, "items"),
        s.lab(1, "echo")
    ));
    let e = expect_error(run_plan(&plan, &js("{}"), &js("{}")).await, "BAD_RESPONSE");
    assert_eq!(get_str(&e, "call"), "next");
    assert_eq!(
        get_str(&e, "message"),
        "call `next` needs `{items.first.id}`, but the reply of `items` has no `first`"
    );
    assert_eq!(
        s.log().await.len(),
        2,
        "only the two first requests; `next` never went out"
    );
}

pub async fn fraud_rejection_never_sends_payment() {
    let s = Scenario::new("fraud", r#"{"faults":{"fraud":"reject"}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), "{}")).await,
        "FRAUD_REJECTED",
    );
    assert_eq!(get_str(&e, "call"), "fraud");
    assert_eq!(get_str(&e, "calls.payment.state"), "skipped");
    assert_eq!(get_str(&e, "calls.order.state"), "skipped");
    assert!(
        s.log_of("payment").await.is_empty(),
        "payment was never sent"
    );
    assert!(s.log_of("order").await.is_empty());
}

pub async fn declined_payment_never_creates_an_order() {
    let s = Scenario::new("decline", "{}").await;
    let request = r#"{"customerId":"c1","cartId":"k1","paymentMethodId":"pm_declined","shippingOption":"express"}"#;
    let e = expect_error(
        run_order(request, &options(&s.services(), "{}")).await,
        "PAYMENT_DECLINED",
    );
    assert_eq!(get_str(&e, "call"), "payment");
    assert_eq!(get_str(&e, "calls.order.state"), "skipped");
    assert!(s.log_of("order").await.is_empty(), "no order was sent");
    assert_eq!(
        get_str(&s.log_of("shipping").await[0], "body.option"),
        "express"
    );
}

pub async fn abort_cancels_in_flight_requests() {
    let s = Scenario::new("abort", r#"{"faults":{"cart":"hang"}}"#).await;
    let controller = web_sys::AbortController::new().unwrap();
    let o = options(&s.services(), "{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let order = run_order(GOLD, &o);
    let abort_later = async {
        delay(150.0).await;
        controller.abort();
    };
    let (result, ()) = futures::join!(order, abort_later);
    let e = expect_error(result, "ABORTED");
    assert_eq!(get_str(&e, "calls.cart.state"), "cancelled");
    assert_eq!(get_str(&e, "calls.customer.state"), "ok");
    assert_eq!(
        get_str(&e, "calls.inventory.state"),
        "cancelled",
        "never started"
    );
    assert_eq!(get(&e, "calls.inventory.startMs"), JsValue::NULL);
    // The server sees the hung request's connection go away.
    assert!(
        s.saw_aborted(Some("cart"), 1).await,
        "the hung cart request was aborted on the wire"
    );
}

pub async fn an_already_aborted_signal_sends_nothing() {
    let s = Scenario::new("preabort", "{}").await;
    let controller = web_sys::AbortController::new().unwrap();
    controller.abort();
    let o = options(&s.services(), "{}");
    Reflect::set(&o, &"signal".into(), &controller.signal()).unwrap();
    let e = expect_error(run_order(GOLD, &o).await, "ABORTED");
    assert_eq!(get_str(&e, "calls.customer.state"), "cancelled");
    assert!(s.log().await.is_empty());
}

pub async fn a_failed_notification_does_not_fail_the_order() {
    let s = Scenario::new("notify", r#"{"faults":{"notification":{"status":422}}}"#).await;
    let result = run_order(GOLD, &options(&s.services(), "{}"))
        .await
        .expect("order placed");
    assert_eq!(get(&result, "notification.sent"), JsValue::FALSE);
    assert!(get_str(&result, "notification.error").contains("422"));
    assert_eq!(get_str(&result, "notification.state"), "failed");
    assert_eq!(get_str(&result, "calls.notification.state"), "failed");
    assert!(get_str(&result, "orderId").starts_with("ord-"));
}

pub async fn a_gateway_base_url_with_a_path_prefix_routes_every_service() {
    let s = Scenario::new("gateway", "{}").await;
    let o = js(&format!(r#"{{"baseUrl":"{}/s/{}"}}"#, gateway_url(), s.id));
    let result = run_order(GOLD, &o).await.expect("order placed");
    assert!(get_str(&result, "orderId").starts_with("ord-"));
    let log = s.log().await;
    assert_eq!(log.len(), 10);
    assert!(log.iter().all(|e| get_str(e, "via") == "gateway"));
}

pub async fn a_call_over_its_timeout_is_aborted_with_timeout_not_aborted() {
    let s = Scenario::new("timeout", r#"{"faults":{"cart":"hang"}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"timeoutMs":200}"#)).await,
        "TIMEOUT",
    );
    assert_eq!(get_str(&e, "call"), "cart");
    assert!(
        get_str(&e, "message").contains("timed out after 200 ms"),
        "{}",
        get_str(&e, "message")
    );
    assert_eq!(get_str(&e, "calls.cart.state"), "failed");
    let waited = get_f64(&e, "calls.cart.endMs") - get_f64(&e, "calls.cart.startMs");
    assert!(waited >= 199.0, "gave up only after its limit: {waited}");
    assert_eq!(get_str(&e, "calls.inventory.state"), "skipped");
    // The server saw the hung request go away: the timeout really aborted it.
    assert!(
        s.saw_aborted(Some("cart"), 1).await,
        "the timed-out cart request was aborted on the wire"
    );
}

pub async fn the_deadline_bounds_the_whole_composition_and_reports_unknown_writes() {
    let s = Scenario::new("deadline", r#"{"faults":{"inventory":"hang"}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"deadlineMs":400}"#)).await,
        "TIMEOUT",
    );
    assert_eq!(
        get_str(&e, "message"),
        "the composition ran past its deadline of 400 ms"
    );
    assert_eq!(
        get_str(&e, "calls.inventory.state"),
        "unknown",
        "a write in flight at the deadline"
    );
    assert_eq!(get_str(&e, "calls.customer.state"), "ok");
    assert_eq!(get_str(&e, "calls.order.state"), "not-sent");
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"deadlineMs":-1}"#)).await,
        "INVALID_INPUT",
    );
    assert!(
        get_str(&e, "message").starts_with("options.deadlineMs must be a number of milliseconds")
    );
}

pub async fn transient_failures_are_retried_with_one_idempotency_key() {
    let s = Scenario::new(
        "retry",
        r#"{"faults":{"fraud":{"status":503,"times":1},"pricing":{"status":503,"times":1},"cart":{"status":502,"times":1}}}"#,
    )
    .await;
    let result = run_order(GOLD, &options(&s.services(), "{}"))
        .await
        .expect("order placed after retries");
    assert_eq!(get_f64(&result, "calls.fraud.attempts"), 2.0);
    assert_eq!(get_f64(&result, "calls.pricing.attempts"), 2.0);
    assert_eq!(get_f64(&result, "calls.cart.attempts"), 2.0);
    assert_eq!(get_f64(&result, "calls.customer.attempts"), 1.0);
    let fraud = s.log_of("fraud").await;
    assert_eq!(fraud.len(), 2, "one retry reached the server");
    let key = get_str(&fraud[0], "headers.idempotency-key");
    assert_eq!(key.len(), 36, "a UUID: {key}");
    assert_eq!(
        get_str(&fraud[1], "headers.idempotency-key"),
        key,
        "the same key on the retry"
    );
    // A quote is `safe`: retried as a read is, without a key.
    let pricing = s.log_of("pricing").await;
    assert_eq!(pricing.len(), 2);
    assert!(pricing
        .iter()
        .all(|e| get(e, "headers.idempotency-key").is_undefined()));
    assert!(
        s.log_of("cart")
            .await
            .iter()
            .all(|e| get(e, "headers.idempotency-key").is_undefined()),
        "GETs carry no key"
    );
}

pub async fn a_repeated_submission_with_one_operation_id_creates_one_order() {
    let s = Scenario::new("twice", "{}").await;
    let o = options(&s.services(), r#"{"operationId":"checkout-7f3a"}"#);
    let first = run_order(GOLD, &o).await.expect("first submission");
    let second = run_order(GOLD, &o).await.expect("second submission");
    assert_eq!(
        get_str(&first, "orderId"),
        get_str(&second, "orderId"),
        "the service replayed the same order"
    );
    let orders = s.log_of("order").await;
    assert_eq!(orders.len(), 2);
    assert_eq!(
        get_str(&orders[0], "headers.idempotency-key"),
        "checkout-7f3a:order"
    );
    assert_eq!(
        get(&orders[1], "replayed"),
        JsValue::TRUE,
        "the second was deduplicated by key"
    );
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), r#"{"maxAttempts":0}"#)).await,
        "INVALID_INPUT",
    );
    assert!(get_str(&e, "message").starts_with("options.maxAttempts must be"));
}

pub async fn a_client_error_is_never_retried() {
    let s = Scenario::new("noretry", r#"{"faults":{"tax":{"status":422}}}"#).await;
    let e = expect_error(
        run_order(GOLD, &options(&s.services(), "{}")).await,
        "HTTP_STATUS",
    );
    assert_eq!(get_f64(&e, "calls.tax.attempts"), 1.0);
    assert_eq!(s.log_of("tax").await.len(), 1);
}

pub async fn a_double_click_with_one_operation_id_creates_one_order() {
    let s = Scenario::new("dblclick", r#"{"defaultLatency":30}"#).await;
    let o = options(&s.services(), r#"{"operationId":"checkout-dbl"}"#);
    // Two submissions in flight at once, as a double click sends them.
    let (first, second) = futures::join!(run_order(GOLD, &o), run_order(GOLD, &o));
    let (first, second) = (first.expect("first"), second.expect("second"));
    assert_eq!(get_str(&first, "orderId"), get_str(&second, "orderId"));
    let orders = s.log_of("order").await;
    assert_eq!(
        orders.len(),
        2,
        "both submissions reached the order service"
    );
    let created = orders
        .iter()
        .filter(|e| get(e, "replayed") != JsValue::TRUE)
        .count();
    assert_eq!(
        created, 1,
        "exactly one order was created; the other was replayed by key"
    );
    let payments = s.log_of("payment").await;
    assert_eq!(
        payments
            .iter()
            .filter(|e| get(e, "replayed") != JsValue::TRUE)
            .count(),
        1,
        "one authorization"
    );
}
