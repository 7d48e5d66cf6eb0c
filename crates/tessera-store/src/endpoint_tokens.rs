//! Secondary endpoint tokens, one per consuming application: their rows,
//! which endpoint methods each may call, the endpoint's view of them, and
//! revealing a recoverable one's sealed secret (audited). Every change puts
//! the token on the revocation feed as `changed` in the same transaction.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::endpoint_methods::{method_from_row, EndpointMethod};
use crate::endpoints::find_endpoint_in;
use crate::primary_tokens::primary_methods;
use crate::revocations::announce_changed;
use crate::sql::{find_by_keys, flag};
use crate::{Audit, EndpointId, EndpointTokenId, Page, Store, StoreResult, Timestamp};

/// A secondary token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointToken {
    pub id: EndpointTokenId,
    pub realm: String,
    /// The consuming application's name.
    pub name: String,
    pub description: String,
    pub hint: String,
    pub enabled: bool,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

/// What an edit of a secondary token changes; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct EndpointTokenChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub active: Option<bool>,
}

/// Whose sealed secret a reveal asks for.
#[derive(Debug, Clone, Copy)]
pub enum RevealTarget<'a> {
    Primary(&'a EndpointId, EndpointMethod),
    Secondary(&'a EndpointTokenId),
}

/// How an assignment came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    Done,
    /// No such endpoint, or no such secondary token in its realm.
    NotFound,
    /// The endpoint has no primary token for this method.
    NoPrimaryToken(EndpointMethod),
}

const TOKEN_COLUMNS: &str = "t.id, t.realm, t.name, t.description, t.hint, t.enabled, t.active, \
     t.created_at, t.updated_at";

