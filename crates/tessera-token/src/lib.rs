//! Token issuing for Tessera, independent of HTTP.
//!
//! [`Services`] holds one service per reason to change, over one shared core
//! (store, digester, sealer, hasher, realms): [`OAuthService`] (the grants
//! `authorization_code`, `password`, `refresh_token`, `client_credentials` and
//! the device code's, refresh rotation with reuse detection per RFC 9700 §4.14.2, introspection per RFC 7662, revocation per
//! RFC 7009, logout, userinfo, the revocation feed), [`PersonalTokenService`],
//! [`TokenProfileService`] (token profiles and the management API's callers,
//! [`Principal`]), [`SignInService`] (browser and device sign-in), [`KeyService`], [`UserService`] and [`MaintenanceService`]. Handlers parse
//! requests into plain arguments and call them; every rule lives here so it can
//! be tested without a server.

mod authorization;
mod code_exchange;
mod companies;
mod company_access;
mod company_tokens;
mod device;
mod endpoint_tokens;
mod endpoints;
mod error;
#[cfg(test)]
mod fuzz;
mod grants;
mod ids;
mod input;
mod introspection;
mod keys;
mod login;
mod password;
mod personal_token_request;
mod personal_tokens;
mod principal;
mod profiles;
mod realm;
mod retention;
mod revocation;
mod service;
#[cfg(test)]
mod service_tests;
mod session_start;
mod sessions;
mod sign_in;
mod subscriptions;
mod usage;
mod user_admin;
mod users;

pub use authorization::{
    AuthorizationParams, AuthorizationRefusal, AuthorizationRequest, ClientRedirect, Prompt,
};
pub use companies::MAX_COMPANY_PAGE;
pub use company_access::COMPANY_ADMIN_ROLE;
pub use company_tokens::{
    CompanyTokenFilter, CompanyTokenRequest, CompanyTokenSelection, GeneratedCompanyToken,
    MAX_COMPANY_TOKEN_PAGE,
};
pub use device::PendingDevice;
pub use endpoint_tokens::{AllowedCaller, CallToCheck, CheckAnswer};
pub use endpoints::{EndpointRequest, GeneratedPrimaryToken, MAX_ENDPOINT_PAGE};
pub use error::TokenError;
pub use grants::TokenRequest;
pub use ids::{new_opaque_token, new_secondary_endpoint_token, new_uuid};
pub use introspection::profile_permissions;
pub use keys::{CurrentKeys, RealmKeys};
pub use password::{
    default_hashing_queue, is_argon2_phc, HashingPermit, PasswordHasher, StoredPassword,
    DEFAULT_ARGON2_PARAMS, MAX_PASSWORD_BYTES,
};
pub use personal_token_request::PersonalTokenRequest;
pub use personal_tokens::{Actor, CreatedSecret, EventPage, TokenEventPage};
pub use principal::{Principal, PrincipalKind};
pub use profiles::{TokenProfileChanges, TokenProfileRequest, MAX_PROFILES_PER_DELETE};
pub use realm::{
    BruteForceSettings, Client, CompanyTokenSettings, DeviceFlowSettings, GrantType,
    PersonalTokenSettings, Realm, TokenSettings, ADMIN_ROLE,
};
pub use revocation::FEED_LEEWAY;
pub use service::{
    ClientCredentials, CompanyService, EndpointService, EndpointTokenService, KeyService,
    MaintenanceService, OAuthService, PersonalTokenService, RealmState, Services, SignInService,
    SubscriptionService, TokenProfileService, UserService,
};
pub use sessions::UserInfo;
pub use sign_in::{
    AuthorizationResponse, AuthorizationStep, LogoutParams, LogoutRequest, SignInOutcome, SignedIn,
    AUTHORIZATION_CODE_LIFETIME,
};
pub use subscriptions::{
    subscription_permissions, AssignmentChange, SubscriptionEdit, SubscriptionRequest,
};
/// Every moment the services take or answer with (lifetimes are `Duration`s).
pub use tessera_store::Timestamp;
/// Records the services answer with, as the store reads them.
pub use tessera_store::{
    AuditActor, BrowserSession, CallOutcome, CallerSummary, Company, CompanyEvent,
    CompanyEventKind, CompanyId, CompanyToken, CompanyTokenHolder, CompanyTokenId, DeviceDecision,
    Endpoint, EndpointAuthentication, EndpointCallRecord, EndpointChanges, EndpointId,
    EndpointMethod, EndpointToken, EndpointTokenChanges, EndpointTokenId, EndpointTokenKind,
    EventOutcome, Member, Page, PersonalToken, PersonalTokenId, PersonalTokenKind, PrimaryToken,
    PrimaryTokenId, PurgeReport, SessionId, Subscription, SubscriptionId, TokenEvent,
    TokenEventKind, TokenSelection, TokenUsage, Tracked, UseOutcome, User, UserChanges, UserFilter,
    UserId,
};
pub use user_admin::{RoleMappingChange, UserRequest, MAX_USERS_PER_PAGE};
pub use users::NewUserRequest;

pub const OPENID: &str = "openid";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The audience the account API requires of access tokens (as Keycloak's does).
pub const ACCOUNT_AUDIENCE: &str = "account";
