//! The TypeScript unions of the names Rust defines, produced at compile time from the
//! enums themselves ([`crate::protocol`]) and added to the package's `.d.ts`: `CallState`,
//! `CompensationState` and `ComposeErrorCode`. `types.d.ts` uses them and never lists
//! the names, so adding a state to the Rust enum is the only change the types need.

// rustc does not count the custom section at the end as a use of what it is made of.
#![allow(dead_code)]

use crate::engine::breaker::CircuitState;
use crate::engine::record::{CallState, CompensationState};
use crate::error::ErrorKind;
use wasm_bindgen::prelude::*;

/// The total length of `parts`.
const fn total_len(parts: &[&str]) -> usize {
    let (mut len, mut i) = (0, 0);
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// `parts` one after the other, in an array of exactly their total length.
const fn joined<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0; N];
    let (mut at, mut i) = (0, 0);
    while i < parts.len() {
        let bytes = parts[i].as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            out[at] = bytes[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// `concat!` for `&'static str` constants (which `concat!` does not take), at compile time.
macro_rules! const_concat {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&str] = &[$($part),+];
        const BYTES: [u8; total_len(PARTS)] = joined::<{ total_len(PARTS) }>(PARTS);
        match std::str::from_utf8(&BYTES) {
            Ok(text) => text,
            Err(_) => panic!("the parts are UTF-8, and so is their concatenation"),
        }
    }};
}

/// The declarations, as the package's `.d.ts` carries them.
pub(crate) const UNIONS: &str = const_concat!(
    "/** How a call ended. */\nexport type CallState = ",
    CallState::TS_UNION,
    ";\n\n/** How the compensation of a completed write ended. */\nexport type CompensationState = ",
    CompensationState::TS_UNION,
    ";\n\n/** Stable error codes. */\nexport type ComposeErrorCode = ",
    ErrorKind::TS_UNION,
    ";\n\n/** An origin's circuit breaker in a composer. */\nexport type CircuitState = ",
    CircuitState::TS_UNION,
    ";\n",
);

#[wasm_bindgen(typescript_custom_section)]
const TS_UNIONS: &'static str = UNIONS;

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written types, which use the unions and must not list their names.
    const TYPES: &str = include_str!("types.d.ts");

    #[test]
    fn the_unions_hold_every_name_of_their_rust_enum() {
        let union = |name: &str| {
            let start = UNIONS.find(&format!("export type {name} = ")).unwrap();
            let rest = &UNIONS[start..];
            let text = &rest[rest.find('=').unwrap() + 1..rest.find(';').unwrap()];
            text.split('|')
                .map(|n| n.trim().trim_matches('"').to_owned())
                .collect::<Vec<_>>()
        };
        let names = |all: &[&str]| all.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let states: Vec<&str> = CallState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(union("CallState"), names(&states));
        assert_eq!(
            union("CallState"),
            [
                "ok",
                "failed",
                "skipped",
                "not-needed",
                "cancelled",
                "not-sent",
                "unknown"
            ]
        );
        let states: Vec<&str> = CompensationState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(union("CompensationState"), names(&states));
        let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(union("ComposeErrorCode"), names(&codes));
    }

    /// One event of each kind; the match makes a new kind a compile error here.
    fn every_event_kind() -> Vec<crate::engine::events::EventKind> {
        use crate::engine::events::EventKind as K;
        let state = CallState::Ok;
        let all = [
            K::Start {
                attempt: 1,
                cached_age_ms: None,
            },
            K::Retry {
                attempt: 1,
                status: None,
                reason: ErrorKind::Network,
                wait_ms: 0.0,
            },
            K::End {
                attempts: 1,
                status: None,
                state,
            },
            K::Skip {
                state: CallState::Skipped,
            },
            K::Skip {
                state: CallState::NotNeeded,
            },
            K::Cancel {
                attempts: 1,
                status: None,
                state,
            },
            K::Breaker {
                state: crate::engine::breaker::CircuitState::Open,
                retry_at: 1.0,
            },
            K::Compensate {
                attempts: 1,
                status: None,
                state: CompensationState::Ok,
            },
        ];
        for kind in &all {
            match kind {
                K::Start { .. }
                | K::Retry { .. }
                | K::End { .. }
                | K::Skip { .. }
                | K::Cancel { .. }
                | K::Breaker { .. }
                | K::Compensate { .. } => {}
            }
        }
        all.to_vec()
    }

    #[test]
    fn the_event_types_of_the_types_are_the_engines_event_kinds() {
        // Each kind's shape is written in types.d.ts (its fields need words); its `type`
        // must be the name the events carry, EventKind::as_str.
        let start = TYPES.find("export type ComposeEvent =").unwrap();
        let union = &TYPES[start..start + TYPES[start..].find(";\n\n").unwrap()];
        let written: Vec<&str> = union
            .split("{ type: \"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        let kinds: Vec<&str> = every_event_kind().iter().map(|k| k.as_str()).collect();
        assert_eq!(written, kinds);
    }

    #[test]
    fn the_javascript_glue_lists_no_names_rust_defines() {
        let glue = [include_str!("../../js/report.js")];
        let states = CallState::ALL.iter().map(|s| s.as_str());
        let compensations = CompensationState::ALL.iter().map(|s| s.as_str());
        let codes = ErrorKind::ALL.iter().map(|k| k.code());
        for name in states.chain(compensations).chain(codes) {
            for text in glue {
                assert!(!text.contains(&format!("'{name}'")), "js/ lists '{name}'");
            }
        }
    }

    #[test]
    fn the_hand_written_types_use_the_unions_and_do_not_repeat_them() {
        for name in [
            "CallState",
            "CompensationState",
            "ComposeErrorCode",
            "CircuitState",
        ] {
            assert!(TYPES.contains(name), "types.d.ts uses {name}");
            assert!(
                !TYPES.contains(&format!("type {name} =")),
                "types.d.ts declares {name} again"
            );
        }
        assert!(
            !TYPES.contains(CallState::TS_UNION),
            "the call states listed by hand"
        );
        // Names may appear in comments, never as a member of a type.
        for name in ["\"not-run\"", "\"FRAUD_REJECTED\""] {
            let listed = [
                format!("| {name}"),
                format!("{name} |"),
                format!(": {name}"),
            ];
            assert!(
                !listed.iter().any(|l| TYPES.contains(l.as_str())),
                "{name} listed by hand"
            );
        }
    }
}
