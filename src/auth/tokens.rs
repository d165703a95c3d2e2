//! Client tokens: creation, verification against origin and scope, revocation.
//!
//! The database is the only source of truth: every check reads it (one indexed lookup), so a token
//! created or revoked by `counter-agent token …` in another process takes effect at once.

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
}

/// Labels are shown in lists and on the pairing page: one line, bounded.
pub const MAX_LABEL_CHARS: usize = 80;

/// Drops control characters (newlines could forge rows in `token list`) and bounds the length.
pub fn clean_label(label: &str) -> String {
    label.chars().filter(|c| !c.is_control()).take(MAX_LABEL_CHARS).collect::<String>().trim().to_string()
}

impl Tokens {
    pub fn load(store: Store) -> Result<Tokens, StoreError> {
        // Fail at start-up, not at the first request, if the table cannot be read.
        store.tokens()?;
        Ok(Tokens { store })
    }

    pub fn create(&self, origin: &str, scopes: Scopes, label: &str) -> Result<NewToken, StoreError> {
        let secret = format!("{TOKEN_PREFIX}{}", random_secret(32));
        let row = TokenRow {
            id: random_id(6),
            hash: hash(&secret),
            origin: origin.to_string(),
            scopes: scopes.to_storage(),
            label: clean_label(label),
            created_ms: now_ms(),
            revoked_ms: None,
        };
        self.store.insert_token(&row)?;
        Ok(NewToken { info: info_from_row(&row), secret })
    }

    /// Checks a bearer secret presented by `origin`. The origin must be exactly the token's.
    pub fn verify(&self, secret: &str, origin: &str) -> Result<TokenInfo, AuthError> {
        let row = self.store.token_by_hash(&hash(secret))?.filter(|row| row.revoked_ms.is_none());
        let info = info_from_row(&row.ok_or(AuthError::Invalid)?);
        if info.origin != origin {
            return Err(AuthError::WrongOrigin);
        }
        Ok(info)
    }

    /// Revokes by id. Returns false when no such token exists.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        self.store.revoke_token(id, now_ms())
    }

    /// Whether a token id is still valid (not revoked).
    pub fn is_live(&self, id: &str) -> bool {
        matches!(self.store.token(id), Ok(Some(row)) if row.revoked_ms.is_none())
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
    fn another_process_creating_or_revoking_takes_effect_at_once() {
        let store = Store::open_in_memory().expect("store");
        let running = Tokens::load(store.clone()).expect("load");
        // Another `Tokens` on the same database stands for `counter-agent token …`.
        let cli = Tokens::load(store).expect("load");
        let new = cli.create(ORIGIN, Scopes::new(vec![Scope::Scan]), "cli").expect("create");
        assert!(running.verify(&new.secret, ORIGIN).is_ok(), "created elsewhere, valid here");
        assert!(running.is_live(&new.info.id));
        cli.revoke(&new.info.id).expect("revoke");
        assert!(matches!(running.verify(&new.secret, ORIGIN), Err(AuthError::Invalid)), "revoked elsewhere");
        assert!(!running.is_live(&new.info.id));
    }

    #[test]
    fn labels_are_one_bounded_line() {
        assert_eq!(clean_label("evil\n00b1dd6e14b4  active   https://fake"), "evil00b1dd6e14b4  active   https://fake");
        assert_eq!(clean_label(&"x".repeat(1000)).chars().count(), MAX_LABEL_CHARS);
        assert_eq!(clean_label("  Quầy 3\t "), "Quầy 3");
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
