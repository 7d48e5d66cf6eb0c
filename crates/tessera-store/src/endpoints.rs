//! Endpoints of an integration platform. An edit keeps their primary tokens
//! (`primary_tokens.rs`) in step with the methods they allow; secondary tokens
//! are in `endpoint_tokens.rs`. Every change that alters what a check answers
//! puts the tokens concerned on the revocation feed as `changed`, in the same
//! transaction, so verifiers drop what they cached.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::endpoint_methods::EndpointMethod;
use crate::primary_tokens::{insert_primaries, primary_methods, remove_primaries, NewPrimaryToken};
use crate::revocations::announce_changed;
use crate::sql::{flag, parameter_list, realm_page};
use crate::{EndpointId, Page, PrimaryTokenId, Store, StoreResult, Timestamp};

/// Whether calling an endpoint needs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointAuthentication {
    None,
    Token,
}

impl EndpointAuthentication {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Token => "token",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::None),
            "token" => Some(Self::Token),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: EndpointId,
    pub realm: String,
    pub name: String,
    pub description: String,
    pub path: String,
    pub authentication: EndpointAuthentication,
    pub allow_delete: bool,
    /// Calls refused before any token was known (malformed, forged or
    /// retired tokens): counted here, never stored one row each.
    pub refused_calls: i64,
    pub last_refused_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

impl Endpoint {
    /// The methods that have a primary token under this configuration.
    pub fn token_methods(&self) -> Vec<EndpointMethod> {
        match self.authentication {
            EndpointAuthentication::None => Vec::new(),
            EndpointAuthentication::Token => EndpointMethod::ALL
                .into_iter()
                .filter(|method| *method != EndpointMethod::Delete || self.allow_delete)
                .collect(),
        }
    }
}

/// What an edit of an endpoint changes; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub path: Option<String>,
    pub authentication: Option<EndpointAuthentication>,
    pub allow_delete: Option<bool>,
}

/// How an endpoint edit came out.
#[derive(Debug, Clone)]
pub enum EndpointEdit {
    /// Done: the endpoint now, and the primary tokens it gained (of the
    /// candidates offered), whose secrets the caller shows once.
    Done(Endpoint, Vec<PrimaryTokenId>),
    NotFound,
    /// Another endpoint of the realm has that path.
    PathTaken,
}

const ENDPOINT_COLUMNS: &str = "e.id, e.realm, e.name, e.description, e.path, \
     e.authentication, e.allow_delete, e.refused_calls, e.last_refused_at, e.created_at, \
     e.updated_at";

