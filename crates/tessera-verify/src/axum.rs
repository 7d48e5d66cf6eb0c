//! axum integration: the [`Authenticated`] extractor, the [`RequireBearerLayer`]
//! and [`RequireEndpointTokenLayer`] tower layers, and scope, role, permission and custom requirements. Failures are
//! answered as RFC 6750 §3 says: 401 with `WWW-Authenticate: Bearer
//! error="invalid_token"`, 403 with `error="insufficient_scope"`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRef, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_proto::{OAuthError, OAuthErrorCode};

use crate::{VerifiedToken, Verifier, VerifyError};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No bearer token at all (RFC 6750 §3.1: the challenge carries no error code).
    MissingToken,
    /// The token was refused; [`VerifyError::Unavailable`] becomes a 503.
    InvalidToken(VerifyError),
    /// The token lacks this scope (403 `insufficient_scope`).
    InsufficientScope(String),
    /// The token lacks a role or a permission check refused it (403).
    Forbidden(String),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingToken => f.write_str("missing bearer token"),
            Self::InvalidToken(error) => error.fmt(f),
            Self::InsufficientScope(scope) => write!(f, "scope {scope} required"),
            Self::Forbidden(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for AuthError {}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let description = self.to_string();
        let (status, code, challenge) = match &self {
            Self::MissingToken => (
                StatusCode::UNAUTHORIZED,
                OAuthErrorCode::InvalidRequest,
                "Bearer".to_owned(),
            ),
            Self::InvalidToken(VerifyError::Unavailable(_)) => {
                let body = OAuthError::new(
                    OAuthErrorCode::TemporarilyUnavailable,
                    "the token could not be checked; try again",
                );
                return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            }
            Self::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                OAuthErrorCode::InvalidToken,
                format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                OAuthErrorCode::InsufficientScope,
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            ),
            Self::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                OAuthErrorCode::InsufficientScope,
                format!("Bearer error=\"insufficient_scope\", error_description=\"{description}\""),
            ),
        };
        let mut response = (status, Json(OAuthError::new(code, description))).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// A custom authorization decision over a verified token and the request, for
/// rules beyond scopes and roles (permission profiles, per-resource ownership).
pub trait PermissionCheck: Send + Sync + 'static {
    fn check(&self, token: &VerifiedToken, request: &Parts) -> Result<(), AuthError>;
}

impl<F> PermissionCheck for F
where
    F: Fn(&VerifiedToken, &Parts) -> Result<(), AuthError> + Send + Sync + 'static,
{
    fn check(&self, token: &VerifiedToken, request: &Parts) -> Result<(), AuthError> {
        self(token, request)
    }
}

/// Which resource a route's required permission concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// At least one resource of the type: for routes that list what the token
    /// may see.
    Any,
    /// The resource whose id is this path parameter of the route (add the layer
    /// with `Router::route_layer`, so that the route's parameters are known).
    PathParam(String),
    /// This resource.
    Fixed(String),
}

/// One condition a [`RequireBearerLayer`] enforces after verification.
#[derive(Clone)]
enum Requirement {
    Scope(String),
    Role(String),
    Permission {
        resource_type: String,
        action: String,
        resource: Resource,
    },
    Check(Arc<dyn PermissionCheck>),
}

impl Requirement {
    fn check(
        &self,
        token: &VerifiedToken,
        request: &Parts,
        path: Option<&RawPathParams>,
    ) -> Result<(), AuthError> {
        match self {
            Self::Scope(scope) => require_scope(token, scope),
            Self::Role(role) => require_role(token, role),
            Self::Permission {
                resource_type,
                action,
                resource,
            } => {
                let permitted = match resource {
                    Resource::Any => token.permissions().permits_some(resource_type, action),
                    Resource::Fixed(id) => token.permits(resource_type, id, action),
                    Resource::PathParam(name) => path
                        .and_then(|params| {
                            params
                                .iter()
                                .find(|(param, _)| param == name)
                                .map(|(_, id)| id)
                        })
                        .is_some_and(|id| token.permits(resource_type, id, action)),
                };
                if permitted {
                    Ok(())
                } else {
                    Err(permission_required(resource_type, action))
                }
            }
            Self::Check(check) => check.check(token, request),
        }
    }
}

