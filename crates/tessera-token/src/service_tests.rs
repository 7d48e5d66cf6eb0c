//! The grant, rotation and personal-token rules, tested on the services
//! themselves: no HTTP, a real store on SQLite, or on a fresh PostgreSQL
//! database when `TESSERA_TEST_POSTGRES_URL` is set (as `.ci/run`'s second pass
//! does), so both backends are covered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Connection;
use tessera_keys::{MasterKey, SigningAlgorithm};
use tessera_proto::SecretString;
use tessera_store::{PersonalTokenId, PersonalTokenKind, Store, TokenSelection};

use crate::{
    Actor, BruteForceSettings, Client, ClientCredentials, CompanyId, CompanyTokenId,
    CompanyTokenRequest, CreatedSecret, GrantType, NewUserRequest, Page, PasswordHasher,
    PersonalTokenRequest, PersonalTokenSettings, Principal, Realm, Services, SubscriptionId,
    SubscriptionRequest, TokenError, TokenRequest, TokenSettings, UserFilter, UserId,
};

const REALM: &str = "r";
/// A second realm beside it, with the same clients and settings.
const OTHER_REALM: &str = "elsewhere";
const USER: &str = "alice";
const PASSWORD: &str = "alice-password-1";
const DAY: Duration = Duration::from_secs(86_400);

static DATABASES: AtomicUsize = AtomicUsize::new(0);

fn settings() -> TokenSettings {
    TokenSettings {
        access_token_lifetime: Duration::from_secs(300),
        session_idle: DAY,
        session_max: DAY,
        offline_idle: None,
        refresh_rotation: true,
    }
}

fn client(id: &str, grants: &[GrantType]) -> Client {
    Client {
        client_id: id.to_owned(),
        secret_digest: None,
        grants: grants.to_vec(),
        allowed_scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
        default_scopes: Vec::new(),
        audience: Vec::new(),
        allows_personal_tokens: false,
        account_audience: false,
        management: false,
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        post_logout_redirect_uris: Vec::new(),
        tokens: settings(),
    }
}

const REDIRECT_URI: &str = "http://app.test/callback";

fn realm(master_key: &MasterKey, reuse_grace: Duration) -> Realm {
    let mut api = client("api", &[GrantType::ClientCredentials]);
    api.secret_digest = Some(master_key.digester().digest("api-secret-0123456789"));
    let mut addon = client("addon", &[GrantType::RefreshToken]);
    addon.allows_personal_tokens = true;
    let clients = [
        client("app", &[GrantType::Password, GrantType::RefreshToken]),
        client(
            "web",
            &[
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::DeviceCode,
            ],
        ),
        api,
        addon,
    ];
    Realm {
        name: REALM.to_owned(),
        display_name: "Test realm".to_owned(),
        device_flow: crate::DeviceFlowSettings {
            code_lifetime: Duration::from_secs(600),
            interval: Duration::from_secs(5),
        },
        issuer: format!("http://tessera.test/realms/{REALM}"),
        tokens: settings(),
        reuse_grace,
        algorithm: SigningAlgorithm::Es256,
        key_rotation_period: 30 * DAY,
        brute_force: BruteForceSettings {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        },
        personal_tokens: PersonalTokenSettings {
            max_per_user: 2,
            expose_audience: vec!["api".to_owned()],
            default_lifetime: DAY,
            max_lifetime: 30 * DAY,
        },
        recoverable_endpoint_tokens: false,
        company_tokens: crate::CompanyTokenSettings {
            max_per_user: 2,
            max_per_subscription: 3,
            default_lifetime: DAY,
            max_lifetime: 30 * DAY,
        },
        clients: clients
            .into_iter()
            .map(|client| (client.client_id.clone(), client))
            .collect::<HashMap<_, _>>(),
        roles: vec!["user".to_owned(), crate::ADMIN_ROLE.to_owned()],
        catalog: tessera_authz::Catalog::builtin(),
        role_permissions: HashMap::new(),
    }
}

/// The database URL of a fresh, empty database on the backend under test.
async fn fresh_database() -> String {
    let n = DATABASES.fetch_add(1, Ordering::SeqCst);
    let name = format!("tessera_t_svc_{}_{n}", std::process::id());
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
            format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0)
        }
        _ => {
            let dir = std::env::temp_dir().join(&name);
            let _ = std::fs::remove_dir_all(&dir);
            format!("sqlite:{}/t.db", dir.display())
        }
    }
}

