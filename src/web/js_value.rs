//! `Value` for `JsValue`: replies stay the objects `JSON.parse` made in
//! `js/fetch-call.js`.
//!
//! Reading a path walks own properties only (never the prototype chain), and building
//! an object defines `__proto__` as a plain own key rather than calling its setter. An
//! integer too large for a double arrives as a `BigInt` (see `js/fetch-call.js`): as text
//! it is its exact digits, so it reaches later URLs, headers and bodies unrounded.

use crate::plan::json::Json;
use crate::plan::value::{parse_index, Value, MAX_VISIT_DEPTH};
use crate::web::interned::interned;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// `Object.values`, catching what a getter of caller-made data may throw.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = values)]
    fn own_values(object: &JsValue) -> Result<Array, JsValue>;
}

#[wasm_bindgen(module = "/js/value.js")]
extern "C" {
    /// `value[key]` when `value` is an object with that own property, else `undefined`.
    #[wasm_bindgen(js_name = ownField)]
    fn own_field(value: &JsValue, key: &JsValue) -> JsValue;
    /// Sets `obj[key] = value` as an own data property, even for `__proto__`.
    #[wasm_bindgen(js_name = setOwn)]
    pub(crate) fn set_own(object: &Object, key: &JsValue, value: &JsValue);
    /// A condition's `equals`, a `BigInt` against a number exactly.
    #[wasm_bindgen(js_name = sameValue)]
    fn same_value(a: &JsValue, b: &JsValue) -> bool;
    /// A condition's order of two numbers: -1, 0 or 1, 2 when they have none.
    #[wasm_bindgen(js_name = compareValues)]
    fn compare_values(a: &JsValue, b: &JsValue) -> i32;
}

fn type_name(v: &JsValue) -> &'static str {
    if v.is_null() {
        "null"
    } else if v.is_undefined() {
        "undefined"
    } else if Array::is_array(v) {
        "an array"
    } else if v.is_object() {
        "an object"
    } else {
        "a value of another type"
    }
}

impl Value for JsValue {
    /// `JSON.stringify`'s text: a body of the plan's templates keeps its keys in plan
    /// order. A body it cannot write (a BigInt, a cycle) has none, and is never cached.
    fn key_text(&self) -> Option<String> {
        js_sys::JSON::stringify(self).ok()?.as_string()
    }

    fn has_lone_surrogates(&self) -> bool {
        self.dyn_ref::<js_sys::JsString>()
            .is_some_and(|s| !s.is_valid_utf16())
    }

    fn field(&self, segment: &str) -> Option<Self> {
        if Array::is_array(self) {
            let array: &Array = self.unchecked_ref();
            if segment == "length" {
                return Some(JsValue::from_f64(array.length() as f64));
            }
            let index = parse_index(segment)?;
            return (index < array.length() as usize).then(|| array.get(index as u32));
        }
        Some(own_field(self, &interned(segment))).filter(|v| !v.is_undefined())
    }