fn permission_required(resource_type: &str, action: &str) -> AuthError {
    AuthError::Forbidden(format!("permission {resource_type}:{action} required"))
}

/// Refuses the token unless it may do `action` on `resource` of `resource_type`.
pub fn require_permission(
    token: &VerifiedToken,
    resource_type: &str,
    resource: &str,
    action: &str,
) -> Result<(), AuthError> {
    if token.permits(resource_type, resource, action) {
        Ok(())
    } else {
        Err(permission_required(resource_type, action))
    }
}

/// Refuses the token unless it carries `scope`.
pub fn require_scope(token: &VerifiedToken, scope: &str) -> Result<(), AuthError> {
    if token.has_scope(scope) {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope(scope.to_owned()))
    }
}

/// Refuses the token unless its user has the realm role `role`.
pub fn require_role(token: &VerifiedToken, role: &str) -> Result<(), AuthError> {
    if token.has_role(role) {
        Ok(())
    } else {
        Err(AuthError::Forbidden(format!("role {role} required")))
    }
}

/// The bearer token of a request (RFC 6750 §2.1); the scheme is case-insensitive.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn authenticate(verifier: &Verifier, parts: &Parts) -> Result<VerifiedToken, AuthError> {
    let token = bearer_token(parts).ok_or(AuthError::MissingToken)?;
    verifier
        .verify(token)
        .await
        .map_err(AuthError::InvalidToken)
}

/// Extracts the verified token of the request: the one a [`RequireBearerLayer`]
/// already verified, or else verifies the bearer token with the state's
/// [`Verifier`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub VerifiedToken);

impl Authenticated {
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthError> {
        require_scope(&self.0, scope)
    }

    pub fn require_role(&self, role: &str) -> Result<(), AuthError> {
        require_role(&self.0, role)
    }

    pub fn require_permission(
        &self,
        resource_type: &str,
        resource: &str,
        action: &str,
    ) -> Result<(), AuthError> {
        require_permission(&self.0, resource_type, resource, action)
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(token) = parts.extensions.get::<VerifiedToken>() {
            return Ok(Self(token.clone()));
        }
        let verifier = Verifier::from_ref(state);
        authenticate(&verifier, parts).await.map(Self)
    }
}

/// A tower layer that refuses requests without a valid bearer token (and those
/// failing its requirements) and hands the [`VerifiedToken`] to the handler as a
/// request extension (read it with [`Authenticated`]).
#[derive(Clone)]
pub struct RequireBearerLayer {
    verifier: Verifier,
    requirements: Arc<Vec<Requirement>>,
}

impl RequireBearerLayer {
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            requirements: Arc::new(Vec::new()),
        }
    }

    fn with(mut self, requirement: Requirement) -> Self {
        Arc::make_mut(&mut self.requirements).push(requirement);
        self
    }

    /// Also requires this scope (403 `insufficient_scope` otherwise).
    pub fn scope(self, scope: impl Into<String>) -> Self {
        self.with(Requirement::Scope(scope.into()))
    }

    /// Also requires this realm role (403 otherwise).
    pub fn role(self, role: impl Into<String>) -> Self {
        self.with(Requirement::Role(role.into()))
    }

    /// Also requires the permission to do `action` on `resource` of
    /// `resource_type` (403 otherwise), as a token profile's
    /// `authorization_details` grant it.
    pub fn permission(
        self,
        resource_type: impl Into<String>,
        action: impl Into<String>,
        resource: Resource,
    ) -> Self {
        self.with(Requirement::Permission {
            resource_type: resource_type.into(),
            action: action.into(),
            resource,
        })
    }

    /// Also runs a custom permission check.
    pub fn check(self, check: impl PermissionCheck) -> Self {
        self.with(Requirement::Check(Arc::new(check)))
    }
}