pub(crate) fn endpoint_from_row(row: &AnyRow) -> StoreResult<Endpoint> {
    let authentication: String = row.try_get("authentication")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        path: row.try_get("path")?,
        authentication: EndpointAuthentication::parse(&authentication)
            .ok_or(crate::StoreError::Corrupt("endpoint authentication"))?,
        allow_delete: row.try_get::<i64, _>("allow_delete")? != 0,
        refused_calls: row.try_get("refused_calls")?,
        last_refused_at: row.try_get("last_refused_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.is_unique_violation())
}

/// The ids of the endpoint's primary tokens for `methods` (all when `None`)
/// and of the secondary tokens assigned to them.
async fn tokens_behind(
    conn: &mut sqlx::AnyConnection,
    endpoint: &EndpointId,
    methods: Option<&[EndpointMethod]>,
) -> StoreResult<Vec<String>> {
    let (filter, values): (String, Vec<&str>) = match methods {
        None => (String::new(), Vec::new()),
        Some(methods) => (
            format!(" AND method IN ({})", parameter_list(methods.len(), 2)),
            methods.iter().map(|method| method.as_str()).collect(),
        ),
    };
    let sql = format!(
        "SELECT id FROM endpoint_primary_tokens WHERE endpoint_id = $1{filter} \
         UNION SELECT token_id FROM endpoint_token_assignments WHERE endpoint_id = $1{filter}"
    );
    let mut query = sqlx::query(&sql).bind(endpoint);
    for value in values {
        query = query.bind(value);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| row.try_get::<String, _>(0).map_err(Into::into))
        .collect()
}

pub(crate) async fn find_endpoint_in(
    conn: &mut sqlx::AnyConnection,
    realm: &str,
    id: &EndpointId,
) -> StoreResult<Option<Endpoint>> {
    let sql =
        format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints e WHERE e.id = $1 AND e.realm = $2");
    sqlx::query(&sql)
        .bind(id)
        .bind(realm)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(endpoint_from_row)
        .transpose()
}

impl Store {
    /// Stores a new endpoint with its primary tokens; false when the realm has
    /// an endpoint with that path.
    pub async fn insert_endpoint(
        &self,
        endpoint: &Endpoint,
        primaries: &[NewPrimaryToken],
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO endpoints (id, realm, name, description, path, authentication, \
             allow_delete, refused_calls, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&endpoint.id)
        .bind(&endpoint.realm)
        .bind(&endpoint.name)
        .bind(&endpoint.description)
        .bind(&endpoint.path)
        .bind(endpoint.authentication.as_str())
        .bind(flag(endpoint.allow_delete))
        .bind(endpoint.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        let primaries: Vec<&NewPrimaryToken> = primaries.iter().collect();
        insert_primaries(&mut tx, &endpoint.id, &primaries, endpoint.created_at).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn find_endpoint(
        &self,
        realm: &str,
        id: &EndpointId,
    ) -> StoreResult<Option<Endpoint>> {
        let mut conn = self.pool.acquire().await?;
        find_endpoint_in(&mut conn, realm, id).await
    }

    /// A page of the realm's endpoints, by path: `max` from the `first`.
    pub async fn list_endpoints(&self, realm: &str, page: Page) -> StoreResult<Vec<Endpoint>> {
        let listing = ("endpoints e", ENDPOINT_COLUMNS, "e.path");
        realm_page(&self.pool, listing, (realm, page), endpoint_from_row).await
    }

    /// Applies `changes` atomically. The endpoint gains a primary token, from
    /// `candidates`, for each method its new configuration allows and it
    /// lacks, and loses those it no longer allows (with what was assigned to
    /// them); the lost ones, and the secondary tokens behind them, go on the
    /// feed.
    pub async fn update_endpoint(
        &self,
        (realm, id): (&str, &EndpointId),
        changes: &EndpointChanges,
        candidates: &[NewPrimaryToken],
        (now, notice_until): (Timestamp, Timestamp),
    ) -> StoreResult<EndpointEdit> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE endpoints SET name = COALESCE($1, name), \
             description = COALESCE($2, description), path = COALESCE($3, path), \
             authentication = COALESCE($4, authentication), \
             allow_delete = COALESCE($5, allow_delete), updated_at = $6 \
             WHERE id = $7 AND realm = $8",
        )
        .bind(&changes.name)
        .bind(&changes.description)
        .bind(&changes.path)
        .bind(changes.authentication.map(EndpointAuthentication::as_str))
        .bind(changes.allow_delete.map(flag))
        .bind(now)
        .bind(id)
        .bind(realm)
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(done) if done.rows_affected() == 0 => return Ok(EndpointEdit::NotFound),
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Ok(EndpointEdit::PathTaken),
            Err(error) => return Err(error.into()),
        }
        let Some(endpoint) = find_endpoint_in(&mut tx, realm, id).await? else {
            return Ok(EndpointEdit::NotFound);
        };
        let present = primary_methods(&mut tx, id).await?;
        let wanted = endpoint.token_methods();
        let lost: Vec<EndpointMethod> = present
            .iter()
            .copied()
            .filter(|method| !wanted.contains(method))
            .collect();
        if !lost.is_empty() {
            let behind = tokens_behind(&mut tx, id, Some(&lost)).await?;
            announce_changed(&mut tx, realm, &behind, (now, notice_until)).await?;
            remove_primaries(&mut tx, id, &lost).await?;
        }
        let gained: Vec<&NewPrimaryToken> = candidates
            .iter()
            .filter(|candidate| {
                wanted.contains(&candidate.method) && !present.contains(&candidate.method)
            })
            .collect();
        insert_primaries(&mut tx, id, &gained, now).await?;
        tx.commit().await?;
        let gained = gained.iter().map(|primary| primary.id.clone()).collect();
        Ok(EndpointEdit::Done(endpoint, gained))
    }

    /// Deletes the endpoint, its primary tokens, their assignments and its
    /// callers' summary, after putting every token that could call it on the
    /// feed; its calls stay, for the audit trail. False when there is none.
    pub async fn delete_endpoint(
        &self,
        (realm, id): (&str, &EndpointId),
        (now, notice_until): (Timestamp, Timestamp),
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if find_endpoint_in(&mut tx, realm, id).await?.is_none() {
            return Ok(false);
        }
        let behind = tokens_behind(&mut tx, id, None).await?;
        announce_changed(&mut tx, realm, &behind, (now, notice_until)).await?;
        remove_primaries(&mut tx, id, &EndpointMethod::ALL).await?;
        for sql in [
            "DELETE FROM endpoint_callers WHERE endpoint_id = $1",
            "DELETE FROM endpoints WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
