//! Authorization codes (RFC 6749 §4.1.2): issued to a signed-in browser for
//! one client and redirect URI, exchanged once at the token endpoint.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::browser_sessions::{
    session_and_user_columns, session_and_user_from_row, BrowserSession,
};
use crate::sql::find_by_key;
use crate::{BrowserSessionId, SessionId, Store, StoreResult, Timestamp, User};

/// A code as issued; the code itself never reaches the store, only its digest.
#[derive(Debug, Clone)]
pub struct NewAuthorizationCode {
    pub digest: Vec<u8>,
    pub realm: String,
    pub client_id: String,
    pub browser_session_id: BrowserSessionId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    /// The PKCE `code_challenge` (RFC 7636 §4.2, S256), when the client sent one.
    pub code_challenge: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A stored code with the browser session it was issued to and that session's user.
#[derive(Debug, Clone)]
pub struct StoredAuthorizationCode {
    pub code: NewAuthorizationCode,
    pub consumed_at: Option<Timestamp>,
    /// The session its exchange started: what a replay revokes.
    pub family_id: Option<SessionId>,
    pub browser_session: BrowserSession,
    pub user: User,
}

fn stored_code_from_row(row: &AnyRow) -> StoreResult<StoredAuthorizationCode> {
    let (browser_session, user) = session_and_user_from_row(row)?;
    Ok(StoredAuthorizationCode {
        code: NewAuthorizationCode {
            digest: row.try_get("digest")?,
            realm: row.try_get("realm")?,
            client_id: row.try_get("client_id")?,
            browser_session_id: row.try_get("browser_session_id")?,
            redirect_uri: row.try_get("redirect_uri")?,
            scope: row.try_get("scope")?,
            nonce: row.try_get("nonce")?,
            code_challenge: row.try_get("code_challenge")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
        },
        consumed_at: row.try_get("consumed_at")?,
        family_id: row.try_get("family_id")?,
        browser_session,
        user,
    })
}

impl Store {
    pub async fn insert_authorization_code(&self, code: &NewAuthorizationCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_codes (digest, realm, client_id, browser_session_id, \
             redirect_uri, scope, nonce, code_challenge, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&code.digest)
        .bind(&code.realm)
        .bind(&code.client_id)
        .bind(&code.browser_session_id)
        .bind(&code.redirect_uri)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn find_authorization_code(
        &self,
        digest: &[u8],
    ) -> StoreResult<Option<StoredAuthorizationCode>> {
        let sql = format!(
            "SELECT c.digest, c.realm, c.client_id, c.browser_session_id, c.redirect_uri, \
             c.scope, c.nonce, c.code_challenge, c.created_at, c.expires_at, c.consumed_at, \
             c.family_id, {} FROM authorization_codes c \
             JOIN browser_sessions b ON b.id = c.browser_session_id \
             JOIN users u ON u.id = b.user_id WHERE c.digest = $1",
            session_and_user_columns()
        );
        find_by_key(&self.pool, &sql, digest, stored_code_from_row).await
    }
}

/// Marks the code consumed by `family`, inside the caller's transaction;
/// false when it was consumed already.
pub(crate) async fn consume_code(
    conn: &mut sqlx::AnyConnection,
    digest: &[u8],
    now: Timestamp,
    family: &SessionId,
) -> StoreResult<bool> {
    let consumed = sqlx::query(
        "UPDATE authorization_codes SET consumed_at = $1, family_id = $2 \
         WHERE digest = $3 AND consumed_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .bind(digest)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(consumed == 1)
}
