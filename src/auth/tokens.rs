//! Client tokens: creation, verification against origin and scope, revocation.
//!
//! Verification is on the hot path of every request, so live tokens are cached in memory by hash;
//! the database is the source of truth and is written first.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use super::{random_id, random_secret, Scope, Scopes};
use crate::store::{now_ms, Store, StoreError, TokenRow};

/// Prefix that makes a leaked token recognisable (secret scanners, logs review).
const TOKEN_PREFIX: &str = "cat_";

/// A token as the rest of the agent sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub origin: String,
    pub scopes: Scopes,
    pub label: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// A freshly created token: the secret is shown once and never again.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("unknown or revoked token")]
    Invalid,
    #[error("token belongs to another origin")]
    WrongOrigin,
    #[error("token lacks the `{0}` scope")]
    MissingScope(Scope),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn info_from_row(row: &TokenRow) -> TokenInfo {
    TokenInfo {
        id: row.id.clone(),
        origin: row.origin.clone(),
        // Stored scopes were validated on the way in; an unknown name (from a newer agent) is dropped.
        scopes: Scopes::new(row.scopes.split_whitespace().filter_map(|s| s.parse().ok()).collect()),
        label: row.label.clone(),
        created_ms: row.created_ms,
        revoked_ms: row.revoked_ms,
    }
}

/// Cheap-clone token service.
#[derive(Clone)]
pub struct Tokens {
    store: Store,
    live: Arc<RwLock<HashMap<[u8; 32], TokenInfo>>>,
}

impl Tokens {
    pub fn load(store: Store) -> Result<Tokens, StoreError> {
        let live = store
            .tokens()?
            .iter()
            .filter(|row| row.revoked_ms.is_none())
            .map(|row| (row.hash, info_from_row(row)))
            .collect();
        Ok(Tokens { store, live: Arc::new(RwLock::new(live)) })
    }

    pub fn create(&self, origin: &str, scopes: Scopes, label: &str) -> Result<NewToken, StoreError> {
        let secret = format!("{TOKEN_PREFIX}{}", random_secret(32));
        let row = TokenRow {
            id: random_id(6),
            hash: hash(&secret),
            origin: origin.to_string(),
            scopes: scopes.to_storage(),
            label: label.to_string(),
            created_ms: now_ms(),
            revoked_ms: None,
        };
        self.store.insert_token(&row)?;
        let info = info_from_row(&row);
        self.live.write().unwrap_or_else(|p| p.into_inner()).insert(row.hash, info.clone());
        Ok(NewToken { info, secret })
    }

    /// Checks a bearer secret presented by `origin`. The origin must be exactly the token's.
    pub fn verify(&self, secret: &str, origin: &str) -> Result<TokenInfo, AuthError> {
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        let info = live.get(&hash(secret)).ok_or(AuthError::Invalid)?;
        if info.origin != origin {
            return Err(AuthError::WrongOrigin);
        }
        Ok(info.clone())
    }

    /// Revokes by id. Returns false when no such token exists.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let found = self.store.revoke_token(id, now_ms())?;
        self.live.write().unwrap_or_else(|p| p.into_inner()).retain(|_, info| info.id != id);
        Ok(found)
    }

    /// Whether a token id is still valid (not revoked).
    pub fn is_live(&self, id: &str) -> bool {
        self.live.read().unwrap_or_else(|p| p.into_inner()).values().any(|info| info.id == id)
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, StoreError> {
        Ok(self.store.tokens()?.iter().map(info_from_row).collect())
    }
}

impl TokenInfo {
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(AuthError::MissingScope(scope))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://motcua.example.gov.vn";

    #[test]
    fn verify_checks_secret_origin_and_revocation() {
        let store = Store::open_in_memory().expect("store");
        let tokens = Tokens::load(store.clone()).expect("load");
        let new = tokens.create(ORIGIN, Scopes::new(vec![Scope::Scan]), "quầy 3").expect("create");
        assert!(new.secret.starts_with(TOKEN_PREFIX));
        let info = tokens.verify(&new.secret, ORIGIN).expect("valid");
        assert_eq!(info.id, new.info.id);
        assert!(info.require(Scope::Scan).is_ok());
        assert!(matches!(info.require(Scope::Print), Err(AuthError::MissingScope(Scope::Print))));
        assert!(matches!(tokens.verify(&new.secret, "https://evil.example"), Err(AuthError::WrongOrigin)));
        assert!(matches!(tokens.verify("cat_guess", ORIGIN), Err(AuthError::Invalid)));
        // The secret itself is not stored anywhere.
        let rows = store.tokens().expect("rows");
        assert!(rows.iter().all(|row| !row.hash.iter().all(|b| *b == 0) && row.label == "quầy 3"));
        assert!(tokens.revoke(&new.info.id).expect("revoke"));
        assert!(matches!(tokens.verify(&new.secret, ORIGIN), Err(AuthError::Invalid)));
        // Revocation survives a reload.
        let reloaded = Tokens::load(store).expect("reload");
        assert!(matches!(reloaded.verify(&new.secret, ORIGIN), Err(AuthError::Invalid)));
    }

    #[test]
    fn tokens_survive_reload() {
        let store = Store::open_in_memory().expect("store");
        let tokens = Tokens::load(store.clone()).expect("load");
        let new = tokens.create(ORIGIN, Scopes::new(vec![Scope::Print]), "x").expect("create");
        let reloaded = Tokens::load(store).expect("reload");
        assert_eq!(reloaded.verify(&new.secret, ORIGIN).expect("valid").scopes, new.info.scopes);
    }
}
