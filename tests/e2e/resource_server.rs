//! tessera-verify and the example resource server, run against the real server.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tessera_verify::{Verifier, VerifyError};

use crate::kit::{
    str_field, unverified_claims, Env, RealmOptions, Server, API_SECRET, REALM, USER,
};

const POLL: Duration = Duration::from_millis(250);
const REFETCH: Duration = Duration::from_millis(300);

async fn verifier_for(server: &Server) -> Verifier {
    Verifier::builder(server.issuer())
        .audience("api")
        .client_credentials("api", API_SECRET.to_owned())
        .revocation_poll_interval(POLL)
        .jwks_refetch_interval(REFETCH)
        .build()
        .await
        .unwrap()
}

/// The example API on a free port.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn start(verifier: Verifier) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                tessera_example_resource_server::router(verifier, None),
            )
            .await
            .unwrap();
        });
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Status, `WWW-Authenticate` and JSON body of `GET path` with `token`.
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            challenge,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Waits until `token` is refused at `/me`; returns how long that took.
    async fn time_until_refused(&self, token: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let (status, challenge, _) = self.get("/me", Some(token)).await;
            if status == 401 {
                assert!(
                    challenge.contains(r#"error="invalid_token""#),
                    "{challenge}"
                );
                return start.elapsed();
            }
            assert_eq!(status, 200);
            assert!(start.elapsed() < limit, "still accepted after {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims of a valid access token of the test realm, to alter one at a time.
fn claims(server: &Server) -> Value {
    json!({
        "iss": server.issuer(), "sub": "u-1", "aud": ["api"], "exp": now() + 300,
        "iat": now(), "jti": "jti-1", "client_id": "app", "azp": "app", "typ": "Bearer",
        "scope": "profile", "realm_access": {"roles": ["user"]}
    })
}

/// Signs with the realm's active key, as the server would.
fn mint(server: &Server, claims: &Value) -> String {
    let state = server.service().realm(REALM).unwrap();
    let keys = state.keys.current();
    keys.ring.active().sign_jwt("at+jwt", claims).unwrap()
}

fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn service_token(server: &Server) -> String {
    let reply = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            API_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    str_field(&reply.body, "access_token").to_owned()
}

#[tokio::test]
async fn tokens_of_every_grant_verify_with_typed_claims() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_for(&server).await;

    let login = server.login(USER, "email").await;
    let password = verifier
        .verify(str_field(&login, "access_token"))
        .await
        .unwrap();
    assert_eq!(password.username(), Some(USER));
    assert_eq!(password.client_id(), "app");
    assert!(password.has_scope("email") && password.has_scope("profile"));
    assert!(password.has_role("user") && !password.has_role("admin"));
    let sid = unverified_claims(str_field(&login, "access_token"))["sid"].clone();
    assert_eq!(password.session_id(), sid.as_str());

    let refreshed = server.refresh(str_field(&login, "refresh_token")).await;
    let refreshed = verifier
        .verify(str_field(&refreshed.body, "access_token"))
        .await
        .unwrap();
    assert_eq!(refreshed.subject(), password.subject());
    assert_ne!(refreshed.token_id(), password.token_id());

    let service = verifier
        .verify(&service_token(&server).await)
        .await
        .unwrap();
    assert_eq!(service.client_id(), "api");
    assert_eq!(service.session_id(), None);

    // Through the example API: extractor, handler-side scope check, layer role check.
    let api = Api::start(verifier).await;
    let access = str_field(&login, "access_token");
    let (status, _, me) = api.get("/me", Some(access)).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], USER);
    assert_eq!(api.get("/reports", Some(access)).await.0, 200);
    assert_eq!(api.get("/datablocks", Some(access)).await.0, 200);
    let (status, challenge, body) = api.get("/me", None).await;
    assert_eq!((status, challenge.as_str()), (401, "Bearer"));
    assert_eq!(body["error"], "invalid_request");
    let bob = server.login("bob", "").await;
    let (status, challenge, body) = api
        .get("/reports", Some(str_field(&bob, "access_token")))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge,
        r#"Bearer error="insufficient_scope", scope="email""#
    );
    assert_eq!(body["error"], "insufficient_scope");
    // bob has no realm role `user`: the layer refuses before the handler runs.
    let (status, _, body) = api
        .get("/datablocks", Some(str_field(&bob, "access_token")))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, challenge, _) = api.get("/me", Some("not.a.token")).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with(r#"Bearer error="invalid_token""#));
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_refused_with_the_right_kind() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_for(&server).await;
    let valid = mint(&server, &claims(&server));
    verifier.verify(&valid).await.unwrap();

    let with = |name: &str, value: Value| {
        let mut altered = claims(&server);
        altered[name] = value;
        mint(&server, &altered)
    };
    let parts: Vec<&str> = valid.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();

    // HS256 "signed" with the published public key: the classic key-confusion attack.
    let jwks = server.jwks().await;
    let hs_header = segment(&json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}));
    let hs_input = format!("{hs_header}.{}", parts[1]);
    let hmac_key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        jwks["keys"][0].to_string().as_bytes(),
    );
    let hs256 = format!(
        "{hs_input}.{}",
        URL_SAFE_NO_PAD.encode(ring::hmac::sign(&hmac_key, hs_input.as_bytes()))
    );
    let none = format!(
        "{}.{}.",
        segment(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
        parts[1]
    );
    let (stranger, _) =
        tessera_keys::SigningKey::generate(tessera_keys::SigningAlgorithm::Es256).unwrap();
    let unknown_kid = stranger.sign_jwt("at+jwt", &claims(&server)).unwrap();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        segment(&json!({"sub": "admin"})),
        parts[2]
    );
    let mut nested = String::new();
    for _ in 0..2000 {
        nested.push('[');
    }
    let deeply_nested_header = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(&nested),
        parts[1],
        parts[2]
    );
    let oversized_header = format!(
        "{}.{}.{}",
        segment(&json!({"alg": "ES256", "typ": "at+jwt", "kid": kid, "pad": "x".repeat(9000)})),
        parts[1],
        parts[2]
    );
    let id_token = {
        let state = server.service().realm(REALM).unwrap();
        let keys = state.keys.current();
        keys.ring
            .active()
            .sign_jwt("JWT", &claims(&server))
            .unwrap()
    };
    // Deeper than any JSON parser here accepts (serde_json stops at 128 levels).
    let mut deep = json!([]);
    for _ in 0..200 {
        deep = json!([deep]);
    }

    let cases: Vec<(&str, String, VerifyError)> = vec![
        (
            "wrong aud",
            with("aud", json!(["other-api"])),
            VerifyError::WrongAudience,
        ),
        (
            "wrong iss",
            with("iss", json!("http://evil.test/realms/test-realm")),
            VerifyError::WrongIssuer,
        ),
        (
            "expired",
            with("exp", json!(now() - 31)),
            VerifyError::Expired,
        ),
        (
            "not yet valid",
            with("nbf", json!(now() + 120)),
            VerifyError::NotYetValid,
        ),
        (
            "issued in the future",
            with("iat", json!(now() + 120)),
            VerifyError::NotYetValid,
        ),
        ("alg none", none, VerifyError::AlgorithmNotAllowed),
        (
            "HS256 with the public key",
            hs256,
            VerifyError::AlgorithmNotAllowed,
        ),
        ("unknown kid", unknown_kid, VerifyError::UnknownKey),
        ("tampered payload", tampered, VerifyError::BadSignature),
        ("an ID token", id_token, VerifyError::NotAnAccessToken),
        (
            "two segments",
            format!("{}.{}", parts[0], parts[1]),
            VerifyError::Malformed,
        ),
        (
            "four segments",
            format!("{valid}.x"),
            VerifyError::Malformed,
        ),
        (
            "bad base64",
            format!("{}.{}.@@@", parts[0], parts[1]),
            VerifyError::Malformed,
        ),
        (
            "deeply nested header",
            deeply_nested_header,
            VerifyError::Malformed,
        ),
        ("oversized header", oversized_header, VerifyError::Malformed),
        (
            "claims of the wrong type",
            with("exp", json!("tomorrow")),
            VerifyError::InvalidClaims,
        ),
        (
            "deeply nested claims",
            with("realm_access", json!({"roles": deep.clone()})),
            VerifyError::InvalidClaims,
        ),
        (
            "deeply nested payload, unsigned",
            format!("{}.{}.{}", parts[0], segment(&deep), parts[2]),
            VerifyError::BadSignature,
        ),
        ("empty", String::new(), VerifyError::Malformed),
    ];
    for (name, token, expected) in cases {
        let outcome = verifier.verify(&token).await;
        assert_eq!(outcome, Err(expected), "{name}");
    }

    // Opaque tokens: a refresh token is no bearer credential, a broken checksum
    // is caught locally.
    let login = server.login(USER, "").await;
    let refresh = str_field(&login, "refresh_token");
    assert_eq!(
        verifier.verify(refresh).await.unwrap_err(),
        VerifyError::NotAnAccessToken
    );
    let mut broken = refresh.to_owned();
    let last = broken.pop().unwrap();
    broken.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(
        verifier.verify(&broken).await.unwrap_err(),
        VerifyError::BadChecksum
    );
}

