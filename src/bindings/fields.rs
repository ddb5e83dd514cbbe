//! Reading a JavaScript object into a derived Rust type, the way every reader of
//! `src/bindings/` does it: unknown keys are refused by name, each field's type checks
//! its value and writes its own message naming the field, and that message is the error.

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

/// Reads `value`, an object whose keys must all be among `known`, into `T`: a key not
/// known is refused with `unknown(key)`. Fails with `INVALID_INPUT`.
pub(crate) fn read_object<T: de::DeserializeOwned>(
    value: &JsValue,
    known: &[&str],
    unknown: impl Fn(&str) -> String,
) -> Result<T, Error> {
    let bad = |message: String| Error::new(ErrorKind::InvalidInput, message);
    let object: &Object = value.unchecked_ref();
    // A derived struct asks only for the fields it knows: the rest are checked here.
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(bad(unknown(&key)));
        }
    }
    T::deserialize(Reader(value.clone())).map_err(|e| bad(e.0))
}

/// The `Deserializer` the derived readers of `src/bindings/` run on: a JS value.
///
/// Not serde-wasm-bindgen's, measured: reading the options and the order request through
/// `serde_wasm_bindgen::Deserializer` added 22.1 KB gzip to the .wasm (92.8 -> 117.1 KB
/// with the writers, past the 100 KB budget), 9.7 KB of it serde's `Unexpected` messages
/// (float formatting, `Debug` of strings), which its error type cannot leave out. This
/// one does the three things the derived types here need: a struct's fields (`obj[field]`,
/// an `undefined` one left to its default), `null`/`undefined` as `None`, and the value
/// itself for a field's own checks ([`raw`]). Every message is the field's own.
pub(crate) struct Reader(JsValue);

/// A field's message, as its `Deserialize` wrote it.
#[derive(Debug)]
pub(crate) struct ReadError(String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

impl de::Error for ReadError {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        ReadError(message.to_string())
    }

    /// Never reached by the types read here (each checks its own value); written
    /// without serde's `Unexpected`, whose text would bring float formatting along.
    fn invalid_type(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        ReadError(format!("expected {expected}"))
    }

    /// As [`invalid_type`](Self::invalid_type).
    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        ReadError(format!("expected {expected}"))
    }
}

/// The name [`raw`] asks [`Reader`] for: "hand over the value itself".
const RAW: &str = "parallel_composer::raw";

thread_local! {
    /// The value [`Reader`] hands to [`raw`] (a `Visitor` sees only Rust values).
    static HANDED: std::cell::Cell<Option<JsValue>> = const { std::cell::Cell::new(None) };
}

impl<'de> Deserializer<'de> for Reader {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ReadError> {
        Err(de::Error::custom(
            "the reader reads structs, options and raw values only",
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        visitor.visit_map(Fields {
            object: self.0,
            fields: fields.iter(),
            next: None,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        if name != RAW {
            return visitor.visit_newtype_struct(self);
        }
        HANDED.with(|handed| handed.set(Some(self.0)));
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// A struct's fields, read one by one as the derived visitor asks for them.
struct Fields {
    object: JsValue,
    fields: std::slice::Iter<'static, &'static str>,
    next: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = ReadError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ReadError> {
        for field in self.fields.by_ref() {
            let value = js_sys::Reflect::get(&self.object, &JsValue::from_str(field))
                .unwrap_or(JsValue::UNDEFINED);
            if !value.is_undefined() {
                self.next = Some(value);
                let key = de::value::StrDeserializer::<ReadError>::new(field);
                return seed.deserialize(key).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ReadError> {
        let value = self.next.take().unwrap_or(JsValue::UNDEFINED);
        seed.deserialize(Reader(value))
    }
}

/// The value itself, for a field's own checks: strings not yet turned into Rust text
/// (a lone surrogate still visible), functions and signals still themselves.
pub(crate) fn raw<'de, D: Deserializer<'de>>(deserializer: D) -> Result<JsValue, D::Error> {
    struct Unit;
    impl Visitor<'_> for Unit {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JavaScript value")
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    }
    deserializer.deserialize_newtype_struct(RAW, Unit)?;
    HANDED
        .with(|handed| handed.take())
        .ok_or_else(|| de::Error::custom("not read from a JavaScript value"))
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

/// A field's value as JavaScript passed it, for the field's own check (see [`read`]).
/// Every field of the derived readers has this one type, so serde's code is made once
/// for all of them rather than once per field.
pub(crate) struct Raw(JsValue);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        raw(deserializer).map(Raw)
    }
}

/// Checks a field that was given (`null` and `undefined` were not): `check` returns its
/// value, or its whole message, which names it (`options.dedupe must be true or false`).
pub(crate) fn read<T>(
    field: Option<Raw>,
    check: impl FnOnce(&JsValue) -> Result<T, String>,
) -> Result<Option<T>, String> {
    field.map(|Raw(value)| check(&value)).transpose()
}
