//! Personal access tokens through the account API: expose tokens.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::kit::{
    assert_error, str_field, Env, RealmOptions, Server, API_SECRET, PASSWORD, REALM, USER,
};

pub(crate) const TOKENS: &str = "/account/tokens";

pub(crate) async fn bearer_of(server: &Server, username: &str) -> String {
    server.account_token(username).await
}

async fn create(server: &Server, bearer: &str, body: Value) -> crate::kit::Reply {
    server
        .json_bearer(Method::POST, TOKENS, bearer, Some(&body))
        .await
}

pub(crate) async fn create_expose(server: &Server, bearer: &str, name: &str) -> Value {
    let reply = create(
        server,
        bearer,
        json!({"type": "expose", "name": name, "password": PASSWORD, "lifetime": 3600}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

pub(crate) async fn list(server: &Server, bearer: &str) -> Vec<Value> {
    let reply = server.json_bearer(Method::GET, TOKENS, bearer, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["tokens"].as_array().unwrap().clone()
}

async fn create_client_token(server: &Server, bearer: &str, name: &str, offline: bool) -> Value {
    let reply = create(
        server,
        bearer,
        json!({"type": "client", "name": name, "password": PASSWORD,
               "client_id": "app", "offline": offline}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

fn refresh_as(client: &'static str, refresh_token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "refresh_token".to_owned()),
        ("client_id", client.to_owned()),
        ("refresh_token", refresh_token.to_owned()),
    ]
}

async fn refresh_with(server: &Server, client: &'static str, token: &str) -> crate::kit::Reply {
    let form = refresh_as(client, token);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    server.token(&form).await
}

#[tokio::test]
async fn expose_token_lifecycle_create_use_list_delete() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;

    let before = env.row_counts().await;
    let wrong = create(
        &server,
        &bearer,
        json!({"type": "expose", "name": "ci", "password": "not my password"}),
    )
    .await;
    assert_error(&wrong, 401, "invalid_grant");
    // The wrong password counts against the account's existing attempts row.
    assert_eq!(
        before,
        env.row_counts().await,
        "a refused creation writes no token"
    );

    let created = create_expose(&server, &bearer, "ci pipeline").await;
    let secret = str_field(&created, "token").to_owned();
    let id = str_field(&created, "id").to_owned();
    assert!(secret.starts_with("tsr_ex_"));
    assert_eq!(created["type"], "expose");
    assert_eq!(
        created["hint"],
        format!("tsr_ex_…{}", &secret[secret.len() - 4..])
    );
    let expires_in =
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert!((3599..=3601).contains(&expires_in), "{created}");

    let introspected = server.introspect(&secret).await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["jti"], id.as_str());
    assert_eq!(introspected["username"], USER);
    assert_eq!(introspected["token_type"], "expose");
    for _ in 0..2 {
        assert_eq!(server.introspect(&secret).await["active"], true);
    }
    server.service().personal_tokens.flush_usage().await;

    let listed = list(&server, &bearer).await;
    assert_eq!(listed.len(), 1);
    let entry = &listed[0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["name"], "ci pipeline");
    assert_eq!(entry["use_count"], 3);
    assert_eq!(entry["last_used_ip"], "127.0.0.1");
    assert!(entry["last_used_at"].as_i64().is_some());
    assert!(entry.get("token").is_none());

    // Shown once: no answer but the creation carries the secret, and the
    // database holds only its digest.
    let listing = server.json_bearer(Method::GET, TOKENS, &bearer, None).await;
    assert!(!listing.text.contains(&secret[7..]));
    for column in ["hint", "name", "id"] {
        for value in env
            .query_strings(&format!("SELECT {column} FROM personal_tokens"))
            .await
        {
            assert!(!value.contains(&secret[7..]), "{column}: {value}");
        }
    }

    let reply = server
        .json_bearer(Method::DELETE, &format!("{TOKENS}/{id}"), &bearer, None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(server.introspect(&secret).await["active"], false);
    let again = server
        .json_bearer(Method::DELETE, &format!("{TOKENS}/{id}"), &bearer, None)
        .await;
    assert_error(&again, 404, "not_found");

    let first = create_expose(&server, &bearer, "one").await;
    let second = create_expose(&server, &bearer, "two").await;
    assert_eq!(list(&server, &bearer).await.len(), 2);
    let reply = server
        .json_bearer(Method::DELETE, TOKENS, &bearer, None)
        .await;
    assert_eq!(reply.status, 204);
    assert!(list(&server, &bearer).await.is_empty());
    for token in [&first, &second] {
        assert_eq!(
            server.introspect(str_field(token, "token")).await["active"],
            false
        );
    }
}

#[tokio::test]
async fn tokens_of_other_users_cannot_be_seen_or_deleted() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let alice = bearer_of(&server, USER).await;
    let bob = bearer_of(&server, "bob").await;
    let created = create_expose(&server, &alice, "alice's").await;
    let id = str_field(&created, "id");
    assert!(list(&server, &bob).await.is_empty());
    let reply = server
        .json_bearer(Method::DELETE, &format!("{TOKENS}/{id}"), &bob, None)
        .await;
    assert_error(&reply, 404, "not_found");
    let reply = server.json_bearer(Method::DELETE, TOKENS, &bob, None).await;
    assert_eq!(reply.status, 204);
    assert_eq!(list(&server, &alice).await.len(), 1);
    assert_eq!(
        server.introspect(str_field(&created, "token")).await["active"],
        true
    );
}

#[tokio::test]
async fn disabling_the_user_makes_expose_tokens_inactive_at_once() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "to be disabled").await;
    let secret = str_field(&created, "token");
    assert_eq!(server.introspect(secret).await["active"], true);
    server
        .service()
        .users
        .set_user_enabled(REALM, USER, false)
        .await
        .unwrap();
    assert_eq!(server.introspect(secret).await["active"], false);
}

#[tokio::test]
async fn a_graceful_shutdown_right_after_use_loses_no_use() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "shutdown").await;
    let secret = str_field(&created, "token").to_owned();
    for _ in 0..5 {
        assert_eq!(server.introspect(&secret).await["active"], true);
    }
    server.stop().await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    assert_eq!(list(&server, &bearer).await[0]["use_count"], 5);
    let events = env
        .query_strings("SELECT event FROM token_events ORDER BY id")
        .await;
    assert_eq!(events, ["created", "used", "used", "used", "used", "used"]);
}

