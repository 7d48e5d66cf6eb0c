//! Token profiles through the management API: their life cycle, the
//! permissions introspection reports, who may manage whose, the no-escalation
//! rule, and bad input that writes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::kit::{assert_error, str_field, unverified_claims, Env, RealmOptions, Server};

pub(crate) fn profiles_path(user_id: &str) -> String {
    format!("/users/{user_id}/token-profiles")
}

/// The management token of `username` and their user id.
pub(crate) async fn manager(server: &Server, username: &str) -> (String, String) {
    let token = server.management_token(username).await;
    let user_id = str_field(&unverified_claims(&token), "sub").to_owned();
    (token, user_id)
}

pub(crate) async fn create_profile(
    server: &Server,
    bearer: &str,
    user_id: &str,
    body: Value,
) -> crate::kit::Reply {
    server
        .admin(Method::POST, &profiles_path(user_id), bearer, Some(&body))
        .await
}

fn read_one_bucket(token_id: &str) -> Value {
    json!({
        "token_id": token_id,
        "name": "Telemetry reader",
        "permissions": [
            {"type": "bucket", "identifier": "telemetry", "actions": ["ReadBucket"]},
            {"type": "device", "identifier": "*", "actions": ["*"]},
        ],
    })
}

#[tokio::test]
async fn a_user_creates_lists_reads_edits_and_deletes_a_profile() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (bearer, alice) = manager(&server, "alice").await;

    let reply = create_profile(&server, &bearer, &alice, read_one_bucket("telemetry")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let location = reply.headers["location"].to_str().unwrap();
    assert!(
        location.ends_with(&format!("{}/telemetry", profiles_path(&alice))),
        "{location}"
    );
    let token = str_field(&reply.body, "token").to_owned();
    assert!(token.starts_with("tsr_tp_"), "{token}");
    assert_eq!(reply.body["token_id"], "telemetry");
    assert_eq!(reply.body["enabled"], true);
    assert_eq!(
        reply.body["permissions"],
        json!([
            {"type": "bucket", "identifier": "telemetry", "actions": ["ReadBucket"]},
            {"type": "device", "identifier": "*", "actions": ["*"]},
        ])
    );

    // Listing and reading never show the token again.
    let listed = server
        .admin(Method::GET, &profiles_path(&alice), &bearer, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let profiles = listed.body["token_profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    assert!(profiles[0].get("token").is_none());
    assert!(!listed.text.contains(&token));
    let path = format!("{}/telemetry", profiles_path(&alice));
    let read = server.admin(Method::GET, &path, &bearer, None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["name"], "Telemetry reader");
    assert!(!read.text.contains(&token));

    let answer = server.introspect(&token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["sub"], alice.as_str());
    assert_eq!(answer["token_id"], "telemetry");
    assert_eq!(answer["name"], "Telemetry reader");
    assert_eq!(answer["token_type"], "profile");
    assert_eq!(answer["authorization_details"], reply.body["permissions"]);

    // Uses are counted, with the address they came from (recorded off the
    // request path, so they show shortly after).
    let used = std::time::Instant::now();
    loop {
        let read = server.admin(Method::GET, &path, &bearer, None).await;
        if read.body["use_count"].as_i64() == Some(1) {
            assert_eq!(read.body["last_used_ip"], "127.0.0.1");
            assert!(read.body["last_used_at"].is_i64());
            break;
        }
        assert!(
            used.elapsed().as_secs() < 5,
            "the use was never recorded: {}",
            read.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // An edit takes effect at the next introspection.
    let edited = server
        .admin(
            Method::PATCH,
            &path,
            &bearer,
            Some(&json!({
                "name": "Telemetry writer",
                "permissions": [{"type": "bucket", "identifier": "telemetry",
                                 "actions": ["WriteBucket", "ReadBucket"]}],
            })),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert!(edited.body["updated_at"].is_i64());
    let answer = server.introspect(&token).await;
    assert_eq!(answer["name"], "Telemetry writer");
    assert_eq!(
        answer["authorization_details"],
        json!([{"type": "bucket", "identifier": "telemetry",
                "actions": ["ReadBucket", "WriteBucket"]}])
    );

    let deleted = server.admin(Method::DELETE, &path, &bearer, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(server.introspect(&token).await, json!({"active": false}));
    let gone = server.admin(Method::GET, &path, &bearer, None).await;
    assert_error(&gone, 404, "not_found");
    let again = server.admin(Method::DELETE, &path, &bearer, None).await;
    assert_error(&again, 404, "not_found");
}

#[tokio::test]
async fn disabling_a_profile_stops_its_token_and_enabling_restores_it() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (bearer, alice) = manager(&server, "alice").await;
    let created = create_profile(&server, &bearer, &alice, read_one_bucket("ci")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = str_field(&created.body, "token");
    let path = format!("{}/ci", profiles_path(&alice));

    let disabled = server
        .admin(
            Method::PATCH,
            &path,
            &bearer,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.body["enabled"], false);
    assert_eq!(server.introspect(token).await, json!({"active": false}));
    // Nor does it reach the management API.
    let refused = server
        .admin(Method::GET, &profiles_path(&alice), token, None)
        .await;
    assert_error(&refused, 401, "invalid_token");

    let enabled = server
        .admin(
            Method::PATCH,
            &path,
            &bearer,
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(server.introspect(token).await["active"], true);
}

#[tokio::test]
async fn several_profiles_are_deleted_in_one_atomic_call() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (bearer, alice) = manager(&server, "alice").await;
    let mut tokens = Vec::new();
    for token_id in ["a", "b", "c"] {
        let reply = create_profile(&server, &bearer, &alice, read_one_bucket(token_id)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        tokens.push(str_field(&reply.body, "token").to_owned());
    }
    let path = profiles_path(&alice);

    // One unknown id: nothing is deleted.
    let before = env.row_counts().await;
    let refused = server
        .admin(
            Method::DELETE,
            &path,
            &bearer,
            Some(&json!({"token_ids": ["a", "b", "missing"]})),
        )
        .await;
    assert_error(&refused, 404, "not_found");
    assert_eq!(env.row_counts().await, before);
    assert_eq!(server.introspect(&tokens[0]).await["active"], true);

    let deleted = server
        .admin(
            Method::DELETE,
            &path,
            &bearer,
            Some(&json!({"token_ids": ["a", "b"]})),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body, json!({"deleted": 2}));
    assert_eq!(server.introspect(&tokens[0]).await["active"], false);
    assert_eq!(server.introspect(&tokens[1]).await["active"], false);
    assert_eq!(server.introspect(&tokens[2]).await["active"], true);
    let listed = server.admin(Method::GET, &path, &bearer, None).await;
    assert_eq!(listed.body["token_profiles"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_valid_management_tokens_are_accepted() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (bearer, alice) = manager(&server, "alice").await;
    let path = profiles_path(&alice);

    let anonymous = server.get(&format!("/admin/realms/test-realm{path}")).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        "Bearer realm=\"tessera\""
    );
    // A session of a client that is not a management client.
    let account = server.account_token("alice").await;
    let refused = server.admin(Method::GET, &path, &account, None).await;
    assert_error(&refused, 401, "invalid_token");
    // An expose token is no management credential.
    let expose = crate::personal_tokens::create_expose(&server, &account, "x").await;
    let refused = server
        .admin(Method::GET, &path, str_field(&expose, "token"), None)
        .await;
    assert_error(&refused, 401, "invalid_token");
    let garbage = server.admin(Method::GET, &path, "not-a-token", None).await;
    assert_error(&garbage, 401, "invalid_token");
    // Another realm's path is not found.
    let reply = server
        .http_request(
            Method::GET,
            "/admin/realms/nowhere/users/x/token-profiles",
            &bearer,
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
}

#[tokio::test]
async fn other_users_profiles_are_hidden_except_from_admins() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (alice_bearer, alice) = manager(&server, "alice").await;
    let (bob_bearer, _) = manager(&server, "bob").await;
    let (root_bearer, _) = manager(&server, "root").await;
    let created = create_profile(&server, &alice_bearer, &alice, read_one_bucket("mine")).await;
    assert_eq!(created.status, 201, "{}", created.text);

    let path = profiles_path(&alice);
    for (method, target) in [
        (Method::GET, path.clone()),
        (Method::GET, format!("{path}/mine")),
        (Method::DELETE, format!("{path}/mine")),
    ] {
        let hidden = server.admin(method, &target, &bob_bearer, None).await;
        assert_error(&hidden, 404, "not_found");
    }
    let hidden = create_profile(&server, &bob_bearer, &alice, read_one_bucket("theirs")).await;
    assert_error(&hidden, 404, "not_found");

    // An admin manages everyone's, and may grant what alice's roles do not.
    let listed = server.admin(Method::GET, &path, &root_bearer, None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["token_profiles"][0]["token_id"], "mine");
    let wide = create_profile(
        &server,
        &root_bearer,
        &alice,
        json!({"token_id": "wide", "name": "Everything",
               "permissions": [{"type": "admin"}]}),
    )
    .await;
    assert_eq!(wide.status, 201, "{}", wide.text);
    let unknown_user = server
        .admin(
            Method::GET,
            &profiles_path("no-such-user"),
            &root_bearer,
            None,
        )
        .await;
    assert_error(&unknown_user, 404, "not_found");
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (bearer, alice) = manager(&server, "alice").await;
    let path = profiles_path(&alice);

    // alice's role `user` grants ReadBucket and WriteBucket on every bucket
    // and everything on devices.
    let before = env.row_counts().await;
    for (permissions, named) in [
        (
            json!([{"type": "bucket", "identifier": "*", "actions": ["DeleteBucket"]}]),
            "bucket:*:DeleteBucket",
        ),
        (
            json!([{"type": "bucket", "identifier": "*", "actions": ["*"]}]),
            "bucket:*:*",
        ),
        (json!([{"type": "admin"}]), "admin"),
        (
            json!([{"type": "user", "identifier": "*", "actions": ["ListUsers"]}]),
            "user:*:ListUsers",
        ),
    ] {
        let reply = create_profile(
            &server,
            &bearer,
            &alice,
            json!({"token_id": "wide", "name": "Too wide", "permissions": permissions}),
        )
        .await;
        assert_error(&reply, 403, "insufficient_scope");
        assert!(
            reply.body["error_description"]
                .as_str()
                .unwrap()
                .contains(named),
            "{}",
            reply.text
        );
    }
    assert_eq!(env.row_counts().await, before);

    // A profile may create profiles if granted token:CreateToken, but never
    // wider than itself.
    let delegate = create_profile(
        &server,
        &bearer,
        &alice,
        json!({"token_id": "delegate", "name": "Delegate", "permissions": [
            {"type": "token", "identifier": "*", "actions": ["CreateToken", "ListTokens"]},
            {"type": "bucket", "identifier": "telemetry", "actions": ["ReadBucket"]},
        ]}),
    )
    .await;
    assert_eq!(delegate.status, 201, "{}", delegate.text);
    let delegate = str_field(&delegate.body, "token").to_owned();
    let wider = create_profile(
        &server,
        &delegate,
        &alice,
        json!({"token_id": "wider", "name": "Wider", "permissions": [
            {"type": "bucket", "identifier": "*", "actions": ["ReadBucket"]},
        ]}),
    )
    .await;
    assert_error(&wider, 403, "insufficient_scope");
    let other_bucket = create_profile(
        &server,
        &delegate,
        &alice,
        json!({"token_id": "other", "name": "Other", "permissions": [
            {"type": "bucket", "identifier": "billing", "actions": ["ReadBucket"]},
        ]}),
    )
    .await;
    assert_error(&other_bucket, 403, "insufficient_scope");
    let narrower = create_profile(
        &server,
        &delegate,
        &alice,
        json!({"token_id": "narrower", "name": "Narrower", "permissions": [
            {"type": "bucket", "identifier": "telemetry", "actions": ["ReadBucket"]},
        ]}),
    )
    .await;
    assert_eq!(narrower.status, 201, "{}", narrower.text);
    // It may list but not edit or delete: those were not granted.
    let listed = server.admin(Method::GET, &path, &delegate, None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let edit = server
        .admin(
            Method::PATCH,
            &format!("{path}/narrower"),
            &delegate,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_error(&edit, 403, "insufficient_scope");
    assert!(edit.text.contains("token:UpdateToken"), "{}", edit.text);
    let delete = server
        .admin(Method::DELETE, &format!("{path}/narrower"), &delegate, None)
        .await;
    assert_error(&delete, 403, "insufficient_scope");
    // A user without the role cannot widen a profile by editing it either.
    let widen = server
        .admin(
            Method::PATCH,
            &format!("{path}/narrower"),
            &bearer,
            Some(&json!({"permissions": [{"type": "admin"}]})),
        )
        .await;
    assert_error(&widen, 403, "insufficient_scope");
}

#[tokio::test]
async fn bad_profile_requests_are_refused_and_write_nothing() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (bearer, alice) = manager(&server, "alice").await;
    let created = create_profile(&server, &bearer, &alice, read_one_bucket("taken")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = profiles_path(&alice);
    let grants = |count: usize| -> Vec<Value> {
        (0..count)
            .map(|i| json!({"type": "bucket", "identifier": format!("b{i}"), "actions": ["ReadBucket"]}))
            .collect()
    };

    let before = env.row_counts().await;
    for (body, status, named) in [
        (
            json!({"token_id": "x", "name": "n", "permissions": [
                {"type": "dashboard", "identifier": "*", "actions": ["*"]}]}),
            400,
            "\"dashboard\"",
        ),
        (
            json!({"token_id": "x", "name": "n", "permissions": [
                {"type": "bucket", "identifier": "*", "actions": ["EraseBucket"]}]}),
            400,
            "\"EraseBucket\"",
        ),
        (json!({"token_id": "taken", "name": "n"}), 409, "token_id"),
        (
            json!({"token_id": "x", "name": "n".repeat(101)}),
            400,
            "name",
        ),
        (json!({"token_id": "x", "name": ""}), 400, "name"),
        (json!({"token_id": "a/b", "name": "n"}), 400, "token_id"),
        (
            json!({"token_id": "x".repeat(65), "name": "n"}),
            400,
            "token_id",
        ),
        (
            json!({"token_id": "x", "name": "n", "permissions": grants(300)}),
            400,
            "at most 256",
        ),
        // Thousands do not even fit in a request body.
        (
            json!({"token_id": "x", "name": "n", "permissions": grants(5000)}),
            413,
            "too large",
        ),
        (
            json!({"token_id": "x", "name": "n", "colour": "red"}),
            400,
            "colour",
        ),
        (
            json!({"token_id": "x", "name": "n", "expires_at": 1}),
            400,
            "lifetime",
        ),
        (json!({"name": "n"}), 400, "token_id"),
    ] {
        let reply = create_profile(&server, &bearer, &alice, body).await;
        assert_eq!(reply.status.as_u16(), status, "{named}: {}", reply.text);
        assert!(
            reply.body["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains(named),
            "{named}: {}",
            reply.text
        );
    }
    for (content_type, body) in [
        ("application/json", b"{\"token_id\": ".to_vec()),
        ("text/plain", br#"{"token_id": "x", "name": "n"}"#.to_vec()),
    ] {
        let reply = server
            .raw_admin(Method::POST, &path, &bearer, content_type, body)
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    let empty_edit = server
        .admin(
            Method::PATCH,
            &format!("{path}/taken"),
            &bearer,
            Some(&json!({})),
        )
        .await;
    assert_error(&empty_edit, 400, "invalid_request");
    let bad_edit = server
        .admin(
            Method::PATCH,
            &format!("{path}/taken"),
            &bearer,
            Some(&json!({"permissions": [{"type": "bucket", "actions": ["ReadBucket"]}]})),
        )
        .await;
    assert_error(&bad_edit, 400, "invalid_request");
    assert_eq!(env.row_counts().await, before);
}

/// The example API guards `/devices/{device}/resources` with
/// `device:AccessDeviceResources`; an edit of the profile reaches it within one
/// poll of the revocation feed, though its answer was cached for much longer.
#[tokio::test]
async fn an_edit_reaches_the_verifier_within_one_feed_poll() {
    use std::time::{Duration, Instant};

    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let poll = Duration::from_millis(250);
    let verifier = server.caching_verifier(poll).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let router = tessera_example_resource_server::router(verifier.clone(), None);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let call = |device: &'static str, token: String| {
        let request = http
            .get(format!("{api}/devices/{device}/resources"))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };

    let (bearer, alice) = manager(&server, "alice").await;
    let created = create_profile(
        &server,
        &bearer,
        &alice,
        json!({"token_id": "sensor", "name": "Sensor reader", "permissions": [
            {"type": "device", "identifier": "d-17", "actions": ["AccessDeviceResources"]}]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = str_field(&created.body, "token").to_owned();
    let verified = verifier.verify(&token).await.unwrap();
    assert_eq!(verified.profile_token_id(), Some("sensor"));
    assert_eq!(verified.profile_name(), Some("Sensor reader"));
    assert!(verified.permits("device", "d-17", "AccessDeviceResources"));
    assert!(!verified.permits("device", "d-18", "AccessDeviceResources"));
    assert!(!verified.permits("device", "d-17", "DeleteDevice"));
    assert_eq!(call("d-17", token.clone()).await, 200);
    assert_eq!(call("d-18", token.clone()).await, 403);

    // Move the grant to another device: the cached answer goes at the next poll.
    let path = format!("{}/sensor", profiles_path(&alice));
    let edited = server
        .admin(
            Method::PATCH,
            &path,
            &bearer,
            Some(&json!({"permissions": [
                {"type": "device", "identifier": "d-18", "actions": ["AccessDeviceResources"]}]})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let edited_at = Instant::now();
    while call("d-17", token.clone()).await != 403 {
        assert!(
            edited_at.elapsed() < poll * 4,
            "the edit never reached the verifier"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(call("d-18", token.clone()).await, 200);

    // Disabling stops it the same way; enabling brings it back.
    let disabled = server
        .admin(
            Method::PATCH,
            &path,
            &bearer,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let disabled_at = Instant::now();
    while call("d-18", token.clone()).await != 401 {
        assert!(
            disabled_at.elapsed() < poll * 4,
            "the disabled token still works"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let enabled = server
        .admin(
            Method::PATCH,
            &path,
            &bearer,
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let enabled_at = Instant::now();
    while call("d-18", token.clone()).await != 200 {
        assert!(
            enabled_at.elapsed() < poll * 4,
            "the enabled token is still refused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