    fn text(&self) -> Result<String, &'static str> {
        if let Some(s) = self.as_string() {
            Ok(s)
        } else if let Some(n) = self.as_f64() {
            // JavaScript's own Number#toString: the text JSON.stringify would write, and
            // no float formatting code in the .wasm.
            if !n.is_finite() {
                return Err("a non-finite number");
            }
            let number: &js_sys::Number = self.unchecked_ref();
            number
                .to_string_with_radix(10)
                .map(String::from)
                .map_err(|_| "a number")
        } else if let Some(b) = self.as_bool() {
            Ok(b.to_string())
        } else if self.is_bigint() {
            let big: &js_sys::BigInt = self.unchecked_ref();
            big.to_string(10).map(String::from).map_err(|_| "a bigint")
        } else {
            Err(type_name(self))
        }
    }

    fn as_f64(&self) -> Option<f64> {
        JsValue::as_f64(self)
    }

    fn same(&self, other: &Self) -> bool {
        same_value(self, other)
    }

    fn compare(&self, other: &Self) -> Option<std::cmp::Ordering> {
        match compare_values(self, other) {
            -1 => Some(std::cmp::Ordering::Less),
            0 => Some(std::cmp::Ordering::Equal),
            1 => Some(std::cmp::Ordering::Greater),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<String> {
        JsValue::as_string(self)
    }

    fn json_problem(&self) -> Option<String> {
        let thrown = crate::web::fetch::body_text(self).err()?;
        let why = thrown
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        Some(why.lines().next().unwrap_or_default().to_owned())
    }

    fn elements(&self) -> Option<Vec<Self>> {
        let array = self.dyn_ref::<Array>()?;
        Some(array.iter().collect())
    }

    fn from_json(json: &Json) -> Self {
        match json {
            Json::Null => JsValue::NULL,
            Json::Bool(b) => JsValue::from_bool(*b),
            Json::Number(n) => JsValue::from_f64(*n),
            Json::String(s) => JsValue::from_str(s),
            Json::Array(items) => {
                let array = Array::new();
                for item in items {
                    array.push(&JsValue::from_json(item));
                }
                array.into()
            }
            Json::Object(entries) => {
                let obj = Object::new();
                for (k, v) in entries {
                    set_own(&obj, &interned(k), &JsValue::from_json(v));
                }
                obj.into()
            }
        }
    }

    fn from_string(s: String) -> Self {
        JsValue::from_str(&s)
    }

    fn from_f64(n: f64) -> Self {
        JsValue::from_f64(n)
    }

    fn array(items: Vec<Self>) -> Self {
        let array = Array::new();
        for item in &items {
            array.push(item);
        }
        array.into()
    }

    fn object(entries: Vec<(String, Self)>) -> Self {
        let obj = Object::new();
        for (k, v) in &entries {
            set_own(&obj, &interned(k), v);
        }
        obj.into()
    }

    fn each_string(&self, visit: &mut dyn FnMut(&str) -> bool) {
        fn walk(v: &JsValue, visit: &mut dyn FnMut(&str) -> bool, depth: usize) -> bool {
            if let Some(s) = v.as_string() {
                return visit(&s);
            }
            if depth >= MAX_VISIT_DEPTH || !v.is_object() || v.is_function() {
                return true;
            }
            // Arrays and objects alike: their own enumerable values.
            match own_values(v) {
                Ok(items) => items.iter().all(|item| walk(&item, visit, depth + 1)),
                Err(_) => true,
            }
        }
        walk(self, visit, 0);
    }
}

/// How deep plan data may nest; deeper (or cyclic) data is refused instead of
/// overflowing the stack.
const MAX_DEPTH: usize = 128;

/// `names` as an array of JS strings. Not collected: each kind of iterator collected into
/// an `Array` is code of its own in the .wasm.
pub(crate) fn js_strings(names: &[&str]) -> Array {
    let array = Array::new();
    for name in names {
        array.push(&JsValue::from_str(name));
    }
    array
}

/// Reads plain JSON data from JavaScript into a [`Json`] tree, keys in their own order.
///
/// Walking the value directly (rather than through serde) keeps float formatting and
/// serde's error machinery out of the .wasm, and lets errors name the exact place
/// (`plan.calls.a.body`). `undefined` properties are skipped, as `JSON.stringify` does.
pub(crate) fn json_from_js(value: &JsValue, at: &str) -> Result<Json, String> {
    read(value, At::Root(at), 0)
}

/// Where a value is (`plan.calls.a.after.0`), written out only for a message: a plan is
/// read at every composition, and a path string per value read showed in profiles.
#[derive(Clone, Copy)]
enum At<'a> {
    Root(&'a str),
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root(name) => f.write_str(name),
            At::Key(parent, key) => write!(f, "{parent}.{key}"),
            At::Index(parent, i) => write!(f, "{parent}.{i}"),
        }
    }
}

fn read(value: &JsValue, at: At, depth: usize) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{at} is nested more than {MAX_DEPTH} levels deep (or is cyclic)"
        ));
    }
    // The types exclude each other, so the order of the checks changes no answer; it
    // puts what plans hold most (strings, then objects) first, since every check is a
    // call into JavaScript and a plan is read at every composition.
    if let Some(s) = value.as_string() {
        return Ok(Json::String(s));
    }
    if value.is_object() {
        if Array::is_array(value) {
            let array: &Array = value.unchecked_ref();
            let mut items = Vec::with_capacity(array.length() as usize);
            for (i, item) in array.iter().enumerate() {
                items.push(read(&item, At::Index(&at, i), depth + 1)?);
            }
            return Ok(Json::Array(items));
        }
        return read_object(value, at, depth);
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Json::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Json::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return if n.is_finite() {
            Ok(Json::Number(n))
        } else {
            Err(format!("{at} is not a finite number"))
        };
    }
    if value.is_bigint() {
        // Json has no exact integers past 2^53: a BigInt goes through `input` instead.
        return Err(format!(
            "{at} is a BigInt; pass it in the input and write a placeholder such as \"{{input.id}}\" here, which sends its exact digits"
        ));
    }
    Err(format!(
        "{at} is not JSON data (a function, symbol or bigint)"
    ))
}

/// A plain object's own enumerable properties, in their order (`undefined` ones skipped).
fn read_object(value: &JsValue, at: At, depth: usize) -> Result<Json, String> {
    let object: &Object = value.unchecked_ref();
    let keys = Object::keys(object);
    let mut entries = Vec::with_capacity(keys.length() as usize);
    for key in keys.iter() {
        let name = key.as_string().unwrap_or_default();
        let item = Reflect::get(object, &key).unwrap_or(JsValue::UNDEFINED);
        if item.is_undefined() {
            continue;
        }
        let item = read(&item, At::Key(&at, &name), depth + 1)?;
        entries.push((name, item));
    }
    Ok(Json::Object(entries))
}
