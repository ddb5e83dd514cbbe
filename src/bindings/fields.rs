//! Reading a JavaScript object into a derived Rust type with serde-wasm-bindgen, the way
//! every reader of `src/bindings/` does it: unknown keys are refused by name, and a
//! field's own message (see [`message_of`]) becomes the error.

use crate::error::{Error, ErrorKind};
use js_sys::{Array, Object};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// The JS names of `T`'s fields, as its derived `Deserialize` asks for them (after
/// `rename_all`). Read once from serde's derive, so that the list of known keys in
/// "is not an option" messages is the struct itself, never a copy of it.
pub(crate) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    /// A deserializer that only records the fields a struct asks for.
    struct Names(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names read")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut names = Names(None);
    let _ = T::deserialize(&mut names);
    names.0.unwrap_or(&[])
}

/// The message a field's `Deserialize` failed with: the text of the JavaScript `Error`
/// serde-wasm-bindgen made of it.
pub(crate) fn message_of(error: serde_wasm_bindgen::Error) -> String {
    let value = JsValue::from(error);
    match value.dyn_ref::<js_sys::Error>() {
        Some(e) => e.message().into(),
        None => value.as_string().unwrap_or_default(),
    }
}

/// Reads `value`, an object whose keys must all be among `known`, into `T`: a key not
/// known is refused with `unknown(key)`. Fails with `INVALID_INPUT`.
pub(crate) fn read_object<T: de::DeserializeOwned>(
    value: &JsValue,
    known: &[&str],
    unknown: impl Fn(&str) -> String,
) -> Result<T, Error> {
    let bad = |message: String| Error::new(ErrorKind::InvalidInput, message);
    let object: &Object = value.unchecked_ref();
    // serde-wasm-bindgen reads only the fields it knows: the rest are checked here.
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(bad(unknown(&key)));
        }
    }
    serde_wasm_bindgen::from_value(value.clone()).map_err(|e| bad(message_of(e)))
}

/// The value as it is, for a field's own checks: serde-wasm-bindgen hands it over
/// without converting it (strings are not yet turned into Rust text, functions and
/// signals stay themselves).
pub(crate) fn raw<'de, D: Deserializer<'de>>(deserializer: D) -> Result<JsValue, D::Error> {
    serde_wasm_bindgen::preserve::deserialize(deserializer)
}

/// Whether `value` is an object that is neither an array nor a function.
pub(crate) fn is_plain_object(value: &JsValue) -> bool {
    value.is_object() && !Array::is_array(value) && !value.is_function()
}

/// What a value is, for messages: `a number`, `an array`, ... (as [`crate::Json`] says it).
pub(crate) fn type_name(value: &JsValue) -> &'static str {
    if value.is_null() || value.is_undefined() {
        "null"
    } else if value.as_bool().is_some() {
        "a boolean"
    } else if value.as_f64().is_some() {
        "a number"
    } else if value.is_string() {
        "a string"
    } else if Array::is_array(value) {
        "an array"
    } else if value.is_object() {
        "an object"
    } else {
        "a value of another type"
    }
}

/// Declares a field type read from its raw value by `read`, a `Result<$inner, String>`
/// whose error is the field's whole message (it names the field: `options.dedupe must
/// be true or false`). `null` and `undefined` never reach it: the field is an `Option`.
macro_rules! raw_field {
    ($(#[$meta:meta])* $name:ident($inner:ty), |$value:ident| $read:expr) => {
        $(#[$meta])*
        pub(crate) struct $name(pub(crate) $inner);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let $value: wasm_bindgen::JsValue = $crate::bindings::fields::raw(d)?;
                let read: Result<$inner, String> = $read;
                read.map($name).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use raw_field;
