//! Checking a call to an endpoint, and what is kept of the calls: a row per
//! call made with a known token (accepted or refused), a summary per endpoint
//! and token, and for tokens nobody issued (forged, mistyped, retired) only a
//! count on the endpoint, so a flood of them cannot grow a table.

use std::collections::HashMap;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::endpoint_methods::{method_from_row, EndpointMethod};
use crate::endpoints::EndpointAuthentication;
use crate::token_uses::insert_event_rows;
use crate::{EndpointId, Store, StoreError, StoreResult, Timestamp};

/// Which of an endpoint's kinds of token made a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointTokenKind {
    /// The endpoint's own token for one method.
    Primary,
    /// A consuming application's token, assigned to the endpoint.
    Secondary,
}

impl EndpointTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "primary" => Some(Self::Primary),
            "secondary" => Some(Self::Secondary),
            _ => None,
        }
    }
}

/// What a check answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Allowed,
    /// Not a token Tessera could have issued: wrong length, alphabet or
    /// checksum.
    MalformedToken,
    /// Well-formed, but no token of the endpoint (forged, or retired: a
    /// regenerated primary token's old value).
    UnknownToken,
    /// The endpoint takes no such method, or this token not for it.
    MethodNotAllowed,
    /// A secondary token switched off.
    Disabled,
    /// A secondary token moved to the inactive list.
    Inactive,
    /// A secondary token not assigned to the endpoint at all.
    Unassigned,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::MalformedToken => "malformed_token",
            Self::UnknownToken => "unknown_token",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Disabled => "disabled",
            Self::Inactive => "inactive",
            Self::Unassigned => "unassigned",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Allowed,
            Self::MalformedToken,
            Self::UnknownToken,
            Self::MethodNotAllowed,
            Self::Disabled,
            Self::Inactive,
            Self::Unassigned,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == value)
    }
}

/// A known token, as a check sees it for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointCaller {
    pub kind: EndpointTokenKind,
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub active: bool,
    /// The methods it may call the endpoint with.
    pub methods: Vec<EndpointMethod>,
}

/// What the store knows of an endpoint and a presented token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerLookup {
    UnknownEndpoint,
    Endpoint {
        authentication: EndpointAuthentication,
        /// `None`: no token of this endpoint has that digest.
        caller: Option<EndpointCaller>,
    },
}

/// One checked call, recorded off the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointCall {
    pub realm: String,
    pub endpoint_id: EndpointId,
    /// `None` for a method no endpoint takes.
    pub method: Option<EndpointMethod>,
    /// The token's kind, id and name; `None` for a token nobody issued. A
    /// call without both is only counted.
    pub caller: Option<(EndpointTokenKind, String, String)>,
    pub outcome: CallOutcome,
    pub address: Option<String>,
    pub at: Timestamp,
}

/// A recorded call, as the usage view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointCallRecord {
    pub id: i64,
    pub method: EndpointMethod,
    pub token_kind: EndpointTokenKind,
    pub token_id: String,
    pub token_name: String,
    pub outcome: CallOutcome,
    pub address: Option<String>,
    pub at: Timestamp,
}

/// Per token: how it has called an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerSummary {
    pub token_kind: EndpointTokenKind,
    pub token_id: String,
    pub token_name: String,
    pub calls: i64,
    pub refused_calls: i64,
    pub last_called_at: Timestamp,
    pub last_address: Option<String>,
}

/// Binds a call by a known token (method and caller set) as an
/// `endpoint_calls` row.
fn bind_call<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    call: &'q EndpointCall,
) -> Query<'q, Any, AnyArguments<'q>> {
    let caller = call.caller.as_ref();
    query
        .bind(&call.realm)
        .bind(&call.endpoint_id)
        .bind(call.method.map(EndpointMethod::as_str))
        .bind(caller.map(|(kind, _, _)| kind.as_str()))
        .bind(caller.map(|(_, id, _)| id.as_str()))
        .bind(caller.map(|(_, _, name)| name.as_str()))
        .bind(call.outcome.as_str())
        .bind(&call.address)
        .bind(call.at)
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt(what)
}