/// Services over a fresh database with realm `r` and the user alice. Cheap
/// argon2 parameters: these tests are about rules, not hashing cost.
async fn services(reuse_grace: Duration) -> Services {
    let store = Store::connect(&fresh_database().await, 4).await.unwrap();
    store.migrate().await.unwrap();
    let master_key = MasterKey::generate().unwrap();
    let hasher = PasswordHasher::new((64, 1, 1), 8, master_key.password_pepper()).unwrap();
    let other = Realm {
        name: OTHER_REALM.to_owned(),
        issuer: format!("http://tessera.test/realms/{OTHER_REALM}"),
        ..realm(&master_key, reuse_grace)
    };
    let services = Services::start(
        store,
        &master_key,
        vec![realm(&master_key, reuse_grace), other],
        hasher,
    )
    .await
    .unwrap();
    let created = services
        .users
        .add_user_if_absent(NewUserRequest {
            realm: REALM.to_owned(),
            username: USER.to_owned(),
            email: None,
            password: SecretString::new(PASSWORD),
            enabled: true,
            valid_until: None,
            roles: Vec::new(),
        })
        .await
        .unwrap();
    assert!(created);
    services
}

fn public(client_id: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: client_id.to_owned(),
        secret: None,
    }
}

async fn login(services: &Services) -> String {
    let request = TokenRequest::Password {
        username: Some(USER),
        password: Some(SecretString::new(PASSWORD)),
        scope: None,
    };
    let response = services
        .oauth
        .token(REALM, &public("app"), request)
        .await
        .unwrap();
    response.refresh_token.unwrap()
}

