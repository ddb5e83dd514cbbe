//! One definition for each set of names Rust shares with JavaScript and TypeScript: the
//! states of a call and of a compensation, the error codes, ...
//!
//! [`named_enum!`] declares such an enum with each variant's name beside it, and derives
//! from that one list everything that needs the names: `as_str` (what Rust code and
//! messages print), `parse`, `ALL`, serde's `Serialize` (what the records and events that
//! `src/bindings/` writes for JavaScript carry), and `TS_UNION`, the TypeScript union of
//! the names that `src/bindings/` puts into the package's `.d.ts` at compile time. Adding
//! a variant is one line here; nothing in js/ or in a `.d.ts` lists the names again.
//!
//! No JavaScript here: it sits below every layer, and serde is its only dependency.

/// Declares a fieldless enum whose variants each have a fixed name outside Rust:
/// `Variant = "name"`. Attributes and doc comments pass through to the enum and its
/// variants. It implements `ALL`, `TS_UNION`, `as_str`, `parse` and `serde::Serialize`
/// (the name, as a unit variant: a string in every format). The enum must be `Copy`.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $text:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every variant's name, in declaration order.
            #[allow(dead_code)]
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The names as a TypeScript union of string literals, in declaration order
            /// (`"a" | "b"`).
            pub const TS_UNION: &'static str = $crate::protocol::ts_union!($($text),+);

            /// The name JavaScript sees.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The variant of this name, if one has it.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        // A unit variant named by its text: formats write it as that string, and
        // serde-wasm-bindgen makes the JS string once and reuses it, where a
        // `serialize_str` would decode it anew for every record and event.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_unit_variant(stringify!($name), *self as u32, self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

/// `"a" | "b" | "c"` from the literals `"a", "b", "c"`, at compile time.
macro_rules! ts_union {
    ($first:literal $(, $rest:literal)*) => {
        concat!("\"", $first, "\"" $(, " | \"", $rest, "\"")*)
    };
}
pub(crate) use ts_union;

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test enum.
        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Light {
            /// Stop.
            Red = "red",
            /// Careful.
            AmberFlashing = "amber-flashing",
            /// Go.
            Green = "green",
        }
    }

    #[test]
    fn every_name_comes_from_the_one_list() {
        assert_eq!(Light::ALL, [Light::Red, Light::AmberFlashing, Light::Green]);
        assert_eq!(Light::TS_UNION, r#""red" | "amber-flashing" | "green""#);
        for &light in Light::ALL {
            assert_eq!(Light::parse(light.as_str()), Some(light));
            let json = serde_json::to_string(&light).unwrap();
            assert_eq!(json, format!("\"{}\"", light.as_str()));
        }
        assert_eq!(Light::parse("blue"), None);
    }
}
