//! [`Control`]: the in-process twin of every admin operation.

use std::sync::Arc;
use std::time::Duration;

use crate::counters::Counters;
use crate::faults::FaultSpec;
use crate::refresh::RefreshFamily;
use crate::state::AppState;

/// Drives a running server from the same process: the same operations as the
/// `/admin/` HTTP API, without HTTP. Cheap to clone; all methods are
/// synchronous and may be called from async code (only [`Control::rotate_keys`]
/// does noticeable CPU work: RSA key generation, tens of milliseconds).
#[derive(Clone)]
pub struct Control {
    state: Arc<AppState>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").field("issuer", &self.state.issuer).finish_non_exhaustive()
    }
}

impl Control {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        Control { state }
    }

    /// A snapshot of the counters (`GET /admin/counters`).
    pub fn counters(&self) -> Counters {
        self.state.counters.snapshot()
    }

    /// Counters to zero, faults cleared, rate-limit windows forgotten (`POST /admin/reset`).
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Counters to zero only.
    pub fn reset_counters(&self) {
        self.state.counters.reset();
    }

    /// Adds a fault rule (`POST /admin/faults`). Fails when `fail_status` is
    /// outside 400..=599.
    pub fn inject_faults(&self, spec: FaultSpec) -> Result<(), String> {
        self.state.faults.add(spec)
    }

    /// Removes every fault rule (`DELETE /admin/faults`).
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// The fault rules still active, with their remaining counts (`GET /admin/faults`).
    pub fn active_faults(&self) -> Vec<FaultSpec> {
        self.state.faults.active()
    }

    /// Rotates the signing key (`POST /admin/rotate-keys`): a new current key,
    /// the old one kept as previous (still accepted and published), the one
    /// before dropped. Returns the new `kid`.
    pub fn rotate_keys(&self) -> std::io::Result<String> {
        Ok(self.state.keys.rotate()?.kid().to_owned())
    }

    /// The `kid` new tokens are signed with.
    pub fn current_kid(&self) -> String {
        self.state.keys.current().kid().to_owned()
    }

    /// The `kid` of the previous key, if there was a rotation.
    pub fn previous_kid(&self) -> Option<String> {
        self.state.keys.previous().map(|k| k.kid().to_owned())
    }

    /// Makes every access token issued so far answer 418 `token_expired`
    /// (`POST /admin/expire-tokens`). Refresh tokens stay valid. Returns how
    /// many access tokens had been issued.
    pub fn expire_tokens(&self) -> u64 {
        self.state.tokens.expire_all()
    }

    /// Lifetime (whole seconds) of access tokens issued from now on
    /// (`POST /admin/config {"token_ttl_secs": N}`); zero makes tokens that
    /// are expired on arrival.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.state.tokens.set_ttl(ttl);
    }

    /// Current access-token lifetime.
    pub fn token_ttl(&self) -> Duration {
        self.state.tokens.ttl()
    }

    /// Every refresh-token family (`GET /admin/refresh-families`).
    pub fn refresh_families(&self) -> Vec<RefreshFamily> {
        self.state.refresh.families()
    }

    /// Mints an access token as the token endpoint would (current key, current
    /// lifetime), without a request and without counting. For benchmarks.
    pub fn mint_access_token(&self, client_id: &str, scope: &str) -> std::io::Result<String> {
        let s = &self.state;
        let (token, _) = s.tokens.mint(&s.keys, &s.issuer, &s.audience, client_id, scope)?;
        Ok(token)
    }

    /// Signs arbitrary claims with the current key (header `{"alg","typ":"JWT","kid"}`).
    /// For negative tests: a token with a valid signature and a wrong `aud`,
    /// `iss`, `nbf`, ...
    pub fn sign_claims(&self, claims: &serde_json::Value) -> std::io::Result<String> {
        Ok(crate::jwt::encode(&self.state.keys.current(), claims)?)
    }

    /// The `iss` of issued tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The `aud` of issued tokens.
    pub fn audience(&self) -> &str {
        &self.state.audience
    }
}
