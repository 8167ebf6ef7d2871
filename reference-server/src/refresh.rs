//! Refresh tokens with rotation and family revocation (RFC 9700 §4.14.2).
//!
//! Each `client_credentials` grant for a client that gets refresh tokens starts
//! a *family*. Every successful `refresh_token` grant marks the presented token
//! used and issues the next token of the same family. Presenting a token that
//! was already used revokes the whole family: every token of it, including the
//! newest, then answers `invalid_grant`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::access_token::now_secs;

/// A snapshot of one refresh-token family (`GET /admin/refresh-families`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    /// Sequential family id.
    pub family_id: u64,
    /// The client the family belongs to.
    pub client_id: String,
    /// Scope of the original grant (every token of the family carries it).
    pub scope: String,
    /// Unix time of the original grant.
    pub created_at: u64,
    /// Refresh tokens issued in this family so far (1 + successful rotations).
    pub tokens_issued: u32,
    /// Whether the family was revoked.
    pub revoked: bool,
    /// Why it was revoked (`"reuse"` when a used token came back).
    pub revoked_reason: Option<String>,
}

/// Why a refresh grant failed; all map to `invalid_grant` except `InvalidScope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshError {
    /// Never issued by this server.
    Unknown,
    /// Issued to another client.
    WrongClient,
    /// Its family was revoked earlier.
    Revoked,
    /// Already used: the family has just been revoked.
    Reused,
    /// The requested scope is not within the original grant (`invalid_scope`).
    InvalidScope(String),
}

impl RefreshError {
    /// Human-readable reason for `error_description`.
    pub(crate) fn describe(&self) -> String {
        match self {
            RefreshError::Unknown => "refresh token is invalid".into(),
            RefreshError::WrongClient => "refresh token was issued to another client".into(),
            RefreshError::Revoked => "refresh token has been revoked".into(),
            RefreshError::Reused => "refresh token was already used; its token family has been revoked".into(),
            RefreshError::InvalidScope(s) => {
                format!("scope {s:?} exceeds the scope originally granted")
            }
        }
    }
}

struct Entry {
    family: u64,
    used: bool,
}

struct Family {
    info: RefreshFamily,
    scopes: Vec<String>,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, Entry>,
    families: HashMap<u64, Family>,
    next_family: u64,
}

/// All refresh tokens ever issued by this server instance.
#[derive(Default)]
pub(crate) struct RefreshStore {
    inner: Mutex<Inner>,
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

impl RefreshStore {
    /// Starts a family for a fresh grant; returns its first refresh token.
    pub(crate) fn start_family(&self, client_id: &str, scopes: &[String]) -> String {
        let mut inner = self.inner.lock().expect("refresh lock");
        inner.next_family += 1;
        let id = inner.next_family;
        let token = new_token();
        inner.families.insert(
            id,
            Family {
                info: RefreshFamily {
                    family_id: id,
                    client_id: client_id.to_owned(),
                    scope: scopes.join(" "),
                    created_at: now_secs(),
                    tokens_issued: 1,
                    revoked: false,
                    revoked_reason: None,
                },
                scopes: scopes.to_vec(),
            },
        );
        inner.tokens.insert(token.clone(), Entry { family: id, used: false });
        token
    }

    /// Redeems `token` for `client_id`. On success the token is marked used and
    /// the next token of its family is returned with the family's scopes.
    /// `requested` (if any) must be a subset of the family's scopes; a scope
    /// failure leaves the token unused.
    pub(crate) fn rotate(
        &self,
        token: &str,
        client_id: &str,
        requested: Option<&[String]>,
    ) -> Result<(String, Vec<String>), RefreshError> {
        let mut guard = self.inner.lock().expect("refresh lock");
        let inner = &mut *guard;
        let entry = inner.tokens.get_mut(token).ok_or(RefreshError::Unknown)?;
        let family = inner.families.get_mut(&entry.family).ok_or(RefreshError::Unknown)?;
        if family.info.client_id != client_id {
            return Err(RefreshError::WrongClient);
        }
        if family.info.revoked {
            return Err(RefreshError::Revoked);
        }
        if entry.used {
            family.info.revoked = true;
            family.info.revoked_reason = Some("reuse".into());
            return Err(RefreshError::Reused);
        }
        let missing = requested.and_then(|req| crate::scope::first_missing(req, &family.scopes));
        if let Some(missing) = missing {
            return Err(RefreshError::InvalidScope(missing.to_owned()));
        }
        entry.used = true;
        family.info.tokens_issued += 1;
        let scopes = family.scopes.clone();
        let family_id = family.info.family_id;
        let next = new_token();
        inner.tokens.insert(next.clone(), Entry { family: family_id, used: false });
        Ok((next, scopes))
    }

    /// Snapshot of every family, oldest first.
    pub(crate) fn families(&self) -> Vec<RefreshFamily> {
        let inner = self.inner.lock().expect("refresh lock");
        let mut out: Vec<RefreshFamily> = inner.families.values().map(|f| f.info.clone()).collect();
        out.sort_by_key(|f| f.family_id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn rotation_and_reuse_revokes_family() {
        let store = RefreshStore::default();
        let t1 = store.start_family("c", &scopes(&["a", "b"]));
        let (t2, s) = store.rotate(&t1, "c", None).unwrap();
        assert_eq!(s, scopes(&["a", "b"]));
        let (t3, _) = store.rotate(&t2, "c", Some(&scopes(&["a"]))).unwrap();
        assert_eq!(store.rotate(&t1, "c", None), Err(RefreshError::Reused));
        assert_eq!(store.rotate(&t3, "c", None), Err(RefreshError::Revoked));
        let fam = &store.families()[0];
        assert!(fam.revoked);
        assert_eq!(fam.tokens_issued, 3);
    }

    #[test]
    fn scope_and_client_checks_do_not_consume() {
        let store = RefreshStore::default();
        let t1 = store.start_family("c", &scopes(&["a"]));
        assert_eq!(store.rotate(&t1, "c", Some(&scopes(&["a", "b"]))), Err(RefreshError::InvalidScope("b".into())));
        assert_eq!(store.rotate(&t1, "d", None), Err(RefreshError::WrongClient));
        assert_eq!(store.rotate("rt_nope", "c", None), Err(RefreshError::Unknown));
        assert!(store.rotate(&t1, "c", None).is_ok());
    }
}
