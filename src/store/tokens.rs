//! Client tokens: only a SHA-256 hash of each secret is stored.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub hash: [u8; 32],
    pub origin: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub label: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

impl TokenRow {
    #[cfg(test)]
    pub fn sample(id: &str) -> TokenRow {
        TokenRow {
            id: id.to_string(),
            hash: [id.len() as u8; 32],
            origin: "https://motcua.example.gov.vn".into(),
            scopes: "scan print".into(),
            label: "test".into(),
            created_ms: 1,
            revoked_ms: None,
        }
    }
}

fn row_to_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    let hash: Vec<u8> = row.get(1)?;
    let mut fixed = [0u8; 32];
    if hash.len() == 32 {
        fixed.copy_from_slice(&hash);
    }
    Ok(TokenRow {
        id: row.get(0)?,
        hash: fixed,
        origin: row.get(2)?,
        scopes: row.get(3)?,
        label: row.get(4)?,
        created_ms: row.get(5)?,
        revoked_ms: row.get(6)?,
    })
}

const COLUMNS: &str = "id, hash, origin, scopes, label, created_ms, revoked_ms";

impl Store {
    pub fn insert_token(&self, token: &TokenRow) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO tokens (id, hash, origin, scopes, label, created_ms, revoked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![token.id, &token.hash[..], token.origin, token.scopes, token.label, token.created_ms, token.revoked_ms],
        )?;
        Ok(())
    }

    /// Every token, revoked ones included, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let conn = self.lock();
        let mut statement = conn.prepare(&format!("SELECT {COLUMNS} FROM tokens ORDER BY created_ms, id"))?;
        let rows = statement.query_map([], row_to_token)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn token(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        let conn = self.lock();
        let row =
            conn.query_row(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"), [id], row_to_token).optional()?;
        Ok(row)
    }

    /// The token with this secret hash, revoked or not.
    pub fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>, StoreError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"))?;
        Ok(statement.query_row([&hash[..]], row_to_token).optional()?)
    }

    /// Marks a token revoked. Returns false when there is no such token.
    pub fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let changed = self
            .lock()
            .execute("UPDATE tokens SET revoked_ms = COALESCE(revoked_ms, ?2) WHERE id = ?1", params![id, at_ms])?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_list_revoke() {
        let store = Store::open_in_memory().expect("store");
        store.insert_token(&TokenRow::sample("a")).expect("insert a");
        store.insert_token(&TokenRow::sample("bb")).expect("insert bb");
        assert_eq!(store.tokens().expect("list").len(), 2);
        assert!(store.revoke_token("a", 42).expect("revoke"));
        assert!(!store.revoke_token("missing", 42).expect("revoke missing"));
        assert_eq!(store.token("a").expect("get").and_then(|t| t.revoked_ms), Some(42));
        // Revoking twice keeps the first time.
        assert!(store.revoke_token("a", 99).expect("revoke again"));
        assert_eq!(store.token("a").expect("get").and_then(|t| t.revoked_ms), Some(42));
    }

    #[test]
    fn duplicate_hash_is_refused() {
        let store = Store::open_in_memory().expect("store");
        store.insert_token(&TokenRow::sample("a")).expect("insert");
        let mut twin = TokenRow::sample("b");
        twin.id = "other".into();
        assert!(store.insert_token(&twin).is_err());
        assert_eq!(store.tokens().expect("list").len(), 1);
    }
}
