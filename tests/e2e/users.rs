//! The Keycloak-compatible users API under `/admin/realms/{realm}/users` and
//! `/roles`: what Keycloak's tooling does, with Keycloak's status codes, guarded
//! by the permission model.

use reqwest::Method;
use serde_json::json;

use crate::kit::{assert_error, str_field, Env, RealmOptions, Server, PASSWORD};
use crate::token_profiles::{create_profile, manager};

const NEW_PASSWORD: &str = "a new password for carol";

async fn create_carol(server: &Server, bearer: &str) -> String {
    let reply = server
        .admin(
            Method::POST,
            "/users",
            bearer,
            Some(&json!({
                "username": "carol", "enabled": true, "email": "carol@example.com",
                "firstName": "Carol", "lastName": "Example", "emailVerified": true,
                "credentials": [{"type": "password", "value": PASSWORD, "temporary": false}],
            })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let location = reply.headers["location"].to_str().unwrap().to_owned();
    location.rsplit('/').next().unwrap().to_owned()
}

fn usernames(reply: &crate::kit::Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|user| str_field(user, "username").to_owned())
        .collect()
}

#[tokio::test]
async fn an_admin_manages_users_as_keycloak_tooling_expects() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, _) = manager(&server, "root").await;
    let carol = create_carol(&server, &root).await;
    let path = format!("/users/{carol}");

    let read = server.admin(Method::GET, &path, &root, None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["username"], "carol");
    assert_eq!(read.body["firstName"], "Carol");
    assert_eq!(read.body["email"], "carol@example.com");
    assert_eq!(read.body["enabled"], true);
    assert!(read.body["createdTimestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(
        server.password_login("app", "carol", PASSWORD).await.status,
        200
    );

    let taken = server
        .admin(
            Method::POST,
            "/users",
            &root,
            Some(&json!({"username": "carol"})),
        )
        .await;
    assert_error(&taken, 409, "invalid_request");

    // Search: a part of the username, any field, the whole username; pages.
    let found = server
        .admin(Method::GET, "/users?username=CAR", &root, None)
        .await;
    assert_eq!(usernames(&found), ["carol"]);
    let found = server
        .admin(Method::GET, "/users?search=example.com", &root, None)
        .await;
    assert_eq!(usernames(&found), ["alice", "carol"]);
    let found = server
        .admin(Method::GET, "/users?username=caro&exact=true", &root, None)
        .await;
    assert!(usernames(&found).is_empty());
    let all = server.admin(Method::GET, "/users", &root, None).await;
    let everyone = usernames(&all);
    assert_eq!(
        everyone,
        ["alice", "bob", "carol", "disabled", "expired", "root"]
    );
    let page = server
        .admin(Method::GET, "/users?first=1&max=2", &root, None)
        .await;
    assert_eq!(usernames(&page), ["bob", "carol"]);
    let count = server.admin(Method::GET, "/users/count", &root, None).await;
    assert_eq!(count.body, json!(6));
    let count = server
        .admin(Method::GET, "/users/count?search=example", &root, None)
        .await;
    assert_eq!(count.body, json!(2));

    let edited = server
        .admin(
            Method::PUT,
            &path,
            &root,
            Some(&json!({"firstName": "Caroline"})),
        )
        .await;
    assert_eq!(edited.status, 204, "{}", edited.text);
    let read = server.admin(Method::GET, &path, &root, None).await;
    assert_eq!(read.body["firstName"], "Caroline");
    assert_eq!(read.body["lastName"], "Example");

    let reset = server
        .admin(
            Method::PUT,
            &format!("{path}/reset-password"),
            &root,
            Some(&json!({"type": "password", "value": NEW_PASSWORD, "temporary": false})),
        )
        .await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    assert_eq!(
        server.password_login("app", "carol", PASSWORD).await.status,
        401
    );
    assert_eq!(
        server
            .password_login("app", "carol", NEW_PASSWORD)
            .await
            .status,
        200
    );

    // Realm roles and the user's mappings.
    let roles = server.admin(Method::GET, "/roles", &root, None).await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    let names: Vec<&str> = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| str_field(r, "name"))
        .collect();
    assert_eq!(names, ["user", "admin", "viewer"]);
    let role = server
        .admin(Method::GET, "/roles/viewer", &root, None)
        .await;
    assert_eq!(role.body["name"], "viewer");
    assert_eq!(role.body["clientRole"], false);
    let missing = server.admin(Method::GET, "/roles/nope", &root, None).await;
    assert_error(&missing, 404, "not_found");
    let mappings = format!("{path}/role-mappings/realm");
    let none = server.admin(Method::GET, &mappings, &root, None).await;
    assert_eq!(none.body, json!([]));
    let given = server
        .admin(
            Method::POST,
            &mappings,
            &root,
            Some(&json!([{"name": "user"}])),
        )
        .await;
    assert_eq!(given.status, 204, "{}", given.text);
    let held = server.admin(Method::GET, &mappings, &root, None).await;
    assert_eq!(held.body[0]["name"], "user");
    let unknown = server
        .admin(
            Method::POST,
            &mappings,
            &root,
            Some(&json!([{"name": "nope"}])),
        )
        .await;
    assert_error(&unknown, 404, "not_found");
    let taken_away = server
        .admin(
            Method::DELETE,
            &mappings,
            &root,
            Some(&json!([{"name": "user"}])),
        )
        .await;
    assert_eq!(taken_away.status, 204, "{}", taken_away.text);
    assert_eq!(
        server.admin(Method::GET, &mappings, &root, None).await.body,
        json!([])
    );

    // Disabling revokes the user's sessions and tokens; deleting removes the user.
    let session = server.password_login("app", "carol", NEW_PASSWORD).await;
    let refresh_token = str_field(&session.body, "refresh_token").to_owned();
    let profile = create_profile(
        &server,
        &root,
        &carol,
        json!({"token_id": "carols", "name": "Carol's", "permissions": []}),
    )
    .await;
    assert_eq!(profile.status, 201, "{}", profile.text);
    let profile_token = str_field(&profile.body, "token").to_owned();
    assert_eq!(server.introspect(&profile_token).await["active"], true);
    let disabled = server
        .admin(Method::PUT, &path, &root, Some(&json!({"enabled": false})))
        .await;
    assert_eq!(disabled.status, 204, "{}", disabled.text);
    assert_error(&server.refresh(&refresh_token).await, 400, "invalid_grant");
    assert_eq!(server.introspect(&profile_token).await["active"], false);
    let deleted = server.admin(Method::DELETE, &path, &root, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_error(
        &server.admin(Method::GET, &path, &root, None).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn managing_users_takes_the_permissions_and_never_escalates() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, root_id) = manager(&server, "root").await;
    let (alice, alice_id) = manager(&server, "alice").await;
    let (_, bob_id) = manager(&server, "bob").await;

    // alice's role grants nothing on users.
    for (method, path) in [
        (Method::GET, "/users".to_owned()),
        (Method::GET, "/users/count".to_owned()),
        (Method::GET, format!("/users/{bob_id}")),
        (Method::GET, "/roles".to_owned()),
    ] {
        let reply = server.admin(method, &path, &alice, None).await;
        assert_error(&reply, 403, "insufficient_scope");
    }
    let before = env.row_counts().await;
    let create = server
        .admin(
            Method::POST,
            "/users",
            &alice,
            Some(&json!({"username": "mallory"})),
        )
        .await;
    assert_error(&create, 403, "insufficient_scope");
    assert_eq!(env.row_counts().await, before);

    // The role `viewer` lets bob read users, not change them.
    let given = server
        .admin(
            Method::POST,
            &format!("/users/{bob_id}/role-mappings/realm"),
            &root,
            Some(&json!([{"name": "viewer"}])),
        )
        .await;
    assert_eq!(given.status, 204, "{}", given.text);
    let (bob, _) = manager(&server, "bob").await;
    assert_eq!(
        usernames(&server.admin(Method::GET, "/users", &bob, None).await).len(),
        5
    );
    let read = server
        .admin(Method::GET, &format!("/users/{alice_id}"), &bob, None)
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    let edit = server
        .admin(
            Method::PUT,
            &format!("/users/{alice_id}"),
            &bob,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_error(&edit, 403, "insufficient_scope");

    // A profile that may update users cannot hand out a role wider than
    // itself, nor touch a user whose roles grant more than it holds.
    let editor = create_profile(
        &server,
        &root,
        &root_id,
        json!({"token_id": "editor", "name": "User editor", "permissions": [
            {"type": "user", "identifier": "*",
             "actions": ["UpdateUser", "ReadUserConfig", "ListUsers"]}]}),
    )
    .await;
    assert_eq!(editor.status, 201, "{}", editor.text);
    let editor = str_field(&editor.body, "token").to_owned();
    let before = env.row_counts().await;
    let promote = server
        .admin(
            Method::POST,
            &format!("/users/{bob_id}/role-mappings/realm"),
            &editor,
            Some(&json!([{"name": "admin"}])),
        )
        .await;
    assert_error(&promote, 403, "insufficient_scope");
    let demote_root = server
        .admin(
            Method::PUT,
            &format!("/users/{root_id}"),
            &editor,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_error(&demote_root, 403, "insufficient_scope");
    // Uses of the editor's token are recorded; nothing else changed.
    let after: Vec<(String, i64)> = env
        .row_counts()
        .await
        .into_iter()
        .filter(|(table, _)| table != "token_events")
        .collect();
    let before: Vec<(String, i64)> = before
        .into_iter()
        .filter(|(table, _)| table != "token_events")
        .collect();
    assert_eq!(after, before);
    assert_eq!(
        server.password_login("app", "root", PASSWORD).await.status,
        200
    );
    // bob's roles (viewer) grant only user reads and lists, which the editor holds.
    let rename = server
        .admin(
            Method::PUT,
            &format!("/users/{bob_id}"),
            &editor,
            Some(&json!({"firstName": "Robert"})),
        )
        .await;
    assert_eq!(rename.status, 204, "{}", rename.text);
}

#[tokio::test]
async fn bad_user_requests_are_refused_and_write_nothing() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, _) = manager(&server, "root").await;
    let before = env.row_counts().await;
    for body in [
        json!({"username": "dave", "credentials": [{"type": "password", "value": "x", "temporary": true}]}),
        json!({"username": "dave", "credentials": [{"type": "otp", "value": "123456"}]}),
        json!({"username": ""}),
        json!({"username": "d".repeat(300)}),
        json!({"email": "no-username@example.com"}),
        json!({"username": "dave", "credentials": [
            {"type": "password", "value": "one"}, {"type": "password", "value": "two"}]}),
    ] {
        let reply = server
            .admin(Method::POST, "/users", &root, Some(&body))
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    let too_many = server
        .admin(Method::GET, "/users?max=5000", &root, None)
        .await;
    assert_error(&too_many, 400, "invalid_request");
    let negative = server
        .admin(Method::GET, "/users?first=-1", &root, None)
        .await;
    assert_error(&negative, 400, "invalid_request");
    let not_json = server
        .raw_admin(Method::POST, "/users", &root, "text/plain", b"{}".to_vec())
        .await;
    assert_error(&not_json, 400, "invalid_request");
    let unknown = server
        .admin(Method::GET, "/users/no-such-user", &root, None)
        .await;
    assert_error(&unknown, 404, "not_found");
    assert_eq!(env.row_counts().await, before);
}

/// Many admins at once, each disabling or deleting a user whose token is in
/// use meanwhile: every change lands (SQLite included, where a transaction
/// that read before it wrote used to fail at once when another writer had
/// committed in between), and every token stops.
#[tokio::test]
async fn users_are_disabled_and_deleted_while_their_tokens_are_in_use() {
    const USERS: usize = 8;
    let env = Env::new(RealmOptions::default()).await;
    let server = std::sync::Arc::new(env.start().await);
    let (root, _) = manager(&server, "root").await;
    let mut jobs = tokio::task::JoinSet::new();
    for n in 0..USERS {
        let created = server
            .admin(
                Method::POST,
                "/users",
                &root,
                Some(&json!({"username": format!("busy{n}"), "enabled": true})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let location = created.headers["location"].to_str().unwrap().to_owned();
        let path = format!("/users/{}", location.rsplit('/').next().unwrap());
        let user_id = path.trim_start_matches("/users/").to_owned();
        let profile = create_profile(
            &server,
            &root,
            &user_id,
            json!({"token_id": "busy", "name": "Busy", "permissions": []}),
        )
        .await;
        assert_eq!(profile.status, 201, "{}", profile.text);
        let token = str_field(&profile.body, "token").to_owned();
        let (server, root) = (server.clone(), root.clone());
        jobs.spawn(async move {
            for _ in 0..3 {
                assert_eq!(server.introspect(&token).await["active"], true);
            }
            let change = if n % 2 == 0 {
                server.admin(Method::DELETE, &path, &root, None).await
            } else {
                let disable = json!({"enabled": false});
                server
                    .admin(Method::PUT, &path, &root, Some(&disable))
                    .await
            };
            assert_eq!(change.status, 204, "{}", change.text);
            for _ in 0..3 {
                assert_eq!(server.introspect(&token).await["active"], false);
            }
        });
    }
    while let Some(job) = jobs.join_next().await {
        job.unwrap();
    }
    let remaining = server
        .admin(Method::GET, "/users?search=busy", &root, None)
        .await;
    assert_eq!(usernames(&remaining).len(), USERS / 2);
}
