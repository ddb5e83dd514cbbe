//! Reading a JavaScript object into a derived Rust type, the way every reader of
//! `src/bindings/` does it: unknown keys are refused by name, each field's type checks
//! its value and writes its own message naming the field, and that message is the error.

use crate::error::{Error, ErrorKind};
use js_sys::{Array, Object};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use wasm_bindgen::prelude::wasm_bindgen;
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
/// known is refused with `unknown(key)`. Fails with `INVALID_INPUT`. The [`Raw`] fields
/// of `T` point into the [`Values`] returned with it.
pub(crate) fn read_object<T: de::DeserializeOwned>(
    value: &JsValue,
    known: &[&str],
    unknown: &dyn Fn(&str) -> String,
) -> Result<(T, Values), Error> {
    check_keys(value, known, unknown).map_err(bad)?;
    let mut values = Vec::new();
    let reader = Reader {
        object: value,
        values: &mut values,
    };
    let read = T::deserialize(reader).map_err(|e| bad(e.0))?;
    Ok((read, Values(values)))
}

fn bad(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// Refuses the first key of `value` not among `known`, with `unknown(key)`: a derived
/// struct asks only for the fields it knows. Not generic, so that every reader shares
/// one copy.
fn check_keys(
    value: &JsValue,
    known: &[&str],
    unknown: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(unknown(&key));
        }
    }
    Ok(())
}

/// The values of a struct's fields as JavaScript passed them, `obj[field]` in field
/// order: strings not yet turned into Rust text (a lone surrogate still visible),
/// functions and signals still themselves. Each [`Raw`] field names one of them.
pub(crate) struct Values(Vec<JsValue>);

impl Values {
    /// The value of the field `raw`.
    pub(crate) fn get(&self, raw: Raw) -> &JsValue {
        &self.0[raw.0]
    }
}

/// The `Deserializer` the derived readers of `src/bindings/` run on: a JS object.
///
/// Not serde-wasm-bindgen's, measured: reading the options and the order request through
/// `serde_wasm_bindgen::Deserializer` added 22.1 KB gzip to the .wasm (92.8 -> 117.1 KB
/// with the writers, past the 100 KB budget), 9.7 KB of it serde's `Unexpected` messages
/// (float formatting, `Debug` of strings), which its error type cannot leave out. This
/// one does the three things the derived types here need: a struct's fields (`obj[field]`,
/// an `undefined` one left to its default), `null`/`undefined` as `None`, and the value
/// itself for a field's own checks ([`Raw`]). Every message is the field's own.
struct Reader<'a> {
    object: &'a JsValue,
    /// Where the struct's field values go, for its [`Raw`] fields to point into.
    values: &'a mut Vec<JsValue>,
}

#[wasm_bindgen(module = "/js/value.js")]
extern "C" {
    /// `object[name]` for each of `names` (a JS array), in order.
    #[wasm_bindgen(js_name = fieldValues)]
    fn field_values(object: &JsValue, names: &JsValue) -> Box<[JsValue]>;
}

/// A struct's field names as a JS array, made once for each struct.
fn names_of(fields: &'static [&'static str]) -> JsValue {
    thread_local! {
        static MADE: std::cell::RefCell<Vec<(usize, JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = fields.as_ptr() as usize;
    MADE.with_borrow_mut(|made| {
        if let Some((_, names)) = made.iter().find(|(k, _)| *k == key) {
            return names.clone();
        }
        let names = crate::web::js_value::js_strings(fields);
        made.push((key, names.clone().into()));
        names.into()
    })
}

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

/// The message for what the reader does not read.
fn unsupported() -> ReadError {
    de::Error::custom("the reader reads structs, options and raw values only")
}

impl<'de> Deserializer<'de> for Reader<'_> {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ReadError> {
        Err(unsupported())
    }

    /// Reads the struct's field values, then hands them to it in field order, as
    /// serde's derive reads a struct from a sequence (`[1, 2]` into a struct of two
    /// fields, in serde_json): the derived visitor then has no keys to match and no
    /// duplicates to refuse, code it would otherwise have for every field. Unknown keys
    /// are refused before ([`read_object`]).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        self.values
            .extend(field_values(self.object, &names_of(fields)).into_vec());
        visitor.visit_seq(Fields {
            values: self.values.iter().enumerate(),
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// A struct's field values, each with its place among them, in field order.
struct Fields<'a> {
    values: std::iter::Enumerate<std::slice::Iter<'a, JsValue>>,
}

impl<'de> de::SeqAccess<'de> for Fields<'_> {
    type Error = ReadError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ReadError> {
        match self.values.next() {
            Some((index, value)) => seed.deserialize(Field { index, value }).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

/// The name [`Raw`] asks a [`Field`] for: "the field itself".
const RAW: &str = "parallel_composer::raw";

/// One field's value, as a `Deserializer`: `null` and `undefined` are `None`, and a
/// [`Raw`] gets the field's place among the [`Values`].
struct Field<'a> {
    index: usize,
    value: &'a JsValue,
}

impl<'de> Deserializer<'de> for Field<'_> {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ReadError> {
        Err(unsupported())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        if self.value.is_null() || self.value.is_undefined() {
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
        visitor.visit_u64(self.index as u64)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
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

/// A field as JavaScript passed it, for the field's own check: its place among the
/// [`Values`] read with the struct. Every field of the derived readers has this one
/// type, so serde's code is made once for all of them rather than once per field; and
/// being a number, it has no drop code, which serde's derived visitor would otherwise
/// repeat for every field read so far at every field's error return.
#[derive(Clone, Copy)]
pub(crate) struct Raw(usize);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Place;
        impl Visitor<'_> for Place {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field of a JavaScript object")
            }
            fn visit_u64<E: de::Error>(self, index: u64) -> Result<Raw, E> {
                Ok(Raw(index as usize))
            }
        }
        deserializer.deserialize_newtype_struct(RAW, Place)
    }
}