async fn refresh(services: &Services, token: &str) -> Result<String, TokenError> {
    let request = TokenRequest::RefreshToken {
        refresh_token: Some(token),
        scope: None,
        address: None,
    };
    let response = services.oauth.token(REALM, &public("app"), request).await?;
    Ok(response.refresh_token.unwrap_or_default())
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials_and_a_grant_the_client_lacks_is_refused() {
    let services = services(Duration::ZERO).await;
    let wrong = TokenRequest::Password {
        username: Some(USER),
        password: Some(SecretString::new("not-the-password")),
        scope: None,
    };
    let error = services.oauth.token(REALM, &public("app"), wrong).await;
    assert!(
        matches!(error, Err(TokenError::InvalidUserCredentials)),
        "{error:?}"
    );

    let not_allowed = TokenRequest::ClientCredentials { scope: None };
    let error = services
        .oauth
        .token(REALM, &public("app"), not_allowed)
        .await;
    assert!(
        matches!(error, Err(TokenError::UnauthorizedClient(_))),
        "{error:?}"
    );

    let wrong_secret = ClientCredentials {
        client_id: "api".to_owned(),
        secret: Some(SecretString::new("not-the-secret-at-all")),
    };
    let error = services
        .oauth
        .token(
            REALM,
            &wrong_secret,
            TokenRequest::ClientCredentials { scope: None },
        )
        .await;
    assert!(
        matches!(error, Err(TokenError::ClientAuthenticationFailed)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_revokes_the_family() {
    let services = services(Duration::ZERO).await;
    let first = login(&services).await;
    let second = refresh(&services, &first).await.unwrap();
    // No grace window: presenting the consumed token is reuse (RFC 9700 §4.14.2).
    let reuse = refresh(&services, &first).await;
    assert!(
        matches!(reuse, Err(TokenError::InvalidGrant(_))),
        "{reuse:?}"
    );
    // The whole family died with it, the legitimate successor included.
    let successor = refresh(&services, &second).await;
    assert!(
        matches!(successor, Err(TokenError::InvalidGrant(_))),
        "{successor:?}"
    );
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_replaces_the_successor_instead_of_adding_one() {
    let services = services(Duration::from_secs(60)).await;
    let first = login(&services).await;
    let second = refresh(&services, &first).await.unwrap();
    let replayed = refresh(&services, &first).await.unwrap();
    assert_ne!(second, replayed);
    // The earlier successor was superseded: presenting it is reuse, and the
    // family (the replay's token included) is revoked.
    let superseded = refresh(&services, &second).await;
    assert!(
        matches!(superseded, Err(TokenError::InvalidGrant(_))),
        "{superseded:?}"
    );
    let after = refresh(&services, &replayed).await;
    assert!(
        matches!(after, Err(TokenError::InvalidGrant(_))),
        "{after:?}"
    );
}

fn request(kind: PersonalTokenKind) -> PersonalTokenRequest {
    PersonalTokenRequest {
        kind,
        name: "laptop".to_owned(),
        description: None,
        password: None,
        lifetime: None,
        expires_at: None,
        audience: None,
        client_id: None,
        offline: false,
    }
}

#[tokio::test]
async fn personal_token_requests_follow_the_rules_of_their_kind_and_the_realms_limit() {
    let services = services(Duration::ZERO).await;
    let tokens = &services.personal_tokens;
    let operator = Actor::Operator { username: USER };

    let mut expose_with_client = request(PersonalTokenKind::Expose);
    expose_with_client.client_id = Some("addon".to_owned());
    let mut client_with_lifetime = request(PersonalTokenKind::Client);
    client_with_lifetime.client_id = Some("addon".to_owned());
    client_with_lifetime.lifetime = Some(DAY);
    let client_without_client = request(PersonalTokenKind::Client);
    let mut client_of_a_plain_client = request(PersonalTokenKind::Client);
    client_of_a_plain_client.client_id = Some("app".to_owned());
    for bad in [
        expose_with_client,
        client_with_lifetime,
        client_without_client,
        client_of_a_plain_client,
    ] {
        let refused = tokens
            .create_personal_token(REALM, operator, bad.clone(), None)
            .await;
        assert!(
            matches!(refused, Err(TokenError::InvalidRequest(_))),
            "{bad:?}: {refused:?}"
        );
    }
    assert!(tokens
        .list_personal_tokens(REALM, operator)
        .await
        .unwrap()
        .is_empty());

    let (expose, secret) = tokens
        .create_personal_token(REALM, operator, request(PersonalTokenKind::Expose), None)
        .await
        .unwrap();
    assert!(matches!(secret, CreatedSecret::Expose(_)));
    let mut client_token = request(PersonalTokenKind::Client);
    client_token.client_id = Some("addon".to_owned());
    let (_, secret) = tokens
        .create_personal_token(REALM, operator, client_token, None)
        .await
        .unwrap();
    let CreatedSecret::Client(response) = secret else {
        panic!("a client token answers with a token response");
    };
    // The add-on refreshes its session itself, and only it can.
    let refresh_token = response.refresh_token.unwrap();
    let as_addon = TokenRequest::RefreshToken {
        refresh_token: Some(&refresh_token),
        scope: None,
        address: None,
    };
    let refused = services.oauth.token(REALM, &public("app"), as_addon).await;
    assert!(refused.is_err(), "{refused:?}");

    let over_limit = tokens
        .create_personal_token(REALM, operator, request(PersonalTokenKind::Expose), None)
        .await;
    assert!(
        matches!(over_limit, Err(TokenError::TokenLimitReached)),
        "{over_limit:?}"
    );

    let unknown = tokens
        .delete_personal_tokens(
            REALM,
            operator,
            TokenSelection::One(&PersonalTokenId::new("no-such-token")),
            None,
        )
        .await;
    assert!(
        matches!(unknown, Err(TokenError::TokenNotFound)),
        "{unknown:?}"
    );
    let deleted = tokens
        .delete_personal_tokens(REALM, operator, TokenSelection::One(&expose.id), None)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let rest = tokens
        .delete_personal_tokens(REALM, operator, TokenSelection::All, None)
        .await
        .unwrap();
    assert_eq!(rest, 1);
}

#[tokio::test]
async fn an_opaque_token_is_found_only_in_its_own_realm() {
    let services = services(Duration::ZERO).await;
    let operator = Actor::Operator { username: USER };
    let (_, secret) = services
        .personal_tokens
        .create_personal_token(REALM, operator, request(PersonalTokenKind::Expose), None)
        .await
        .unwrap();
    let CreatedSecret::Expose(expose) = secret else {
        panic!("an expose token answers with its secret");
    };
    let company_token = userless_company_token(&services).await;
    // Both realms have the confidential client `api`, the audience of both
    // tokens.
    let api = ClientCredentials {
        client_id: "api".to_owned(),
        secret: Some(SecretString::new("api-secret-0123456789")),
    };
    let oauth = &services.oauth;
    for token in [expose.expose(), company_token.expose()] {
        let here = oauth.introspect(REALM, &api, Some(token), None).await;
        assert!(here.unwrap().active, "{REALM}");
        let there = oauth.introspect(OTHER_REALM, &api, Some(token), None).await;
        assert!(!there.unwrap().active, "{OTHER_REALM}");
    }
}

#[tokio::test]
async fn an_unknown_realm_is_not_found_before_anything_else_is_checked() {
    let services = services(Duration::ZERO).await;
    let operator = Principal::operator();
    let (company, subscription) = (CompanyId::new("none"), SubscriptionId::new("none"));
    let read = services
        .subscriptions
        .subscription("nowhere", &operator, (&company, &subscription))
        .await;
    assert!(matches!(read, Err(TokenError::RealmNotFound)), "{read:?}");
    // Before the name is checked, too.
    let renamed = services
        .companies
        .rename_company("nowhere", &operator, &company, (String::new(), None))
        .await;
    assert!(
        matches!(renamed, Err(TokenError::RealmNotFound)),
        "{renamed:?}"
    );
    // Before the roles are checked.
    let member = services
        .companies
        .put_member(
            "nowhere",
            &operator,
            (&company, &UserId::new("none")),
            (vec!["not a role".to_owned()], None),
        )
        .await;
    assert!(
        matches!(member, Err(TokenError::RealmNotFound)),
        "{member:?}"
    );
    // Before the token's new name is checked.
    let token = services
        .subscriptions
        .rename_company_token(
            "nowhere",
            &operator,
            (&company, &subscription, &CompanyTokenId::new("none")),
            (String::new(), None),
        )
        .await;
    assert!(matches!(token, Err(TokenError::RealmNotFound)), "{token:?}");
}

#[tokio::test]
async fn an_unknown_realm_is_not_found_before_the_callers_permissions_are_checked() {
    let services = services(Duration::ZERO).await;
    let powerless = Principal::powerless();
    // The same caller is refused in a realm that exists: the order is what
    // the unknown realm shows.
    let here = services
        .companies
        .list_companies(REALM, &powerless, Page::starting(10))
        .await;
    assert!(matches!(here, Err(TokenError::Forbidden(_))), "{here:?}");
    let page = Page::starting(10);
    let answers = [
        services
            .companies
            .create_company("nowhere", &powerless, "Acme".to_owned(), None)
            .await
            .map(drop),
        services
            .companies
            .list_companies("nowhere", &powerless, page)
            .await
            .map(drop),
        services
            .subscriptions
            .create_subscription(
                "nowhere",
                &powerless,
                &CompanyId::new("none"),
                (orders_for_api(), None),
            )
            .await
            .map(drop),
        services
            .endpoints
            .list_endpoints("nowhere", &powerless, page)
            .await
            .map(drop),
        services
            .endpoint_tokens
            .list_endpoint_tokens("nowhere", &powerless, true, page)
            .await
            .map(drop),
        services
            .users
            .find_users("nowhere", &powerless, &UserFilter::default(), page)
            .await
            .map(drop),
        services
            .users
            .count_users("nowhere", &powerless, &UserFilter::default())
            .await
            .map(drop),
    ];
    for (call, answer) in answers.iter().enumerate() {
        assert!(
            matches!(answer, Err(TokenError::RealmNotFound)),
            "call {call}: {answer:?}"
        );
    }
}

/// A subscription named `orders` to the client `api`, enabled, with no
/// permissions and no validity window.
fn orders_for_api() -> SubscriptionRequest {
    SubscriptionRequest {
        name: "orders".to_owned(),
        audience: "api".to_owned(),
        permissions: Vec::new(),
        valid_from: None,
        valid_until: None,
        enabled: true,
    }
}

/// A userless token of a new company's subscription for `api`, by an operator.
async fn userless_company_token(services: &Services) -> SecretString {
    let operator = Principal::operator();
    let company = services
        .companies
        .create_company(REALM, &operator, "Acme".to_owned(), None)
        .await
        .unwrap();
    let subscription = orders_for_api();
    let subscription = services
        .subscriptions
        .create_subscription(REALM, &operator, &company.id, (subscription, None))
        .await
        .unwrap();
    let request = CompanyTokenRequest {
        user: None,
        name: "ci".to_owned(),
        lifetime: None,
    };
    services
        .subscriptions
        .create_company_token(
            REALM,
            &operator,
            (&company.id, &subscription.id),
            (request, None),
        )
        .await
        .unwrap()
        .secret
}