/// JWKS requests the server has answered, from its own metrics.
async fn jwks_fetches(server: &Server) -> u64 {
    let metrics = server.metrics().await;
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("tessera_http_requests_total") && line.contains("openid-connect/certs")
        })
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test]
async fn key_rotation_is_transparent_and_unknown_kids_cost_one_fetch_per_interval() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_for(&server).await;
    let api = Api::start(verifier.clone()).await;
    let old = str_field(&server.login(USER, "").await, "access_token").to_owned();
    assert_eq!(api.get("/me", Some(&old)).await.0, 200);

    tokio::time::sleep(REFETCH).await;
    server.service().keys.rotate_keys(REALM).await.unwrap();
    let new = str_field(&server.login(USER, "").await, "access_token").to_owned();
    assert_ne!(
        unverified_claims_header_kid(&old),
        unverified_claims_header_kid(&new)
    );
    assert_eq!(api.get("/me", Some(&new)).await.0, 200);
    assert_eq!(api.get("/me", Some(&old)).await.0, 200);

    // A flood of tokens naming made-up keys, all at once: at most one fetch.
    tokio::time::sleep(REFETCH).await;
    let before = jwks_fetches(&server).await;
    let (stranger, _) =
        tessera_keys::SigningKey::generate(tessera_keys::SigningAlgorithm::EdDsa).unwrap();
    let forged: Vec<String> = (0..50)
        .map(|i| {
            let mut claims = claims(&server);
            claims["jti"] = json!(format!("forged-{i}"));
            let token = stranger.sign_jwt("at+jwt", &claims).unwrap();
            // Each names a different unknown kid.
            let (_, rest) = token.split_once('.').unwrap();
            let header =
                segment(&json!({"alg": "EdDSA", "typ": "at+jwt", "kid": format!("kid-{i}")}));
            format!("{header}.{rest}")
        })
        .collect();
    let tasks: Vec<_> = forged
        .iter()
        .map(|token| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(VerifyError::UnknownKey));
    }
    let after_flood = jwks_fetches(&server).await;
    assert_eq!(after_flood - before, 1, "one fetch for the whole flood");
    // Within the interval, more unknown kids fetch nothing at all.
    for token in &forged {
        assert_eq!(verifier.verify(token).await, Err(VerifyError::UnknownKey));
    }
    assert_eq!(jwks_fetches(&server).await, after_flood);
}