#[tokio::test]
async fn bad_account_requests_are_refused_and_write_nothing() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let before = env.row_counts().await;
    let huge = "x".repeat(101);
    let bodies = [
        json!({"type": "expose", "name": "n", "password": PASSWORD, "lifetime": -5}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "lifetime": 10}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "lifetime": 999_999_999_999i64}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "lifetime": 60, "expires_at": 1}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "expires_at": 1}),
        json!({"type": "expose", "name": huge, "password": PASSWORD}),
        json!({"type": "expose", "name": "  ", "password": PASSWORD}),
        json!({"type": "expose", "name": "tab\there", "password": PASSWORD}),
        json!({"type": "stolen", "name": "n", "password": PASSWORD}),
        json!({"type": "expose", "name": 5, "password": PASSWORD}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "lifetime": "1h"}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "admin": true}),
        json!({"type": "expose", "name": "n"}),
        json!({"type": "expose", "name": "n", "password": PASSWORD, "offline": true}),
        json!({"type": "client", "name": "n", "password": PASSWORD}),
        json!({"type": "client", "name": "n", "password": PASSWORD, "client_id": "app", "lifetime": 60}),
        json!({"type": "client", "name": "n", "password": PASSWORD, "client_id": "app", "offline": "yes"}),
        json!(["not", "an", "object"]),
    ];
    for body in bodies {
        let reply = create(&server, &bearer, body.clone()).await;
        assert_error(&reply, 400, "invalid_request");
        assert!(!reply.text.contains(PASSWORD), "{body}");
    }
    let malformed = server
        .http
        .post(server.realm_url(TOKENS))
        .bearer_auth(&bearer)
        .header("content-type", "application/json")
        .body("{\"type\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let form = server
        .http
        .post(server.realm_url(TOKENS))
        .bearer_auth(&bearer)
        .form(&[("type", "expose")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 400);
    let no_bearer = server
        .post_raw(
            &format!("/realms/{REALM}{TOKENS}"),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(no_bearer.status, 401);
    let forged = server
        .json_bearer(Method::GET, TOKENS, "not.a.jwt", None)
        .await;
    assert_eq!(forged.status, 401);
    let broken_checksum = server
        .introspect("tsr_ex_0123456789abcdefghijABCDEFGHIJ01000000")
        .await;
    assert_eq!(broken_checksum["active"], false);
    assert_eq!(env.row_counts().await, before);
}

#[tokio::test]
async fn client_tokens_are_refreshed_by_their_client_only_and_die_with_their_deletion() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let created = create_client_token(&server, &bearer, "pydc on my laptop", false).await;
    assert_eq!(created["type"], "client");
    assert_eq!(created["client_id"], "app");
    assert_eq!(created["offline"], false);
    assert_eq!(created["expires_in"], 300);
    assert!(created["refresh_expires_in"].as_i64().unwrap() > 0);
    let refresh = str_field(&created, "refresh_token").to_owned();
    let access = str_field(&created, "access_token").to_owned();
    assert_eq!(
        created["hint"],
        format!("tsr_rt_…{}", &refresh[refresh.len() - 4..])
    );
    assert_eq!(server.introspect(&access).await["active"], true);

    assert_error(
        &refresh_with(&server, "other-app", &refresh).await,
        400,
        "invalid_grant",
    );
    let rotated = refresh_with(&server, "app", &refresh).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let rotated_refresh = str_field(&rotated.body, "refresh_token").to_owned();
    assert_ne!(rotated_refresh, refresh);
    server.service().personal_tokens.flush_usage().await;
    let listed = list(&server, &bearer).await;
    assert_eq!(listed[0]["use_count"], 1);
    assert_eq!(listed[0]["last_used_ip"], "127.0.0.1");
    assert!(listed[0].get("refresh_token").is_none() && listed[0].get("access_token").is_none());

    let offline = create_client_token(&server, &bearer, "offline add-on", true).await;
    assert_eq!(offline["offline"], true);
    assert_eq!(offline["refresh_expires_in"], 0);
    assert_eq!(offline["expires_at"], Value::Null);

    let id = str_field(&created, "id");
    let reply = server
        .json_bearer(Method::DELETE, &format!("{TOKENS}/{id}"), &bearer, None)
        .await;
    assert_eq!(reply.status, 204);
    assert_error(
        &refresh_with(&server, "app", &rotated_refresh).await,
        400,
        "invalid_grant",
    );
    assert_eq!(
        server
            .introspect(str_field(&rotated.body, "access_token"))
            .await["active"],
        false
    );
    // The offline token is untouched.
    let still = refresh_with(&server, "app", str_field(&offline, "refresh_token")).await;
    assert_eq!(still.status, 200, "{}", still.text);

    for (client, offline) in [("other-app", false), ("nope", false), ("api", false)] {
        let reply = create(
            &server,
            &bearer,
            json!({"type": "client", "name": "n", "password": PASSWORD,
                   "client_id": client, "offline": offline}),
        )
        .await;
        assert_error(&reply, 400, "invalid_request");
    }
}

#[tokio::test]
async fn offline_client_tokens_survive_a_restart_and_expiring_ones_stop_at_their_lifetime() {
    let env = Env::new(RealmOptions::tokens(
        "session_idle = \"2s\"\nsession_max = \"2s\"",
    ))
    .await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let offline = create_client_token(&server, &bearer, "offline", true).await;
    let expiring = create_client_token(&server, &bearer, "expiring", false).await;
    server.stop().await;
    let server = env.start().await;
    let refreshed = refresh_with(&server, "app", str_field(&offline, "refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_error(
        &refresh_with(&server, "app", str_field(&expiring, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    let refreshed = refresh_with(&server, "app", str_field(&refreshed.body, "refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
}

#[tokio::test]
async fn the_events_of_a_token_page_newest_first_and_outlive_its_deletion() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "audited").await;
    let id = str_field(&created, "id").to_owned();
    for _ in 0..6 {
        assert_eq!(
            server.introspect(str_field(&created, "token")).await["active"],
            true
        );
    }
    let reply = server
        .json_bearer(Method::DELETE, &format!("{TOKENS}/{id}"), &bearer, None)
        .await;
    assert_eq!(reply.status, 204);
    server.service().personal_tokens.flush_usage().await;

    let mut seen = Vec::new();
    let mut path = format!("{TOKENS}/{id}/events?limit=3");
    loop {
        let reply = server.json_bearer(Method::GET, &path, &bearer, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let events = reply.body["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        seen.extend(
            events
                .iter()
                .map(|event| event["event"].as_str().unwrap().to_owned()),
        );
        match reply.body["next"].as_str() {
            Some(next) => path = format!("{TOKENS}/{id}/events?limit=3&before={next}"),
            None => break,
        }
    }
    // Uses are recorded off the request path, so the deletion's event may be
    // committed before the last uses'; everything is there, newest first.
    seen.reverse();
    assert_eq!(seen.first().map(String::as_str), Some("created"));
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(seen.iter().filter(|event| *event == "used").count(), 6);
    assert_eq!(seen.iter().filter(|event| *event == "deleted").count(), 1);
    let first_use = server
        .json_bearer(
            Method::GET,
            &format!("{TOKENS}/{id}/events?limit=500"),
            &bearer,
            None,
        )
        .await;
    let used = first_use.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["event"] == "used")
        .unwrap()
        .clone();
    assert_eq!(used["client_id"], "api");
    assert_eq!(used["address"], "127.0.0.1");
    assert_eq!(used["outcome"], "active");
    assert_eq!(used["actor"], Value::Null);
    for changed in ["created", "deleted"] {
        let event = first_use.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["event"] == changed)
            .unwrap();
        assert_eq!(event["actor"], "user", "{event}");
        assert_eq!(event["address"], "127.0.0.1");
    }

    let bob = bearer_of(&server, "bob").await;
    let reply = server
        .json_bearer(Method::GET, &format!("{TOKENS}/{id}/events"), &bob, None)
        .await;
    assert_error(&reply, 404, "not_found");
    for bad in ["limit=0", "limit=501", "limit=x", "before=soon"] {
        let reply = server
            .json_bearer(
                Method::GET,
                &format!("{TOKENS}/{id}/events?{bad}"),
                &bearer,
                None,
            )
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    // Without a bearer token the query is not read: 401 before any 400.
    let reply = server
        .get(&format!("/realms/{REALM}{TOKENS}/{id}/events?limit=x"))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text);
}

/// An expose token and a client token of `username`, who signs in with `PASSWORD`.
async fn both_kinds(server: &Server, username: &str) -> (String, Value) {
    let bearer = bearer_of(server, username).await;
    let expose = create_expose(server, &bearer, "expose").await;
    let client = create_client_token(server, &bearer, "client", true).await;
    (str_field(&expose, "token").to_owned(), client)
}

fn feed_lists(feed: &Value, kind: &str, id: &str) -> bool {
    feed["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|entry| entry[kind] == id)
}

async fn assert_all_revoked(server: &Server, expose: &str, client: &Value, gone: &str) {
    assert_eq!(server.introspect(expose).await["active"], false, "{gone}");
    let refresh = refresh_with(server, "app", str_field(client, "refresh_token")).await;
    assert_error(&refresh, 400, "invalid_grant");
    assert_eq!(
        server.introspect(str_field(client, "access_token")).await["active"],
        false,
        "{gone}"
    );
}

#[tokio::test]
async fn disabling_expiring_or_deleting_the_user_revokes_every_token_type_at_once() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let service = server.service();

    // Disabled.
    let (expose, client) = both_kinds(&server, "bob").await;
    assert_eq!(server.introspect(&expose).await["active"], true);
    service
        .users
        .set_user_enabled(REALM, "bob", false)
        .await
        .unwrap();
    assert_all_revoked(&server, &expose, &client, "disabled").await;
    let feed = server.revocation_feed(None).await;
    let sid = crate::kit::unverified_claims(str_field(&client, "access_token"))["sid"].clone();
    assert!(feed_lists(&feed, "sid", sid.as_str().unwrap()), "{feed}");
    let bob_tokens = env
        .query_strings("SELECT id FROM personal_tokens WHERE kind = 'expose'")
        .await;
    assert!(feed_lists(&feed, "jti", &bob_tokens[0]), "{feed}");

    // Past valid_until, with no request in between.
    let soon = tessera_token::NewUserRequest {
        realm: REALM.to_owned(),
        username: "carol".to_owned(),
        email: None,
        password: tessera_proto::SecretString::new(PASSWORD),
        enabled: true,
        valid_until: Some(
            tessera_token::Timestamp::now().saturating_add(Duration::from_millis(1500)),
        ),
        roles: vec!["user".to_owned()],
    };
    assert!(service.users.add_user_if_absent(soon).await.unwrap());
    let (expose, client) = both_kinds(&server, "carol").await;
    assert_eq!(server.introspect(&expose).await["active"], true);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_all_revoked(&server, &expose, &client, "expired").await;

    // Deleted.
    let (expose, client) = both_kinds(&server, USER).await;
    let operator = tessera_token::Principal::operator();
    let alice = service
        .users
        .find_user_by_username(REALM, USER)
        .await
        .unwrap()
        .unwrap()
        .id;
    service
        .users
        .delete_user_by_id(REALM, &operator, &alice)
        .await
        .unwrap();
    assert_all_revoked(&server, &expose, &client, "deleted").await;
    let feed = server.revocation_feed(None).await;
    let sid = crate::kit::unverified_claims(str_field(&client, "access_token"))["sid"].clone();
    assert!(feed_lists(&feed, "sid", sid.as_str().unwrap()), "{feed}");
    assert!(matches!(
        service
            .users
            .delete_user_by_id(REALM, &operator, &alice)
            .await,
        Err(tessera_token::TokenError::UserNotFound)
    ));
    // The audit trail outlives the user.
    assert!(!env
        .query_strings("SELECT event FROM token_events WHERE event = 'created'")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_user_holds_at_most_the_realms_limit_of_tokens() {
    let env = Env::new(RealmOptions {
        personal_tokens: "max_per_user = 2".to_owned(),
        ..RealmOptions::default()
    })
    .await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    create_expose(&server, &bearer, "one").await;
    create_client_token(&server, &bearer, "two", false).await;
    let before = env.row_counts().await;
    for body in [
        json!({"type": "expose", "name": "three", "password": PASSWORD}),
        json!({"type": "client", "name": "three", "password": PASSWORD, "client_id": "app"}),
    ] {
        let reply = create(&server, &bearer, body).await;
        assert_error(&reply, 409, "invalid_request");
    }
    assert_eq!(
        env.row_counts().await,
        before,
        "a refused creation writes nothing"
    );
    // Another user has a limit of their own.
    let bob = bearer_of(&server, "bob").await;
    create_expose(&server, &bob, "bob's").await;
    // Deleting one makes room again.
    let id = list(&server, &bearer).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = server
        .json_bearer(Method::DELETE, &format!("{TOKENS}/{id}"), &bearer, None)
        .await;
    assert_eq!(reply.status, 204);
    create_expose(&server, &bearer, "three").await;
}

/// RFC 7009 §2.2.1: the revocation endpoint says it does not revoke expose
/// tokens instead of answering a success that did nothing.
#[tokio::test]
async fn revoking_an_expose_token_at_the_revocation_endpoint_is_unsupported() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "not here").await;
    let secret = str_field(&created, "token");
    let before = env.row_counts().await;
    let reply = server
        .post_form_basic(
            "/protocol/openid-connect/revoke",
            "api",
            API_SECRET,
            &[("token", secret)],
        )
        .await;
    assert_error(&reply, 400, "unsupported_token_type");
    assert_eq!(env.row_counts().await, before);
    assert_eq!(server.introspect(secret).await["active"], true);
}
