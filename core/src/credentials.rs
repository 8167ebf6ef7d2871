//! The live client secret and API key: replaceable at run time, and re-read
//! from their files when the server rejects them (rotation without downtime).

use crate::config::SecretSource;
use crate::error::Result;
use crate::secret::Secret;
use arc_swap::ArcSwapOption;

/// One replaceable secret and where it came from.
pub(crate) struct LiveSecret {
    field: &'static str,
    source: std::sync::Mutex<Option<SecretSource>>,
    current: ArcSwapOption<Secret>,
}

impl LiveSecret {
    pub(crate) fn new(field: &'static str, source: Option<SecretSource>) -> Result<Self> {
        let current = match &source {
            Some(src) => Some(std::sync::Arc::new(src.load(field)?)),
            None => None,
        };
        Ok(LiveSecret { field, source: std::sync::Mutex::new(source), current: ArcSwapOption::new(current) })
    }

    /// The current value.
    pub(crate) fn get(&self) -> Option<Secret> {
        self.current.load().as_deref().cloned()
    }

    /// Replaces the value in place (it stops tracking a file).
    pub(crate) fn set(&self, value: Secret) {
        *self.source.lock().unwrap_or_else(|p| p.into_inner()) = Some(SecretSource::Value(value.clone()));
        self.current.store(Some(std::sync::Arc::new(value)));
    }

    /// Re-reads the file source; true when it now holds a different value.
    pub(crate) fn reload_if_changed(&self) -> bool {
        let source = self.source.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(src @ SecretSource::File(_)) = source else {
            return false;
        };
        match src.load(self.field) {
            Ok(fresh) if Some(&fresh) != self.current.load().as_deref() => {
                tracing::info!(field = self.field, "synapse-auth picked up a rotated secret from its file");
                self.current.store(Some(std::sync::Arc::new(fresh)));
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(field = self.field, error = %e, "synapse-auth could not re-read a secret file");
                false
            }
        }
    }
}