fn unverified_claims_header_kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_authorization_server_is_down() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_for(&server).await;
    let api = Api::start(verifier.clone()).await;
    let access = str_field(&server.login(USER, "").await, "access_token").to_owned();
    let (stranger, _) =
        tessera_keys::SigningKey::generate(tessera_keys::SigningAlgorithm::Es256).unwrap();
    let unknown_kid = stranger.sign_jwt("at+jwt", &claims(&server)).unwrap();
    server.stop().await;
    tokio::time::sleep(REFETCH).await;

    assert_eq!(api.get("/me", Some(&access)).await.0, 200);
    let (status, challenge, _) = api.get("/me", Some(&unknown_kid)).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("signing key is unknown"), "{challenge}");
    assert_eq!(api.get("/me", Some(&access)).await.0, 200);
}

#[tokio::test]
async fn logout_revoke_and_disabling_the_user_reach_the_resource_server_within_a_poll() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let api = Api::start(verifier_for(&server).await).await;
    let limit = POLL + Duration::from_secs(1);

    let session = server.login(USER, "").await;
    let access = str_field(&session, "access_token");
    assert_eq!(api.get("/me", Some(access)).await.0, 200);
    let reply = server.logout(str_field(&session, "refresh_token")).await;
    assert_eq!(reply.status, 204);
    api.time_until_refused(access, limit).await;

    let session = server.login(USER, "").await;
    let access = str_field(&session, "access_token");
    assert_eq!(api.get("/me", Some(access)).await.0, 200);
    let reply = server
        .post_form(
            "/protocol/openid-connect/revoke",
            &[("client_id", "app"), ("token", access)],
        )
        .await;
    assert_eq!(reply.status, 200);
    api.time_until_refused(access, limit).await;

    let service = service_token(&server).await;
    assert_eq!(api.get("/me", Some(&service)).await.0, 200);
    let reply = server
        .post_form_basic(
            "/protocol/openid-connect/revoke",
            "api",
            API_SECRET,
            &[("token", &service)],
        )
        .await;
    assert_eq!(reply.status, 200);
    api.time_until_refused(&service, limit).await;

    let bob = server.login("bob", "").await;
    let other = server.login(USER, "").await;
    let access = str_field(&bob, "access_token");
    assert_eq!(api.get("/me", Some(access)).await.0, 200);
    server
        .service()
        .users
        .set_user_enabled(REALM, "bob", false)
        .await
        .unwrap();
    api.time_until_refused(access, limit).await;
    // Nobody else's token is affected.
    assert_eq!(
        api.get("/me", Some(str_field(&other, "access_token")))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_layer_runs_custom_permission_checks_with_the_request() {
    use axum::http::request::Parts;
    use axum::routing::get;
    use axum::Router;
    use tessera_verify::axum::{AuthError, RequireBearerLayer};
    use tessera_verify::VerifiedToken;

    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_for(&server).await;
    // Only a user's own folder: /users/{subject}/… is theirs, nothing else is.
    let own_folder_only = |token: &VerifiedToken, request: &Parts| {
        let own = format!("/users/{}/", token.subject());
        if request.uri.path().starts_with(&own) {
            Ok(())
        } else {
            Err(AuthError::Forbidden("not your folder".to_owned()))
        }
    };
    let app = Router::new()
        .route("/users/{user}/files", get(|| async { "files" }))
        .layer(RequireBearerLayer::new(verifier).check(own_folder_only));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let access = str_field(&server.login(USER, "").await, "access_token").to_owned();
    let subject = unverified_claims(&access)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .bearer_auth(&access)
            .send()
    };
    let own = get(format!("/users/{subject}/files")).await.unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.text().await.unwrap(), "files");
    let other = get("/users/someone-else/files".to_owned()).await.unwrap();
    assert_eq!(other.status(), 403);
    assert!(other.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}
