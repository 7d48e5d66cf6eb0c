//! Company tokens as they are presented: the one-query lookup every
//! introspection makes, and the uses it records off the request path.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::company_events::CompanyEventKind;
use crate::sql::find_by_keys;
use crate::token_uses::{recorded_use, Presentation, UseTables};
use crate::{
    CompanyId, CompanyTokenId, Standing, Store, StoreResult, SubscriptionId, Timestamp, UserId,
};

/// A company token found by its digest: what deciding on a use needs and what
/// introspection answers, and no more, since the lookup runs on every
/// introspection.
#[derive(Debug, Clone)]
pub struct CompanyBearer {
    pub token_id: CompanyTokenId,
    pub realm: String,
    pub company_id: CompanyId,
    pub subscription_id: SubscriptionId,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The subscription's audience: the client id of the API.
    pub audience: String,
    /// The subscription's RFC 9396 authorization details as JSON, checked
    /// when they were written.
    pub permissions: String,
    /// The subscription's switch and validity window.
    pub subscription: Standing,
    /// `None`: a userless token.
    pub user: Option<BearerUser>,
}

/// The user of a company token, as far as introspection needs them.
#[derive(Debug, Clone)]
pub struct BearerUser {
    pub id: UserId,
    pub username: String,
    pub standing: Standing,
}

/// One use of a company token, recorded off the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyTokenUse {
    pub token_id: CompanyTokenId,
    pub realm: String,
    pub company_id: CompanyId,
    pub subscription_id: SubscriptionId,
    pub user_id: Option<UserId>,
    /// By the client that introspected the token.
    pub presentation: Presentation,
}

/// Where the uses of company tokens are counted and recorded.
const COMPANY_TOKEN_USES: UseTables<CompanyTokenUse> = UseTables {
    tokens: "company_tokens",
    insert_events: "INSERT INTO company_events (realm, company_id, event, subscription_id, \
                    user_id, token_id, client_id, address, outcome, at) VALUES",
    event_columns: 10,
    bind_event: |query, token_use| {
        let query = query
            .bind(&token_use.realm)
            .bind(&token_use.company_id)
            .bind(CompanyEventKind::TokenUsed.as_str())
            .bind(&token_use.subscription_id)
            .bind(&token_use.user_id)
            .bind(&token_use.token_id);
        token_use.presentation.bind_to(query)
    },
};

recorded_use!(CompanyTokenUse);

/// Reads what `find_company_bearer` selects.
fn bearer_from_row(row: &AnyRow) -> StoreResult<CompanyBearer> {
    let user = match row.try_get::<Option<UserId>, _>("user_id")? {
        Some(id) => Some(BearerUser {
            id,
            username: row.try_get("u_username")?,
            standing: Standing {
                enabled: row.try_get::<i64, _>("u_enabled")? != 0,
                valid_from: None,
                valid_until: row.try_get("u_valid_until")?,
            },
        }),
        None => None,
    };
    Ok(CompanyBearer {
        token_id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        company_id: row.try_get("company_id")?,
        subscription_id: row.try_get("subscription_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        audience: row.try_get("audience")?,
        permissions: row.try_get("permissions")?,
        subscription: Standing {
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            valid_from: row.try_get("valid_from")?,
            valid_until: row.try_get("valid_until")?,
        },
        user,
    })
}

impl Store {
    /// The company token of `realm` with this digest, with its subscription's
    /// audience, permissions and standing and its user's standing, in one
    /// query.
    pub async fn find_company_bearer(
        &self,
        realm: &str,
        digest: &[u8],
    ) -> StoreResult<Option<CompanyBearer>> {
        const SQL: &str = "SELECT t.id, t.realm, t.company_id, t.subscription_id, t.user_id, \
             t.name, t.created_at, t.expires_at, s.audience, s.permissions, s.enabled, \
             s.valid_from, s.valid_until, u.username AS u_username, u.enabled AS u_enabled, \
             u.valid_until AS u_valid_until \
             FROM company_tokens t JOIN subscriptions s ON s.id = t.subscription_id \
             LEFT JOIN users u ON u.id = t.user_id WHERE t.digest = $1 AND t.realm = $2";
        find_by_keys(&self.pool, SQL, (digest, realm), bearer_from_row).await
    }

    /// Records a batch of uses in one transaction, the accepted ones in their
    /// companies' audit trails.
    pub async fn record_company_token_uses(&self, uses: &[CompanyTokenUse]) -> StoreResult<()> {
        self.record_use_batch(&COMPANY_TOKEN_USES, uses).await
    }
}
