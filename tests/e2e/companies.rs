//! Companies and API subscriptions: a realm admin creates a company and a
//! subscription, a company admin assigns users and generates user and
//! userless tokens, resource servers learn whose each token is, and every
//! cascade takes exactly the tokens it should.

use reqwest::Method;
use serde_json::{json, Value};

use crate::kit::{assert_error, str_field, Env, RealmOptions, Server};
use crate::token_profiles::manager;

async fn create_company(server: &Server, root: &str, name: &str) -> String {
    let reply = server
        .admin(
            Method::POST,
            "/companies",
            root,
            Some(&json!({"name": name})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert!(reply.headers["location"]
        .to_str()
        .unwrap()
        .ends_with(str_field(&reply.body, "id")));
    str_field(&reply.body, "id").to_owned()
}

async fn create_subscription(server: &Server, root: &str, company: &str) -> String {
    let reply = server
        .admin(
            Method::POST,
            &format!("/companies/{company}/subscriptions"),
            root,
            Some(&json!({
                "name": "Telemetry API",
                "audience": "api",
                "permissions": [
                    {"type": "bucket", "identifier": "telemetry", "actions": ["ReadBucket"]}
                ],
            })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    str_field(&reply.body, "id").to_owned()
}

async fn put_member(server: &Server, bearer: &str, company: &str, user: &str, roles: Value) {
    let reply = server
        .admin(
            Method::PUT,
            &format!("/companies/{company}/members/{user}"),
            bearer,
            Some(&json!({"roles": roles})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

/// A company with a subscription; alice is its company admin and bob a
/// member assigned to the subscription.
struct Acme {
    company: String,
    subscription: String,
    alice: String,
    bob_id: String,
}

async fn acme(server: &Server, root: &str) -> Acme {
    let company = create_company(server, root, "Acme").await;
    let subscription = create_subscription(server, root, &company).await;
    let (alice, alice_id) = manager(server, "alice").await;
    let (_, bob_id) = manager(server, "bob").await;
    put_member(server, root, &company, &alice_id, json!(["company-admin"])).await;
    put_member(server, &alice, &company, &bob_id, json!([])).await;
    let assigned = server
        .admin(
            Method::PUT,
            &format!("/companies/{company}/subscriptions/{subscription}/assignments/{bob_id}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(assigned.status, 204, "{}", assigned.text);
    Acme {
        company,
        subscription,
        alice,
        bob_id,
    }
}

fn tokens_path(acme: &Acme) -> String {
    format!(
        "/companies/{}/subscriptions/{}/tokens",
        acme.company, acme.subscription
    )
}

async fn generate(server: &Server, acme: &Acme, body: Value) -> crate::kit::Reply {
    server
        .admin(Method::POST, &tokens_path(acme), &acme.alice, Some(&body))
        .await
}

/// The fields of an RFC 4180 record without quoted line breaks.
fn csv_record(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[tokio::test]
async fn a_company_admin_generates_tokens_that_resource_servers_can_trace() {
    use std::time::{Duration, Instant};

    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let poll = Duration::from_millis(250);
    let verifier = server.caching_verifier(poll).await;
    let (root, _) = manager(&server, "root").await;
    let acme = acme(&server, &root).await;

    let laptop = generate(
        &server,
        &acme,
        json!({"user_id": acme.bob_id, "name": "Bob's laptop"}),
    )
    .await;
    assert_eq!(laptop.status, 201, "{}", laptop.text);
    let laptop_token = str_field(&laptop.body, "token").to_owned();
    assert!(laptop_token.starts_with("tsr_ct_"));

    // The same call answers a CSV file to download when asked for one.
    let download = server
        .http
        .post(server.url(&format!("/admin/realms/test-realm{}", tokens_path(&acme))))
        .bearer_auth(&acme.alice)
        .header("accept", "text/csv")
        .json(&json!({"user_id": acme.bob_id, "name": "Bob's phone, \"work\""}))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 201);
    assert_eq!(
        download.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename="),
        "{disposition}"
    );
    let file = download.text().await.unwrap();
    let lines: Vec<&str> = file.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{file}");
    assert_eq!(
        csv_record(lines[0]),
        [
            "token_id",
            "name",
            "token",
            "user",
            "company",
            "subscription",
            "created",
            "expires"
        ]
    );
    let row = csv_record(lines[1]);
    assert_eq!(row[1], "Bob's phone, \"work\"");
    assert_eq!(row[3], "bob");
    assert_eq!(row[4], acme.company);
    assert_eq!(row[5], acme.subscription);
    let phone_token = row[2].clone();

    let machine = generate(&server, &acme, json!({"name": "Ingest machine"})).await;
    assert_eq!(machine.status, 201, "{}", machine.text);
    let machine_token = str_field(&machine.body, "token").to_owned();

    // A resource server in the subscription's audience learns whose each is.
    for (token, name) in [
        (&laptop_token, "Bob's laptop"),
        (&phone_token, "Bob's phone, \"work\""),
    ] {
        let answer = server.introspect(token).await;
        assert_eq!(answer["active"], true, "{answer}");
        assert_eq!(answer["company_id"], acme.company.as_str());
        assert_eq!(answer["subscription_id"], acme.subscription.as_str());
        assert_eq!(answer["sub"], acme.bob_id.as_str());
        assert_eq!(answer["preferred_username"], "bob");
        assert_eq!(answer["name"], name);
        assert_eq!(
            answer["authorization_details"],
            json!([{"type": "bucket", "identifier": "telemetry", "actions": ["ReadBucket"]}])
        );
    }
    let answer = server.introspect(&machine_token).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_id"], str_field(&machine.body, "id"));
    assert_eq!(answer["subscription_id"], acme.subscription.as_str());
    assert!(answer.get("sub").is_none() && answer.get("preferred_username").is_none());

    // So does a resource server verifying them with tessera-verify.
    for token in [&laptop_token, &phone_token] {
        let verified = verifier.verify(token).await.unwrap();
        let company = verified.company().unwrap();
        assert_eq!(company.company_id, acme.company);
        assert_eq!(company.subscription_id, acme.subscription);
        assert_eq!(company.user_id, Some(acme.bob_id.as_str()));
        assert_eq!(company.username, Some("bob"));
        assert!(verified.permits("bucket", "telemetry", "ReadBucket"));
        assert!(!verified.permits("bucket", "other", "ReadBucket"));
        assert_eq!(verified.profile_token_id(), None);
    }
    let verified = verifier.verify(&machine_token).await.unwrap();
    let company = verified.company().unwrap();
    assert_eq!(company.token_id, str_field(&machine.body, "id"));
    assert_eq!(company.name, "Ingest machine");
    assert_eq!((company.user_id, company.username), (None, None));

    // The overview, filtered by user and userless.
    let overview = |query: &'static str| {
        let path = format!("/companies/{}/tokens{query}", acme.company);
        let (server, alice) = (&server, acme.alice.clone());
        async move { server.admin(Method::GET, &path, &alice, None).await }
    };
    let count = |reply: &crate::kit::Reply| {
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["tokens"].as_array().unwrap().len()
    };
    assert_eq!(count(&overview("").await), 3);
    assert_eq!(count(&overview("?userless=true").await), 1);
    let bobs = server
        .admin(
            Method::GET,
            &format!("/companies/{}/tokens?user={}", acme.company, acme.bob_id),
            &acme.alice,
            None,
        )
        .await;
    assert_eq!(count(&bobs), 2);
    assert!(bobs.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .all(|token| token.get("token").is_none()));

    // Removing bob from the company kills exactly his tokens.
    let removed = server
        .admin(
            Method::DELETE,
            &format!("/companies/{}/members/{}", acme.company, acme.bob_id),
            &acme.alice,
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(server.introspect(&laptop_token).await["active"], false);
    assert_eq!(server.introspect(&phone_token).await["active"], false);
    assert_eq!(server.introspect(&machine_token).await["active"], true);
    assert_eq!(count(&overview("").await), 1);
    // The verifier cached bob's tokens for a minute, but the feed tells it.
    let deadline = Instant::now() + 20 * poll;
    while verifier.verify(&laptop_token).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the verifier still accepts a removed token"
        );
        tokio::time::sleep(poll / 5).await;
    }
    assert!(verifier.verify(&phone_token).await.is_err());
    assert!(verifier.verify(&machine_token).await.is_ok());

    // The audit trail says who did what, and each use of the userless token.
    server.service().personal_tokens.flush_usage().await;
    let trail = server
        .admin(
            Method::GET,
            &format!("/companies/{}/events", acme.company),
            &root,
            None,
        )
        .await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    let events = trail.body["events"].as_array().unwrap();
    let (_, alice_id) = manager(&server, "alice").await;
    let by_alice = |event: &str| {
        events
            .iter()
            .filter(|entry| entry["event"] == event && entry["actor_id"] == alice_id.as_str())
            .count()
    };
    assert_eq!(by_alice("token_created"), 3);
    assert_eq!(by_alice("token_deleted"), 2);
    assert_eq!(by_alice("member_removed"), 1);
    assert_eq!(by_alice("user_assigned"), 1);
    let machine_uses = events
        .iter()
        .filter(|entry| {
            entry["event"] == "token_used" && entry["token_id"] == str_field(&machine.body, "id")
        })
        .count();
    // Two introspections here, and the verifier's first (it cached the answer).
    assert_eq!(machine_uses, 3);
}

#[tokio::test]
async fn company_requests_out_of_bounds_are_refused_and_write_nothing() {
    let env = Env::new(RealmOptions {
        company_tokens: "max_per_user = 1\nmax_per_subscription = 2".to_owned(),
        ..RealmOptions::default()
    })
    .await;
    let server = env.start().await;
    let (root, root_id) = manager(&server, "root").await;
    let acme = acme(&server, &root).await;
    let other = create_company(&server, &root, "Globex").await;
    let other_subscription = create_subscription(&server, &root, &other).await;
    let (bob, _) = manager(&server, "bob").await;

    let before = env.row_counts().await;
    let refusals = [
        // A member without company-admin may not manage the company.
        (
            Method::GET,
            format!("/companies/{}/tokens", acme.company),
            bob.clone(),
            None,
            403,
            "insufficient_scope",
        ),
        (
            Method::PUT,
            format!("/companies/{}/members/{root_id}", acme.company),
            bob.clone(),
            Some(json!({"roles": ["company-admin"]})),
            403,
            "insufficient_scope",
        ),
        // A company admin does not see another company.
        (
            Method::GET,
            format!("/companies/{other}"),
            acme.alice.clone(),
            None,
            404,
            "not_found",
        ),
        (
            Method::POST,
            format!("/companies/{other}/subscriptions/{other_subscription}/tokens"),
            acme.alice.clone(),
            Some(json!({"name": "Sneaky"})),
            404,
            "not_found",
        ),
        // Nor another company's subscription through their own company.
        (
            Method::POST,
            format!(
                "/companies/{}/subscriptions/{other_subscription}/tokens",
                acme.company
            ),
            acme.alice.clone(),
            Some(json!({"name": "Sneaky"})),
            404,
            "not_found",
        ),
        // Only realm admins create subscriptions.
        (
            Method::POST,
            format!("/companies/{}/subscriptions", acme.company),
            acme.alice.clone(),
            Some(json!({"name": "Free", "audience": "api"})),
            403,
            "insufficient_scope",
        ),
        // A user token needs its user assigned (root is no member at all).
        (
            Method::POST,
            tokens_path(&acme),
            acme.alice.clone(),
            Some(json!({"user_id": root_id, "name": "Not assigned"})),
            409,
            "invalid_request",
        ),
        // A subscription for an API the realm does not have.
        (
            Method::POST,
            format!("/companies/{}/subscriptions", acme.company),
            root.clone(),
            Some(json!({"name": "Nowhere", "audience": "no-such-client"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            tokens_path(&acme),
            acme.alice.clone(),
            Some(json!({"name": "Forever", "lifetime": 999_999_999})),
            400,
            "invalid_request",
        ),
    ];
    for (method, path, bearer, body, status, error) in refusals {
        let reply = server
            .admin(method.clone(), &path, &bearer, body.as_ref())
            .await;
        assert_error(&reply, status, error);
        assert_eq!(env.row_counts().await, before, "{method} {path} wrote");
    }

    // Limits: one token per user, two per subscription.
    let first = generate(
        &server,
        &acme,
        json!({"user_id": acme.bob_id, "name": "One"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let userless = generate(&server, &acme, json!({"name": "Two"})).await;
    assert_eq!(userless.status, 201, "{}", userless.text);
    let before = env.row_counts().await;
    let per_user = generate(
        &server,
        &acme,
        json!({"user_id": acme.bob_id, "name": "Again"}),
    )
    .await;
    assert_error(&per_user, 409, "invalid_request");
    let per_subscription = generate(&server, &acme, json!({"name": "Three"})).await;
    assert_error(&per_subscription, 409, "invalid_request");
    assert_eq!(env.row_counts().await, before);

    // Rename one; "delete all" of a user's tokens, or of the userless ones.
    let one = format!("{}/{}", tokens_path(&acme), str_field(&first.body, "id"));
    let renamed = server
        .admin(
            Method::PATCH,
            &one,
            &acme.alice,
            Some(&json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Renamed");
    assert!(renamed.body.get("token").is_none());
    let neither = server
        .admin(Method::DELETE, &tokens_path(&acme), &acme.alice, None)
        .await;
    assert_error(&neither, 400, "invalid_request");
    let spare = generate(&server, &acme, json!({"name": "Spare"})).await;
    assert_error(&spare, 409, "invalid_request");
    let none_left = server
        .admin(
            Method::DELETE,
            &format!("{}?user={}", tokens_path(&acme), acme.bob_id),
            &acme.alice,
            None,
        )
        .await;
    assert_eq!(none_left.status, 200, "{}", none_left.text);
    assert_eq!(none_left.body["deleted"], 1);
    assert_eq!(
        server.introspect(str_field(&first.body, "token")).await["active"],
        false
    );
    let again = generate(
        &server,
        &acme,
        json!({"user_id": acme.bob_id, "name": "Again"}),
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.text);
    let first = again;

    // Unassigning deletes the user's tokens; deleting the subscription the rest.
    let token = str_field(&userless.body, "token").to_owned();
    let unassigned = server
        .admin(
            Method::DELETE,
            &format!(
                "/companies/{}/subscriptions/{}/assignments/{}",
                acme.company, acme.subscription, acme.bob_id
            ),
            &acme.alice,
            None,
        )
        .await;
    assert_eq!(unassigned.status, 204, "{}", unassigned.text);
    assert_eq!(
        server.introspect(str_field(&first.body, "token")).await["active"],
        false
    );
    assert_eq!(server.introspect(&token).await["active"], true);
    let deleted = server
        .admin(
            Method::DELETE,
            &format!(
                "/companies/{}/subscriptions/{}",
                acme.company, acme.subscription
            ),
            &acme.alice,
            None,
        )
        .await;
    assert_error(&deleted, 403, "insufficient_scope");
    let deleted = server
        .admin(
            Method::DELETE,
            &format!(
                "/companies/{}/subscriptions/{}",
                acme.company, acme.subscription
            ),
            &root,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(server.introspect(&token).await["active"], false);
}

#[tokio::test]
async fn a_disabled_subscription_or_user_makes_tokens_inactive_without_deleting_them() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, _) = manager(&server, "root").await;
    let acme = acme(&server, &root).await;
    let user_token = generate(
        &server,
        &acme,
        json!({"user_id": acme.bob_id, "name": "Bob"}),
    )
    .await;
    let user_token = str_field(&user_token.body, "token").to_owned();
    let machine = generate(&server, &acme, json!({"name": "Machine"})).await;
    let machine = str_field(&machine.body, "token").to_owned();
    let subscription = format!(
        "/companies/{}/subscriptions/{}",
        acme.company, acme.subscription
    );

    let disabled = server
        .admin(
            Method::PATCH,
            &subscription,
            &root,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(server.introspect(&machine).await["active"], false);
    let enabled = server
        .admin(
            Method::PATCH,
            &subscription,
            &root,
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(server.introspect(&machine).await["active"], true);

    // A token is only active for the subscription's audience: another
    // confidential client learns nothing.
    let reply = server
        .post_form_basic(
            "/protocol/openid-connect/token/introspect",
            "other-api",
            "other-api-secret-0123456789",
            &[("token", machine.as_str())],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({"active": false}));

    let bob = format!("/users/{}", acme.bob_id);
    let off = server
        .admin(Method::PUT, &bob, &root, Some(&json!({"enabled": false})))
        .await;
    assert_eq!(off.status, 204, "{}", off.text);
    assert_eq!(server.introspect(&user_token).await["active"], false);
    assert_eq!(server.introspect(&machine).await["active"], true);
    let on = server
        .admin(Method::PUT, &bob, &root, Some(&json!({"enabled": true})))
        .await;
    assert_eq!(on.status, 204, "{}", on.text);
    assert_eq!(server.introspect(&user_token).await["active"], true);
}

/// How many tokens the overview of `acme`'s company lists.
async fn listed_tokens(server: &Server, acme: &Acme) -> usize {
    let path = format!("/companies/{}/tokens", acme.company);
    let reply = server.admin(Method::GET, &path, &acme.alice, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["tokens"].as_array().unwrap().len()
}

#[tokio::test]
async fn validity_windows_that_exclude_now_make_tokens_inactive_and_userless_ones_go_together() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, _) = manager(&server, "root").await;
    let acme = acme(&server, &root).await;
    let machine = generate(&server, &acme, json!({"name": "Machine"})).await;
    let machine = str_field(&machine.body, "token").to_owned();
    let subscription = format!(
        "/companies/{}/subscriptions/{}",
        acme.company, acme.subscription
    );
    let now = tessera_token::Timestamp::now().unix_seconds();

    // A window that ended, or one that has not begun: inactive, not deleted.
    for window in [
        json!({"valid_until": now - 60}),
        json!({"valid_from": now + 3600, "valid_until": null}),
    ] {
        let patched = server
            .admin(Method::PATCH, &subscription, &root, Some(&window))
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        assert_eq!(
            server.introspect(&machine).await["active"],
            false,
            "{window}"
        );
        assert_eq!(listed_tokens(&server, &acme).await, 1);
    }
    let reopened = server
        .admin(
            Method::PATCH,
            &subscription,
            &root,
            Some(&json!({"valid_from": now - 60, "valid_until": now + 3600})),
        )
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.text);
    assert_eq!(server.introspect(&machine).await["active"], true);

    // A member whose own validity date passes, with no request in between.
    let carol = tessera_token::NewUserRequest {
        realm: crate::kit::REALM.to_owned(),
        username: "carol".to_owned(),
        email: None,
        password: tessera_proto::SecretString::new("correct horse battery staple"),
        enabled: true,
        valid_until: Some(
            tessera_token::Timestamp::now().saturating_add(std::time::Duration::from_millis(1500)),
        ),
        roles: vec!["user".to_owned()],
    };
    let service = server.service();
    assert!(service.users.add_user_if_absent(carol).await.unwrap());
    let carol_id: String = service
        .users
        .find_user_by_username(crate::kit::REALM, "carol")
        .await
        .unwrap()
        .unwrap()
        .id
        .into();
    put_member(&server, &acme.alice, &acme.company, &carol_id, json!([])).await;
    let assigned = server
        .admin(
            Method::PUT,
            &format!("{subscription}/assignments/{carol_id}"),
            &acme.alice,
            None,
        )
        .await;
    assert_eq!(assigned.status, 204, "{}", assigned.text);
    let carols = generate(
        &server,
        &acme,
        json!({"user_id": carol_id, "name": "Carol"}),
    )
    .await;
    assert_eq!(carols.status, 201, "{}", carols.text);
    let carols = str_field(&carols.body, "token").to_owned();
    assert_eq!(server.introspect(&carols).await["active"], true);
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(server.introspect(&carols).await["active"], false);
    assert_eq!(server.introspect(&machine).await["active"], true);

    // "Delete all" of the userless tokens takes every one of them, and no
    // user's token.
    let bobs = generate(
        &server,
        &acme,
        json!({"user_id": acme.bob_id, "name": "Bob"}),
    )
    .await;
    let bobs = str_field(&bobs.body, "token").to_owned();
    let second = generate(&server, &acme, json!({"name": "Second machine"})).await;
    let second = str_field(&second.body, "token").to_owned();
    let deleted = server
        .admin(
            Method::DELETE,
            &format!("{}?userless=true", tokens_path(&acme)),
            &acme.alice,
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["deleted"], 2);
    assert_eq!(server.introspect(&machine).await["active"], false);
    assert_eq!(server.introspect(&second).await["active"], false);
    assert_eq!(server.introspect(&bobs).await["active"], true);
    assert_eq!(listed_tokens(&server, &acme).await, 2);
}