fn token_from_row(row: &AnyRow) -> StoreResult<EndpointToken> {
    Ok(EndpointToken {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        hint: row.try_get("hint")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Stores a new secondary token (enabled and active).
    pub async fn insert_endpoint_token(
        &self,
        token: &EndpointToken,
        (digest, sealed): (&[u8], Option<&[u8]>),
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO endpoint_tokens (id, realm, name, description, digest, hint, sealed, \
             enabled, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token.id)
        .bind(&token.realm)
        .bind(&token.name)
        .bind(&token.description)
        .bind(digest)
        .bind(&token.hint)
        .bind(sealed)
        .bind(flag(token.enabled))
        .bind(flag(token.active))
        .bind(token.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn find_endpoint_token(
        &self,
        realm: &str,
        id: &EndpointTokenId,
    ) -> StoreResult<Option<EndpointToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM endpoint_tokens t WHERE t.id = $1 AND t.realm = $2"
        );
        find_by_keys(&self.pool, &sql, (id, realm), token_from_row).await
    }

    /// A page of the realm's active or inactive secondary tokens, by name.
    pub async fn list_endpoint_tokens(
        &self,
        realm: &str,
        active: bool,
        page: Page,
    ) -> StoreResult<Vec<EndpointToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM endpoint_tokens t WHERE t.realm = $1 AND t.active = $2 \
             ORDER BY t.name, t.id LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(&sql)
            .bind(realm)
            .bind(flag(active))
            .bind(page.max)
            .bind(page.first)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Applies `changes` and puts the token on the feed, atomically.
    pub async fn update_endpoint_token(
        &self,
        (realm, id): (&str, &EndpointTokenId),
        changes: &EndpointTokenChanges,
        (now, notice_until): (Timestamp, Timestamp),
    ) -> StoreResult<Option<EndpointToken>> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE endpoint_tokens SET name = COALESCE($1, name), \
             description = COALESCE($2, description), enabled = COALESCE($3, enabled), \
             active = COALESCE($4, active), updated_at = $5 WHERE id = $6 AND realm = $7 \
             RETURNING {}",
            TOKEN_COLUMNS.replace("t.", "")
        );
        let Some(row) = sqlx::query(&sql)
            .bind(&changes.name)
            .bind(&changes.description)
            .bind(changes.enabled.map(flag))
            .bind(changes.active.map(flag))
            .bind(now)
            .bind(id)
            .bind(realm)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let token = token_from_row(&row)?;
        announce_changed(&mut tx, realm, &[id.to_string()], (now, notice_until)).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Deletes a secondary token and its assignments, after putting it on the
    /// feed. False when there is none.
    pub async fn delete_endpoint_token(
        &self,
        (realm, id): (&str, &EndpointTokenId),
        (now, notice_until): (Timestamp, Timestamp),
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        announce_changed(&mut tx, realm, &[id.to_string()], (now, notice_until)).await?;
        sqlx::query("DELETE FROM endpoint_token_assignments WHERE token_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM endpoint_tokens WHERE id = $1 AND realm = $2")
            .bind(id)
            .bind(realm)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            // Nothing of it existed: the feed entry goes with the transaction.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Sets the methods of the endpoint that the secondary token may call
    /// (none: unassigned), and puts the token on the feed, atomically.
    pub async fn assign_endpoint_token(
        &self,
        (realm, endpoint, token): (&str, &EndpointId, &EndpointTokenId),
        methods: &[EndpointMethod],
        (now, notice_until): (Timestamp, Timestamp),
    ) -> StoreResult<Assignment> {
        let mut tx = self.begin_write().await?;
        if find_endpoint_in(&mut tx, realm, endpoint).await?.is_none() {
            return Ok(Assignment::NotFound);
        }
        let known = sqlx::query("SELECT 1 FROM endpoint_tokens WHERE id = $1 AND realm = $2")
            .bind(token)
            .bind(realm)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Ok(Assignment::NotFound);
        }
        let present = primary_methods(&mut tx, endpoint).await?;
        if let Some(missing) = methods.iter().find(|method| !present.contains(method)) {
            return Ok(Assignment::NoPrimaryToken(*missing));
        }
        sqlx::query(
            "DELETE FROM endpoint_token_assignments WHERE endpoint_id = $1 AND token_id = $2",
        )
        .bind(endpoint)
        .bind(token)
        .execute(&mut *tx)
        .await?;
        for method in methods {
            sqlx::query(
                "INSERT INTO endpoint_token_assignments (endpoint_id, method, token_id, \
                 assigned_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(endpoint)
            .bind(method.as_str())
            .bind(token)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        announce_changed(&mut tx, realm, &[token.to_string()], (now, notice_until)).await?;
        tx.commit().await?;
        Ok(Assignment::Done)
    }

    /// Every secondary token of the endpoint's realm with the methods it is
    /// assigned for there, by name; only the assigned ones when asked.
    pub async fn endpoint_token_view(
        &self,
        (realm, endpoint): (&str, &EndpointId),
        assigned_only: bool,
    ) -> StoreResult<Vec<(EndpointToken, Vec<EndpointMethod>)>> {
        let join = if assigned_only { "JOIN" } else { "LEFT JOIN" };
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, a.method AS assigned_method FROM endpoint_tokens t \
             {join} endpoint_token_assignments a ON a.token_id = t.id AND a.endpoint_id = $1 \
             WHERE t.realm = $2 ORDER BY t.name, t.id"
        );
        let rows = sqlx::query(&sql)
            .bind(endpoint)
            .bind(realm)
            .fetch_all(&self.pool)
            .await?;
        let mut view: Vec<(EndpointToken, Vec<EndpointMethod>)> = Vec::new();
        for row in &rows {
            let token = token_from_row(row)?;
            let method = match row.try_get::<Option<String>, _>("assigned_method")? {
                Some(_) => Some(method_from_row(row, "assigned_method")?),
                None => None,
            };
            match view.last_mut() {
                Some((last, methods)) if last.id == token.id => methods.extend(method),
                _ => view.push((token, method.into_iter().collect())),
            }
        }
        for (_, methods) in &mut view {
            methods.sort();
        }
        Ok(view)
    }

    /// The sealed secret of `target` with its token id, and a `token_revealed`
    /// event naming who asked, atomically. None when the token does not exist
    /// or has no sealed secret (it was stored while the realm kept none).
    pub async fn reveal_endpoint_secret(
        &self,
        realm: &str,
        target: RevealTarget<'_>,
        (audit, now): (Audit<'_>, Timestamp),
    ) -> StoreResult<Option<(String, Vec<u8>)>> {
        let mut tx = self.begin_write().await?;
        let row = match target {
            RevealTarget::Primary(endpoint, method) => {
                sqlx::query(
                    "SELECT p.id, p.sealed, p.endpoint_id FROM endpoint_primary_tokens p \
                     JOIN endpoints e ON e.id = p.endpoint_id \
                     WHERE p.endpoint_id = $1 AND p.method = $2 AND e.realm = $3",
                )
                .bind(endpoint)
                .bind(method.as_str())
                .bind(realm)
                .fetch_optional(&mut *tx)
                .await?
            }
            RevealTarget::Secondary(token) => {
                sqlx::query(
                    "SELECT id, sealed, NULL AS endpoint_id FROM endpoint_tokens \
                     WHERE id = $1 AND realm = $2",
                )
                .bind(token)
                .bind(realm)
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let Some(sealed) = row.try_get::<Option<Vec<u8>>, _>("sealed")? else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let endpoint_id: Option<String> = row.try_get("endpoint_id")?;
        sqlx::query(
            "INSERT INTO endpoint_events (realm, endpoint_id, token_id, event, actor, actor_id, \
             address, at) VALUES ($1, $2, $3, 'token_revealed', $4, $5, $6, $7)",
        )
        .bind(realm)
        .bind(endpoint_id)
        .bind(&id)
        .bind(audit.actor.as_str())
        .bind(audit.actor_id)
        .bind(audit.address)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((id, sealed)))
    }

    /// Drops every sealed copy of the realm's endpoint tokens, for a realm
    /// that keeps none recoverable; returns how many there were.
    pub async fn forget_sealed_endpoint_secrets(&self, realm: &str) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut forgotten = 0;
        for sql in [
            "UPDATE endpoint_tokens SET sealed = NULL WHERE realm = $1 AND sealed IS NOT NULL",
            "UPDATE endpoint_primary_tokens SET sealed = NULL WHERE sealed IS NOT NULL \
             AND endpoint_id IN (SELECT id FROM endpoints WHERE realm = $1)",
        ] {
            forgotten += sqlx::query(sql)
                .bind(realm)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(forgotten)
    }
}