impl Gate for RequireBearerLayer {
    async fn admit(&self, parts: &mut Parts) -> Result<(), AuthError> {
        let needs_path = self.requirements.iter().any(|requirement| {
            matches!(
                requirement,
                Requirement::Permission {
                    resource: Resource::PathParam(_),
                    ..
                }
            )
        });
        let path = if needs_path {
            RawPathParams::from_request_parts(parts, &()).await.ok()
        } else {
            None
        };
        let token = authenticate(&self.verifier, parts).await?;
        self.requirements
            .iter()
            .try_for_each(|requirement| requirement.check(&token, parts, path.as_ref()))?;
        parts.extensions.insert(token);
        Ok(())
    }
}

/// A tower layer bound to one endpoint of an integration platform: it admits
/// a request only when the issuer's endpoint check allows its bearer token to
/// call the endpoint with the request's method, and hands the
/// [`EndpointCaller`](crate::EndpointCaller) to the handler as a request extension (read it with
/// `axum::Extension<EndpointCaller>`). A missing, malformed or unknown token
/// is a 401; a token the check refuses for this call (disabled, inactive,
/// unassigned, another method) a 403.
#[derive(Clone)]
pub struct RequireEndpointTokenLayer {
    verifier: Verifier,
    endpoint: Arc<str>,
}

impl RequireEndpointTokenLayer {
    /// Guards the endpoint whose id is `endpoint`.
    pub fn new(verifier: Verifier, endpoint: impl Into<String>) -> Self {
        Self {
            verifier,
            endpoint: Arc::from(endpoint.into()),
        }
    }
}

impl Gate for RequireEndpointTokenLayer {
    async fn admit(&self, parts: &mut Parts) -> Result<(), AuthError> {
        let token = bearer_token(parts).ok_or(AuthError::MissingToken)?;
        let checked = self
            .verifier
            .check_endpoint_call(&self.endpoint, parts.method.as_str(), token)
            .await;
        match checked {
            Ok(caller) => {
                if let Some(caller) = caller {
                    parts.extensions.insert(caller);
                }
                Ok(())
            }
            Err(VerifyError::CallRefused(reason))
                if reason != "malformed_token" && reason != "unknown_token" =>
            {
                Err(AuthError::Forbidden(format!(
                    "the endpoint check refused the call: {reason}"
                )))
            }
            Err(error) => Err(AuthError::InvalidToken(error)),
        }
    }
}

/// What a guarding layer decides before the service it wraps runs: admit the
/// request (adding what it learned to the request's extensions) or refuse it.
pub trait Gate: Clone + Send + Sync + 'static {
    fn admit(&self, parts: &mut Parts) -> impl Future<Output = Result<(), AuthError>> + Send;
}

macro_rules! guard_layer {
    ($($layer:ty),+) => {
        $(impl<S> tower::Layer<S> for $layer {
            type Service = Guarded<S, $layer>;

            fn layer(&self, inner: S) -> Self::Service {
                Guarded {
                    inner,
                    gate: self.clone(),
                }
            }
        })+
    };
}

guard_layer!(RequireBearerLayer, RequireEndpointTokenLayer);

/// The service a guarding layer ([`RequireBearerLayer`],
/// [`RequireEndpointTokenLayer`]) wraps around a router or handler.
#[derive(Clone)]
pub struct Guarded<S, G> {
    inner: S,
    gate: G,
}

/// The service [`RequireBearerLayer`] wraps around a router or handler.
pub type RequireBearer<S> = Guarded<S, RequireBearerLayer>;

impl<S, G> tower::Service<Request> for Guarded<S, G>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    G: Gate,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready is the one that serves the request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match gate.admit(&mut parts).await {
                Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                Err(error) => Ok(error.into_response()),
            }
        })
    }
}
