//! [`Secret`]: a string that never shows itself.
//!
//! Client secrets, API keys, access and refresh tokens all live in this type.
//! `Debug` and `Display` print a fixed placeholder, and the bytes are zeroized
//! when the last copy is dropped.

use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A secret string: redacted in `Debug`/`Display`, zeroized on drop, cheap to clone.
#[derive(Clone)]
pub struct Secret(Arc<Zeroizing<String>>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::new(Zeroizing::new(value.into())))
    }

    /// The secret itself. Call only where it must go on the wire.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison, so equality checks leak no timing.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}
impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(\"***\")");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s, Secret::new("hunter2"));
        assert_ne!(s, Secret::new("hunter3"));
    }
}
