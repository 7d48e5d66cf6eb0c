//! Every error case of the token endpoint, with its status and body.

use std::time::Duration;

use crate::kit::{assert_error, str_field, Env, RealmOptions, API_SECRET, PASSWORD, USER};

pub fn password_form<'a>(
    client: &'a str,
    username: &'a str,
    password: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", client),
        ("username", username),
        ("password", password),
    ]
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_indistinguishable() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let wrong = server.token(&password_form("app", USER, "wrong")).await;
    let after_wrong = password_verifications(&server).await;
    let unknown = server
        .token(&password_form("app", "nobody-at-all", "wrong"))
        .await;
    let after_unknown = password_verifications(&server).await;
    assert_error(&wrong, 401, "invalid_grant");
    assert_eq!(wrong.body["error_description"], "Invalid user credentials");
    assert_eq!(wrong.text, unknown.text);
    assert_eq!(wrong.status, unknown.status);
    // The unknown user cost one full argon2 verification too, so timing tells nothing.
    assert_eq!(after_unknown, after_wrong + 1);
    // And the same write: one attempts row each, keyed by a 32-byte digest (never
    // the username), with one failure counted (slots are given back off the
    // request path, so wait for both).
    let shapes = "SELECT CAST(failures AS TEXT) || '/' || CAST(in_flight AS TEXT) || '/' || \
                  CAST(LENGTH(subject) AS TEXT) FROM login_attempts ORDER BY 1";
    let mut rows = Vec::new();
    for _ in 0..40 {
        rows = env.query_strings(shapes).await;
        if rows.iter().filter(|row| row.starts_with("1/0/")).count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rows, ["1/0/32", "1/0/32"]);
}

/// The server's count of argon2 verifications, from its Prometheus metrics.
pub async fn password_verifications(server: &crate::kit::Server) -> u64 {
    let metrics = server.metrics().await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("tessera_password_verifications_total "))
        .unwrap_or_else(|| panic!("no verification counter in {metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn disabled_and_expired_users_are_told_only_after_the_password() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    for user in ["disabled", "expired"] {
        let right = server.token(&password_form("app", user, PASSWORD)).await;
        assert_error(&right, 400, "invalid_grant");
        assert_eq!(right.body["error_description"], "Account disabled");
        let wrong = server.token(&password_form("app", user, "wrong")).await;
        assert_error(&wrong, 401, "invalid_grant");
        assert_eq!(wrong.body["error_description"], "Invalid user credentials");
    }
}

#[tokio::test]
async fn disabling_a_user_revokes_their_sessions() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let online = server.login(USER, "").await;
    let offline = server.login(USER, "offline_access").await;
    let service = server.service();
    service
        .users
        .set_user_enabled(crate::kit::REALM, USER, false)
        .await
        .unwrap();
    for login in [&online, &offline] {
        assert_error(
            &server.refresh(str_field(login, "refresh_token")).await,
            400,
            "invalid_grant",
        );
        assert_eq!(
            server.introspect(str_field(login, "access_token")).await["active"],
            false
        );
    }
    // Re-enabling does not bring the revoked sessions back.
    service
        .users
        .set_user_enabled(crate::kit::REALM, USER, true)
        .await
        .unwrap();
    assert_error(
        &server.refresh(str_field(&offline, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    server.login(USER, "").await;
}

#[tokio::test]
async fn client_errors() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let unknown = server.token(&password_form("nope", USER, PASSWORD)).await;
    assert_error(&unknown, 401, "invalid_client");

    let wrong_secret = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            "not-the-secret-at-all",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_error(&wrong_secret, 401, "unauthorized_client");
    let no_secret = server
        .token(&[("grant_type", "client_credentials"), ("client_id", "api")])
        .await;
    assert_error(&no_secret, 401, "unauthorized_client");

    let grant_not_allowed = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            API_SECRET,
            &[
                ("grant_type", "password"),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_error(&grant_not_allowed, 400, "unauthorized_client");
    let refresh_not_allowed = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "no-offline"),
            ("refresh_token", "x"),
        ])
        .await;
    assert_error(&refresh_not_allowed, 400, "unauthorized_client");
    let public_client_credentials = server
        .token(&[("grant_type", "client_credentials"), ("client_id", "app")])
        .await;
    assert_error(&public_client_credentials, 400, "unauthorized_client");
    let no_client = server
        .token(&[
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASSWORD),
        ])
        .await;
    assert_error(&no_client, 401, "invalid_client");
    let two_methods = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            API_SECRET,
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", API_SECRET),
            ],
        )
        .await;
    assert_error(&two_methods, 400, "invalid_request");
}

