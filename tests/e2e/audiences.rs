//! Who may use a token: the account API only with the `account` audience,
//! introspection only for a token's audience or owner.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tessera_verify::{Verifier, VerifyError};

use crate::kit::{
    assert_error, str_field, unverified_claims, Env, RealmOptions, Server, API_SECRET, PASSWORD,
    USER,
};

const TOKENS: &str = "/account/tokens";
const OTHER_API_SECRET: &str = "other-api-secret-0123456789";
const INTROSPECT: &str = "/protocol/openid-connect/token/introspect";

async fn login(server: &Server, client: &str) -> Value {
    let reply = server.password_login(client, USER, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

fn audience_of(access_token: &str) -> Vec<String> {
    match unverified_claims(access_token)["aud"].clone() {
        Value::String(one) => vec![one],
        Value::Array(many) => many
            .into_iter()
            .map(|aud| aud.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("aud is {other}"),
    }
}

async fn assert_refused_by_account_api(server: &Server, access_token: &str) {
    let reply = server
        .json_bearer(Method::GET, TOKENS, access_token, None)
        .await;
    assert_error(&reply, 401, "invalid_token");
    assert!(reply.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
}

async fn introspect_as(server: &Server, client: &str, secret: &str, token: &str) -> Value {
    let reply = server
        .post_form_basic(INTROSPECT, client, secret, &[("token", token)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

#[tokio::test]
async fn the_account_api_accepts_only_access_tokens_with_the_account_audience() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;

    // An add-on's token, meant for a resource server: refused.
    let app = str_field(&login(&server, "app").await, "access_token").to_owned();
    assert_eq!(audience_of(&app), ["api"]);
    assert_refused_by_account_api(&server, &app).await;
    // A service account's token: refused.
    let service = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            API_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_refused_by_account_api(&server, str_field(&service.body, "access_token")).await;

    // The account console's token carries the audience and is accepted.
    let console = server.account_token(USER).await;
    assert!(audience_of(&console).contains(&"account".to_owned()));
    let listed = server
        .json_bearer(Method::GET, TOKENS, &console, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);

    // A personal client token for that same console never carries it, not even
    // after a refresh: the add-on holding it cannot manage the user's tokens.
    let body = json!({"type": "client", "name": "console add-on", "password": PASSWORD,
        "client_id": "account-console"});
    let created = server
        .json_bearer(Method::POST, TOKENS, &console, Some(&body))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let access = str_field(&created.body, "access_token");
    assert!(!audience_of(access).contains(&"account".to_owned()));
    assert_refused_by_account_api(&server, access).await;
    let refreshed = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "account-console"),
            ("refresh_token", str_field(&created.body, "refresh_token")),
        ])
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let access = str_field(&refreshed.body, "access_token");
    assert!(!audience_of(access).contains(&"account".to_owned()));
    assert_refused_by_account_api(&server, access).await;
}

#[tokio::test]
async fn a_refresh_token_is_active_only_to_the_client_it_was_issued_to() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let secret = "keeper-secret-0123456789";
    let login = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "keeper",
            secret,
            &[
                ("grant_type", "password"),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    let refresh = str_field(&login.body, "refresh_token");
    assert_eq!(
        introspect_as(&server, "api", API_SECRET, refresh).await,
        json!({"active": false})
    );
    let own = introspect_as(&server, "keeper", secret, refresh).await;
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["client_id"], "keeper");
    assert_eq!(own["token_type"], "Refresh");
}

#[tokio::test]
async fn expose_tokens_are_active_only_to_their_audience() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let console = server.account_token(USER).await;
    let create = |body: Value| {
        let server = &server;
        let console = console.clone();
        async move {
            server
                .json_bearer(Method::POST, TOKENS, &console, Some(&body))
                .await
        }
    };
    let created = create(json!({"type": "expose", "name": "for api", "password": PASSWORD})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["audience"], json!(["api"]));
    let token = str_field(&created.body, "token").to_owned();

    let for_api = introspect_as(&server, "api", API_SECRET, &token).await;
    assert_eq!(for_api["active"], true, "{for_api}");
    assert_eq!(for_api["aud"], "api");
    // Another confidential client of the realm learns nothing.
    assert_eq!(
        introspect_as(&server, "other-api", OTHER_API_SECRET, &token).await,
        json!({"active": false})
    );
    // The refused look is counted on the token, the accepted one is an event
    // (uses are recorded off the request path: wait for them).
    let id = str_field(&created.body, "id");
    let mut listed = Value::Null;
    for _ in 0..50 {
        let list = server
            .json_bearer(Method::GET, TOKENS, &console, None)
            .await;
        listed = list.body["tokens"][0].clone();
        if listed["use_count"] == 1 && listed["refused_uses"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(listed["use_count"], 1, "{listed}");
    assert_eq!(listed["refused_uses"], 1, "{listed}");
    let events = server
        .json_bearer(
            Method::GET,
            &format!("{TOKENS}/{id}/events"),
            &console,
            None,
        )
        .await;
    let outcomes: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["active", "success"]);

    // A narrower audience can only be chosen among the realm's.
    let before = env.row_counts().await;
    for audience in [json!(["other-api"]), json!([]), json!(["api", "nobody"])] {
        let reply = create(json!({"type": "expose", "name": "x", "password": PASSWORD,
            "audience": audience}))
        .await;
        assert_error(&reply, 400, "invalid_request");
    }
    let reply = create(json!({"type": "client", "name": "x", "password": PASSWORD,
        "client_id": "app", "audience": ["api"]}))
    .await;
    assert_error(&reply, 400, "invalid_request");
    assert_eq!(
        env.row_counts().await,
        before,
        "refused creations write nothing"
    );
}

#[tokio::test]
async fn the_verifier_checks_the_audience_of_opaque_tokens_as_of_jwts() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let console = server.account_token(USER).await;
    let body = json!({"type": "expose", "name": "for api", "password": PASSWORD});
    let created = server
        .json_bearer(Method::POST, TOKENS, &console, Some(&body))
        .await;
    let token = str_field(&created.body, "token");
    let verifier = |audience: &'static str| {
        Verifier::builder(server.issuer())
            .audience(audience)
            .client_credentials("api", API_SECRET.to_owned())
            .revocation_poll_interval(Duration::ZERO)
            .build()
    };
    let right = verifier("api").await.unwrap();
    assert!(right.verify(token).await.is_ok());
    // The same resource server configured for another audience refuses it,
    // as it would refuse a JWT meant for someone else.
    let wrong = verifier("datablocks").await.unwrap();
    assert_eq!(
        wrong.verify(token).await.unwrap_err(),
        VerifyError::WrongAudience
    );
}
