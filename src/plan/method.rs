//! The HTTP methods a plan's calls may use, and what each allows.

use std::fmt;

/// An HTTP method the composer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`, the default.
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, in declaration order.
    pub(crate) const ALL: [Method; 6] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The methods' names as sent on the wire, in declaration order: a table, so that
    /// the message listing them joins it as it is.
    pub(crate) const NAMES: [&'static str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        Method::NAMES[self as usize]
    }

    /// Reads a method name, in any letter case.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
            .copied()
    }

    /// Whether the method may carry a body (fetch refuses one on GET and HEAD).
    pub fn allows_body(self) -> bool {
        !matches!(self, Method::Get | Method::Head)
    }

    /// Whether repeating the request is harmless by HTTP's definition.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
