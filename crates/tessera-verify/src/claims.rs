use std::sync::Arc;

use tessera_authz::{Grant, Permissions};
use tessera_proto::IntrospectionResponse;

use crate::wire_claims::WireClaims;

/// How the token reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// A JWT access token, verified locally.
    Jwt,
    /// An opaque Tessera token, checked by introspection (RFC 7662).
    Opaque,
}

/// Where one claim sits in [`VerifiedToken`]'s text.
type Span = (u32, u32);

/// Whose a company token is: the company, the subscription, the token
/// itself, and its user (none for a userless token, held by a machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanyToken<'a> {
    pub company_id: &'a str,
    pub subscription_id: &'a str,
    /// The token's id: every use of it is recorded with it.
    pub token_id: &'a str,
    pub name: &'a str,
    /// `sub` and `preferred_username`; `None` for a userless token.
    pub user_id: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// Where a company token's claims sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CompanySpans {
    company_id: Span,
    subscription_id: Span,
    token_id: Span,
    name: Span,
    userless: bool,
}

/// The verified facts about a token a resource server acts on.
///
/// Every string claim lives in one buffer, so that building a token costs a
/// few allocations rather than one per claim: verification runs on every
/// request.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    format: TokenFormat,
    expires_at: Option<i64>,
    text: String,
    subject: Span,
    client_id: Span,
    scope: Span,
    session_id: Option<Span>,
    token_id: Option<Span>,
    username: Option<Span>,
    roles: Vec<Span>,
    /// A token profile's id and name.
    profile: Option<(Span, Span)>,
    company: Option<CompanySpans>,
    /// Shared, since cached answers are cloned on every request; `None` (no
    /// allocation) for tokens without permissions.
    permissions: Option<Arc<Permissions>>,
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("format", &self.format)
            .field("subject", &self.subject())
            .field("client_id", &self.client_id())
            .field("scope", &self.scope())
            .field("roles", &self.roles().collect::<Vec<_>>())
            .field("session_id", &self.session_id())
            .field("token_id", &self.token_id())
            .field("username", &self.username())
            .field("expires_at", &self.expires_at)
            .field("profile_token_id", &self.profile_token_id())
            .field("company", &self.company())
            .field("permissions", &self.permissions)
            .finish()
    }
}

impl VerifiedToken {
    pub fn format(&self) -> TokenFormat {
        self.format
    }

    /// `sub`: the user, or for client-credentials tokens the client's service
    /// account; empty for a userless company token (see [`Self::company`]).
    pub fn subject(&self) -> &str {
        self.get(self.subject)
    }

    /// The client the token was issued to (`client_id`, also `azp`).
    pub fn client_id(&self) -> &str {
        self.get(self.client_id)
    }