fn token_kind_from(value: &str) -> StoreResult<EndpointTokenKind> {
    EndpointTokenKind::parse(value).ok_or_else(|| corrupt("endpoint token kind"))
}

impl Store {
    /// The endpoint and whichever of its tokens of `kind` has `digest`, in
    /// one query.
    pub async fn find_endpoint_caller(
        &self,
        (realm, endpoint): (&str, &EndpointId),
        kind: EndpointTokenKind,
        digest: &[u8],
    ) -> StoreResult<CallerLookup> {
        let sql = match kind {
            EndpointTokenKind::Primary => {
                "SELECT e.authentication, p.id AS token_id, p.method AS token_method, \
                 NULL AS token_name, CAST(1 AS BIGINT) AS enabled, CAST(1 AS BIGINT) AS active \
                 FROM endpoints e \
                 LEFT JOIN endpoint_primary_tokens p ON p.endpoint_id = e.id AND p.digest = $1 \
                 WHERE e.id = $2 AND e.realm = $3"
            }
            EndpointTokenKind::Secondary => {
                "SELECT e.authentication, t.id AS token_id, a.method AS token_method, \
                 t.name AS token_name, t.enabled, t.active FROM endpoints e \
                 LEFT JOIN endpoint_tokens t ON t.digest = $1 AND t.realm = e.realm \
                 LEFT JOIN endpoint_token_assignments a \
                 ON a.endpoint_id = e.id AND a.token_id = t.id \
                 WHERE e.id = $2 AND e.realm = $3"
            }
        };
        let rows = sqlx::query(sql)
            .bind(digest)
            .bind(endpoint)
            .bind(realm)
            .fetch_all(&self.pool)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(CallerLookup::UnknownEndpoint);
        };
        let authentication: String = first.try_get("authentication")?;
        let authentication = EndpointAuthentication::parse(&authentication)
            .ok_or_else(|| corrupt("endpoint authentication"))?;
        let Some(id) = first.try_get::<Option<String>, _>("token_id")? else {
            return Ok(CallerLookup::Endpoint {
                authentication,
                caller: None,
            });
        };
        let mut methods = Vec::new();
        for row in &rows {
            if row.try_get::<Option<String>, _>("token_method")?.is_some() {
                methods.push(method_from_row(row, "token_method")?);
            }
        }
        let name = match (kind, methods.first()) {
            (EndpointTokenKind::Secondary, _) => first.try_get("token_name")?,
            (EndpointTokenKind::Primary, Some(method)) => format!("{} primary", method.as_str()),
            (EndpointTokenKind::Primary, None) => return Err(corrupt("primary token method")),
        };
        Ok(CallerLookup::Endpoint {
            authentication,
            caller: Some(EndpointCaller {
                kind,
                id,
                name,
                enabled: first.try_get::<i64, _>("enabled")? != 0,
                active: first.try_get::<i64, _>("active")? != 0,
                methods,
            }),
        })
    }

    /// Records a batch of checked calls in one transaction: a row per call
    /// by a known token and its caller summary; for the others, a count on
    /// the endpoint.
    pub async fn record_endpoint_calls(&self, calls: &[EndpointCall]) -> StoreResult<()> {
        if calls.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let mut summaries: HashMap<(&EndpointId, &str), (i64, i64, &EndpointCall)> = HashMap::new();
        let mut forged: HashMap<&EndpointId, (i64, Timestamp)> = HashMap::new();
        let mut known = Vec::with_capacity(calls.len());
        for call in calls {
            let (Some(_), Some((_, id, _))) = (call.method, &call.caller) else {
                let entry = forged.entry(&call.endpoint_id).or_insert((0, call.at));
                entry.0 += 1;
                entry.1 = entry.1.max(call.at);
                continue;
            };
            known.push(call);
            let entry = summaries
                .entry((&call.endpoint_id, id.as_str()))
                .or_insert((0, 0, call));
            if call.outcome == CallOutcome::Allowed {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
            if call.at >= entry.2.at {
                entry.2 = call;
            }
        }
        insert_event_rows(
            &mut tx,
            self.backend,
            (
                "INSERT INTO endpoint_calls (realm, endpoint_id, method, token_kind, token_id, \
                 token_name, outcome, address, at) VALUES",
                9,
            ),
            &known,
            bind_call,
        )
        .await?;
        for ((endpoint, token), (accepted, refused, last)) in summaries {
            let Some((kind, _, name)) = &last.caller else {
                continue;
            };
            sqlx::query(
                "INSERT INTO endpoint_callers (endpoint_id, token_id, token_kind, token_name, \
                 calls, refused_calls, last_called_at, last_address) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (endpoint_id, token_id) DO UPDATE SET \
                 token_name = excluded.token_name, \
                 calls = endpoint_callers.calls + excluded.calls, \
                 refused_calls = endpoint_callers.refused_calls + excluded.refused_calls, \
                 last_called_at = excluded.last_called_at, last_address = excluded.last_address",
            )
            .bind(endpoint)
            .bind(token)
            .bind(kind.as_str())
            .bind(name)
            .bind(accepted)
            .bind(refused)
            .bind(last.at)
            .bind(&last.address)
            .execute(&mut *tx)
            .await?;
        }
        for (endpoint, (count, last)) in forged {
            sqlx::query(
                "UPDATE endpoints SET refused_calls = refused_calls + $1, last_refused_at = $2 \
                 WHERE id = $3",
            )
            .bind(count)
            .bind(last)
            .bind(endpoint)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A page of the endpoint's calls, newest first, older than the call
    /// `before` when given; only one token's when asked.
    pub async fn endpoint_calls(
        &self,
        endpoint: &EndpointId,
        (token, before): (Option<&str>, Option<i64>),
        max: i64,
    ) -> StoreResult<Vec<EndpointCallRecord>> {
        let token_filter = if token.is_some() {
            " AND token_id = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, method, token_kind, token_id, token_name, outcome, address, at \
             FROM endpoint_calls WHERE endpoint_id = $1 AND id < $2{token_filter} \
             ORDER BY id DESC LIMIT $3"
        );
        let mut query = sqlx::query(&sql)
            .bind(endpoint)
            .bind(before.unwrap_or(i64::MAX))
            .bind(max);
        if let Some(token) = token {
            query = query.bind(token);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("token_kind")?;
                let outcome: String = row.try_get("outcome")?;
                Ok(EndpointCallRecord {
                    id: row.try_get("id")?,
                    method: method_from_row(row, "method")?,
                    token_kind: token_kind_from(&kind)?,
                    token_id: row.try_get("token_id")?,
                    token_name: row.try_get("token_name")?,
                    outcome: CallOutcome::parse(&outcome)
                        .ok_or_else(|| corrupt("endpoint call outcome"))?,
                    address: row.try_get("address")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// Which tokens call the endpoint, the latest caller first.
    pub async fn endpoint_callers(&self, endpoint: &EndpointId) -> StoreResult<Vec<CallerSummary>> {
        let rows = sqlx::query(
            "SELECT token_kind, token_id, token_name, calls, refused_calls, last_called_at, \
             last_address FROM endpoint_callers WHERE endpoint_id = $1 \
             ORDER BY last_called_at DESC, token_id",
        )
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("token_kind")?;
                Ok(CallerSummary {
                    token_kind: token_kind_from(&kind)?,
                    token_id: row.try_get("token_id")?,
                    token_name: row.try_get("token_name")?,
                    calls: row.try_get("calls")?,
                    refused_calls: row.try_get("refused_calls")?,
                    last_called_at: row.try_get("last_called_at")?,
                    last_address: row.try_get("last_address")?,
                })
            })
            .collect()
    }
}