#[tokio::test]
async fn request_errors() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let no_grant = server.token(&[("client_id", "app")]).await;
    assert_error(&no_grant, 400, "invalid_request");
    let unknown_grant = server
        .token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", "app"),
        ])
        .await;
    assert_error(&unknown_grant, 400, "unsupported_grant_type");
    let no_password = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", USER),
        ])
        .await;
    assert_error(&no_password, 400, "invalid_request");
    assert_eq!(
        no_password.body["error_description"],
        "Missing parameter: password"
    );
    let empty_password = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", USER),
            ("password", ""),
        ])
        .await;
    assert_error(&empty_password, 400, "invalid_request");
    let no_refresh = server
        .token(&[("grant_type", "refresh_token"), ("client_id", "app")])
        .await;
    assert_error(&no_refresh, 400, "invalid_request");
    let bad_scope = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", USER),
            ("password", PASSWORD),
            ("scope", "openid admin:everything"),
        ])
        .await;
    assert_error(&bad_scope, 400, "invalid_scope");
    let unknown_realm = server
        .http
        .post(server.url("/realms/no-such-realm/protocol/openid-connect/token"))
        .form(&password_form("app", USER, PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_realm.status(), 404);
    for path in [
        "/realms/no-such-realm",
        "/realms/no-such-realm/protocol/openid-connect/certs",
    ] {
        assert_eq!(server.get(path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn refresh_token_errors() {
    let env = Env::new(RealmOptions::tokens(r#"session_idle = "1s""#)).await;
    let server = env.start().await;
    let unknown = server
        .refresh("tsr_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000")
        .await;
    assert_error(&unknown, 400, "invalid_grant");
    let garbage = server.refresh("not-a-token").await;
    assert_error(&garbage, 400, "invalid_grant");

    let login = server.login(USER, "").await;
    let token = str_field(&login, "refresh_token");
    let other_client = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "other-app"),
            ("refresh_token", token),
        ])
        .await;
    assert_error(&other_client, 400, "invalid_grant");
    // A refused attempt by another client does not consume the token.
    let own = server.refresh(token).await;
    assert_eq!(own.status, 200, "{}", own.text);

    let next = str_field(&own.body, "refresh_token");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_error(&server.refresh(next).await, 400, "invalid_grant");
}

#[tokio::test]
async fn brute_force_locks_the_account_without_checking_the_password() {
    let options = RealmOptions {
        brute_force: "max_failures = 3\nwindow = \"1m\"\nlockout = \"2s\"".to_owned(),
        ..RealmOptions::default()
    };
    let env = Env::new(options).await;
    let server = env.start().await;
    for _ in 0..3 {
        assert_error(
            &server.token(&password_form("app", USER, "guess")).await,
            401,
            "invalid_grant",
        );
    }
    let locked = server.token(&password_form("app", USER, PASSWORD)).await;
    assert_error(&locked, 401, "invalid_grant");
    assert_eq!(locked.body["error_description"], "Invalid user credentials");
    // Other accounts are unaffected.
    server.login("bob", "").await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    server.login(USER, "").await;
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let options = RealmOptions {
        brute_force: "max_failures = 3\nwindow = \"1m\"\nlockout = \"1m\"".to_owned(),
        ..RealmOptions::default()
    };
    let env = Env::new(options).await;
    let server = env.start().await;
    for _ in 0..2 {
        for _ in 0..2 {
            assert_error(
                &server.token(&password_form("app", USER, "guess")).await,
                401,
                "invalid_grant",
            );
        }
        server.login(USER, "").await;
    }
}