    /// The space-separated scopes (`scope`).
    pub fn scope(&self) -> &str {
        self.get(self.scope)
    }

    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope().split(' ').filter(|scope| !scope.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    /// Realm roles (`realm_access.roles`).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|span| self.get(*span))
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|granted| granted == role)
    }

    /// The session (`sid`); `None` for tokens without one (client credentials).
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.map(|span| self.get(span))
    }

    /// The token's own id (`jti`).
    pub fn token_id(&self) -> Option<&str> {
        self.token_id.map(|span| self.get(span))
    }

    /// `preferred_username`.
    pub fn username(&self) -> Option<&str> {
        self.username.map(|span| self.get(span))
    }

    /// `exp` as a NumericDate (seconds since the epoch); `None` for an opaque
    /// token that does not expire.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    /// A token profile's id, as its owner chose it (`token_id` of the
    /// introspection answer); `None` for other tokens.
    pub fn profile_token_id(&self) -> Option<&str> {
        self.profile.map(|(token_id, _)| self.get(token_id))
    }

    /// A token profile's name.
    pub fn profile_name(&self) -> Option<&str> {
        self.profile.map(|(_, name)| self.get(name))
    }

    /// For a company token: its company, subscription, id, name and user.
    pub fn company(&self) -> Option<CompanyToken<'_>> {
        self.company.map(|spans| {
            let user = |span| (!spans.userless).then(|| self.get(span));
            CompanyToken {
                company_id: self.get(spans.company_id),
                subscription_id: self.get(spans.subscription_id),
                token_id: self.get(spans.token_id),
                name: self.get(spans.name),
                user_id: user(self.subject),
                username: self.username.and_then(user),
            }
        })
    }

    /// The token's permissions (`authorization_details`); none for tokens that
    /// carry no permissions, such as user sessions' access tokens.
    pub fn permissions(&self) -> &Permissions {
        static NONE: Permissions = Permissions::none();
        self.permissions.as_deref().unwrap_or(&NONE)
    }

    /// Whether the token may do `action` on the resource `resource` of
    /// `resource_type`: deny by default.
    pub fn permits(&self, resource_type: &str, resource: &str, action: &str) -> bool {
        self.permissions().permits(resource_type, resource, action)
    }

    fn get(&self, (start, end): Span) -> &str {
        self.text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    pub(crate) fn from_jwt(claims: &WireClaims<'_>) -> Self {
        let mut builder = Builder::with_capacity(
            claims.sub.len()
                + claims.client_id.len()
                + claims.scope.len()
                + claims.jti.len()
                + claims.sid.as_ref().map_or(0, |sid| sid.len())
                + claims
                    .preferred_username
                    .as_ref()
                    .map_or(0, |name| name.len())
                + claims
                    .realm_access
                    .roles
                    .iter()
                    .map(|role| role.len())
                    .sum::<usize>(),
        );
        Self {
            format: TokenFormat::Jwt,
            expires_at: Some(claims.exp),
            subject: builder.push(&claims.sub),
            client_id: builder.push(&claims.client_id),
            scope: builder.push(&claims.scope),
            session_id: claims.sid.as_deref().map(|sid| builder.push(sid)),
            token_id: Some(builder.push(&claims.jti)),
            username: claims
                .preferred_username
                .as_deref()
                .map(|name| builder.push(name)),
            roles: claims
                .realm_access
                .roles
                .iter()
                .map(|role| builder.push(role))
                .collect(),
            profile: None,
            company: None,
            permissions: None,
            text: builder.text,
        }
    }

    /// `None` unless the answer is active and names a subject (or, for a
    /// userless company token, a company and a subscription).
    pub(crate) fn from_introspection(answer: &IntrospectionResponse) -> Option<Self> {
        if !answer.active {
            return None;
        }
        let company = answer
            .company_id
            .as_deref()
            .zip(answer.subscription_id.as_deref());
        let subject = match (answer.sub.as_deref(), company) {
            (Some(subject), _) => subject,
            // A userless company token: no one is behind it.
            (None, Some(_)) => "",
            (None, None) => return None,
        };
        let mut builder = Builder::with_capacity(0);
        let subject = builder.push(subject);
        let token_id = answer.token_id.as_deref().unwrap_or_default();
        let name = answer.name.as_deref().unwrap_or_default();
        let company = company.map(|(company_id, subscription_id)| CompanySpans {
            company_id: builder.push(company_id),
            subscription_id: builder.push(subscription_id),
            token_id: builder.push(token_id),
            name: builder.push(name),
            userless: answer.sub.is_none(),
        });
        let profile = match (company, answer.token_id.as_deref()) {
            (None, Some(token_id)) => Some((builder.push(token_id), builder.push(name))),
            _ => None,
        };
        Some(Self {
            format: TokenFormat::Opaque,
            expires_at: answer.exp,
            subject,
            client_id: builder.push(answer.client_id.as_deref().unwrap_or_default()),
            scope: builder.push(answer.scope.as_deref().unwrap_or_default()),
            session_id: answer.sid.as_deref().map(|sid| builder.push(sid)),
            token_id: answer.jti.as_deref().map(|jti| builder.push(jti)),
            username: answer
                .preferred_username
                .as_deref()
                .or(answer.username.as_deref())
                .map(|name| builder.push(name)),
            roles: answer
                .realm_access
                .iter()
                .flat_map(|access| &access.roles)
                .map(|role| builder.push(role))
                .collect(),
            profile,
            company,
            permissions: permissions_of(answer).map(Arc::new),
            text: builder.text,
        })
    }
}

/// The answer's grants. One this library cannot read (a kind added later)
/// grants nothing: evaluation stays deny by default.
fn permissions_of(answer: &IntrospectionResponse) -> Option<Permissions> {
    let details = answer.authorization_details.as_ref()?;
    let mut permissions = Permissions::none();
    for detail in details {
        if let Ok(grant) = Grant::from_detail(detail) {
            permissions.add(grant);
        }
    }
    Some(permissions)
}

struct Builder {
    text: String,
}

impl Builder {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
        }
    }

    /// Claims come from a token of at most 8 KiB, so offsets always fit in u32.
    fn push(&mut self, value: &str) -> Span {
        let start = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.text.push_str(value);
        let end = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        (start, end)
    }
}
