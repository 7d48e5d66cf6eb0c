//! Endpoint tokens: an operator turns token authentication on for an
//! endpoint and receives its primary tokens, creates secondary tokens for
//! consuming applications and assigns them; the platform checks each call
//! and the usage view shows who called.

use reqwest::Method;
use serde_json::{json, Value};

use crate::kit::{assert_error, str_field, Env, RealmOptions, Server};
use crate::token_profiles::manager;

/// The platform: a confidential client of the realm.
const PLATFORM: (&str, &str) = ("api", "api-client-secret-0123456789");

async fn check(server: &Server, endpoint: &str, method: &str, token: &str) -> Value {
    let reply = server
        .post_form_basic(
            "/endpoints/check",
            PLATFORM.0,
            PLATFORM.1,
            &[("endpoint", endpoint), ("method", method), ("token", token)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

async fn assert_allowed(server: &Server, endpoint: &str, method: &str, token: &str) -> Value {
    let answer = check(server, endpoint, method, token).await;
    assert_eq!(answer["allowed"], true, "{method}: {answer}");
    answer
}

async fn assert_refused(server: &Server, endpoint: &str, method: &str, token: &str, reason: &str) {
    let answer = check(server, endpoint, method, token).await;
    assert_eq!(
        answer,
        json!({"allowed": false, "reason": reason}),
        "{method}"
    );
}

/// The generated primary token for `method` in a create or update answer.
fn primary<'a>(answer: &'a Value, method: &str) -> &'a str {
    answer["generated_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["method"] == method)
        .and_then(|token| token["token"].as_str())
        .unwrap_or_else(|| panic!("no {method} token in {answer}"))
}

async fn create_endpoint(server: &Server, root: &str) -> Value {
    let reply = server
        .admin(
            Method::POST,
            "/endpoints",
            root,
            Some(&json!({
                "name": "Orders",
                "description": "Order intake",
                "path": "/ingest/orders",
                "authentication": "token",
                "allow_delete": true,
            })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn secondary(server: &Server, root: &str, name: &str) -> (String, String) {
    let reply = server
        .admin(
            Method::POST,
            "/endpoint-tokens",
            root,
            Some(&json!({"name": name})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let token = str_field(&reply.body, "token").to_owned();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
    (str_field(&reply.body, "id").to_owned(), token)
}

async fn assign(server: &Server, root: &str, endpoint: &str, token: &str, methods: Value) -> u16 {
    server
        .admin(
            Method::PUT,
            &format!("/endpoints/{endpoint}/tokens/{token}"),
            root,
            Some(&json!({"methods": methods})),
        )
        .await
        .status
        .as_u16()
}

async fn patch(server: &Server, root: &str, path: &str, body: Value) -> Value {
    let reply = server.admin(Method::PATCH, path, root, Some(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// The token ids of the endpoint's calls, newest first, filtered by `query`.
async fn call_tokens(server: &Server, root: &str, endpoint: &str, query: &str) -> Vec<Value> {
    server.service().personal_tokens.flush_usage().await;
    let reply = server
        .admin(
            Method::GET,
            &format!("/endpoints/{endpoint}/calls{query}"),
            root,
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["calls"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_operator_guards_an_endpoint_with_primary_and_secondary_tokens() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    endpoint_story(&server).await;
}

/// The whole story, asserted step by step; the hot-path plan check walks it
/// too.
pub(crate) async fn endpoint_story(server: &Server) {
    let (root, _) = manager(server, "root").await;

    // Token authentication with deletion allowed: three primary tokens.
    let created = create_endpoint(server, &root).await;
    let endpoint = str_field(&created["endpoint"], "id").to_owned();
    assert_eq!(created["generated_tokens"].as_array().unwrap().len(), 3);
    for method in ["GET", "POST", "DELETE"] {
        let answer = assert_allowed(server, &endpoint, method, primary(&created, method)).await;
        assert_eq!(answer["token_kind"], "primary");
        assert_eq!(answer["name"], format!("{method} primary"));
    }
    // A primary token is for its own method only.
    assert_refused(
        server,
        &endpoint,
        "POST",
        primary(&created, "GET"),
        "method_not_allowed",
    )
    .await;
    let read = server
        .admin(Method::GET, &format!("/endpoints/{endpoint}"), &root, None)
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["primary_tokens"].as_array().unwrap().len(), 3);
    assert!(!read.text.contains(primary(&created, "GET")));

    // Regenerating POST: the old value fails at once, the new one works.
    let old_post = primary(&created, "POST").to_owned();
    let regenerated = server
        .admin(
            Method::POST,
            &format!("/endpoints/{endpoint}/primary-tokens/POST"),
            &root,
            None,
        )
        .await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    let new_post = str_field(&regenerated.body, "token").to_owned();
    assert_refused(server, &endpoint, "POST", &old_post, "unknown_token").await;
    assert_allowed(server, &endpoint, "POST", &new_post).await;
    // A method endpoints do not have is refused, once the caller is known,
    // for a regeneration and a reveal alike; nothing changes.
    let unknown = format!("/endpoints/{endpoint}/primary-tokens/PUT");
    let stranger = server
        .admin(Method::POST, &unknown, "not-a-token", None)
        .await;
    assert_eq!(stranger.status, 401, "{}", stranger.text);
    for path in [unknown.clone(), format!("{unknown}/secret")] {
        let method = if path.ends_with("/secret") {
            Method::GET
        } else {
            Method::POST
        };
        let refused = server.admin(method, &path, &root, None).await;
        assert_eq!(refused.status, 400, "{path}: {}", refused.text);
        assert_eq!(refused.body["error"], "invalid_request", "{path}");
    }
    assert_allowed(server, &endpoint, "POST", &new_post).await;

    // Two applications, both assigned.
    let (crm, crm_token) = secondary(server, &root, "CRM").await;
    let (shop, shop_token) = secondary(server, &root, "Shop").await;
    assert_refused(server, &endpoint, "GET", &crm_token, "unassigned").await;
    assert_eq!(
        assign(server, &root, &endpoint, &crm, json!(["GET", "POST"])).await,
        204
    );
    assert_eq!(
        assign(
            server,
            &root,
            &endpoint,
            &shop,
            json!(["GET", "POST", "DELETE"])
        )
        .await,
        204
    );
    for token in [&crm_token, &shop_token] {
        let answer = assert_allowed(server, &endpoint, "POST", token).await;
        assert_eq!(answer["token_kind"], "secondary");
    }
    let answer = assert_allowed(server, &endpoint, "GET", &crm_token).await;
    assert_eq!(
        (&answer["token_id"], &answer["name"]),
        (&json!(crm), &json!("CRM"))
    );
    assert_refused(
        server,
        &endpoint,
        "DELETE",
        &crm_token,
        "method_not_allowed",
    )
    .await;
    let view = server
        .admin(
            Method::GET,
            &format!("/endpoints/{endpoint}/tokens?assigned=true"),
            &root,
            None,
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["tokens"].as_array().unwrap().len(), 2);

    // Disabling one application stops exactly its calls.
    let disabled = patch(
        server,
        &root,
        &format!("/endpoint-tokens/{crm}"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(disabled["enabled"], false);
    assert_refused(server, &endpoint, "GET", &crm_token, "disabled").await;
    assert_allowed(server, &endpoint, "GET", &shop_token).await;

    // The usage view, filtered by each token.
    let crm_calls = call_tokens(server, &root, &endpoint, &format!("?token={crm}")).await;
    assert!(!crm_calls.is_empty());
    assert!(crm_calls
        .iter()
        .all(|call| call["token_id"] == crm.as_str()));
    assert_eq!(crm_calls[0]["outcome"], "disabled");
    assert_eq!(crm_calls[0]["token_name"], "CRM");
    let shop_calls = call_tokens(server, &root, &endpoint, &format!("?token={shop}")).await;
    assert!(shop_calls
        .iter()
        .all(|call| call["token_id"] == shop.as_str()));
    assert_eq!(shop_calls[0]["outcome"], "allowed");
    // Pages, newest first: `next_before` leads to the older calls.
    let page = |query: String| {
        let (root, endpoint) = (root.clone(), &endpoint);
        async move {
            let reply = server
                .admin(
                    Method::GET,
                    &format!("/endpoints/{endpoint}/calls{query}"),
                    &root,
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.body
        }
    };
    let newest = page("?max=1".to_owned()).await;
    assert_eq!(newest["calls"].as_array().unwrap().len(), 1);
    let before = newest["next_before"].as_i64().unwrap();
    let older = page(format!("?max=1&before={before}")).await;
    assert!(
        older["calls"][0]["id"].as_i64().unwrap() < before,
        "{older}"
    );
    let callers = server
        .admin(
            Method::GET,
            &format!("/endpoints/{endpoint}/callers"),
            &root,
            None,
        )
        .await;
    assert_eq!(callers.status, 200, "{}", callers.text);
    let names: Vec<&str> = callers.body["callers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|caller| caller["token_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"CRM") && names.contains(&"Shop"),
        "{names:?}"
    );

    // Deactivating moves a token to the inactive list; activating brings it back.
    patch(
        server,
        &root,
        &format!("/endpoint-tokens/{shop}"),
        json!({"active": false}),
    )
    .await;
    assert_refused(server, &endpoint, "GET", &shop_token, "inactive").await;
    let listed = |query: &'static str| {
        let (server, root) = (server, root.clone());
        async move {
            let reply = server
                .admin(
                    Method::GET,
                    &format!("/endpoint-tokens{query}"),
                    &root,
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.body["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|token| token["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("").await, ["CRM"]);
    assert_eq!(listed("?inactive=true").await, ["Shop"]);
    patch(
        server,
        &root,
        &format!("/endpoint-tokens/{shop}"),
        json!({"active": true}),
    )
    .await;
    assert_allowed(server, &endpoint, "DELETE", &shop_token).await;

    // Deleting no longer allowed: the DELETE primary token stops, and so does
    // every DELETE assignment.
    let changed = patch(
        server,
        &root,
        &format!("/endpoints/{endpoint}"),
        json!({"allow_delete": false}),
    )
    .await;
    assert_eq!(changed["endpoint"]["allow_delete"], false);
    assert!(changed["generated_tokens"].as_array().unwrap().is_empty());
    assert_refused(
        server,
        &endpoint,
        "DELETE",
        primary(&created, "DELETE"),
        "unknown_token",
    )
    .await;
    assert_refused(
        server,
        &endpoint,
        "DELETE",
        &shop_token,
        "method_not_allowed",
    )
    .await;
    assert_allowed(server, &endpoint, "GET", &shop_token).await;
    assert_eq!(
        assign(server, &root, &endpoint, &shop, json!(["DELETE"])).await,
        409
    );

    // Unassigning one application leaves the other alone.
    let unassigned = server
        .admin(
            Method::DELETE,
            &format!("/endpoints/{endpoint}/tokens/{shop}"),
            &root,
            None,
        )
        .await;
    assert_eq!(unassigned.status, 204, "{}", unassigned.text);
    assert_refused(server, &endpoint, "GET", &shop_token, "unassigned").await;
    assert_allowed(server, &endpoint, "GET", primary(&created, "GET")).await;

    // Token authentication off: the endpoint takes anyone.
    patch(
        server,
        &root,
        &format!("/endpoints/{endpoint}"),
        json!({"authentication": "none"}),
    )
    .await;
    assert_eq!(
        check(server, &endpoint, "GET", &shop_token).await,
        json!({"allowed": true})
    );
}

#[tokio::test]
async fn bad_endpoint_tokens_are_refused_and_only_counted() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, _) = manager(&server, "root").await;
    let created = create_endpoint(&server, &root).await;
    let endpoint = str_field(&created["endpoint"], "id").to_owned();
    let (_, token) = secondary(&server, &root, "CRM").await;
    server.service().personal_tokens.flush_usage().await;
    let before = env.row_counts().await;

    let mut bad_checksum = token.clone().into_bytes();
    bad_checksum[0] = if bad_checksum[0] == b'A' { b'B' } else { b'A' };
    let bad_checksum = String::from_utf8(bad_checksum).unwrap();
    let mut punctuated = token.clone();
    punctuated.replace_range(5..6, "-");
    let forged_primary =
        tessera_token::new_opaque_token(tessera_proto::OpaqueTokenKind::EndpointPrimary).unwrap();
    let forged_secondary = tessera_token::new_secondary_endpoint_token().unwrap();
    let cases = [
        (&token[..63], "malformed_token"),
        (&format!("{token}A")[..], "malformed_token"),
        (&punctuated[..], "malformed_token"),
        (&bad_checksum[..], "malformed_token"),
        (&forged_primary[..], "unknown_token"),
        (&forged_secondary[..], "unknown_token"),
    ];
    for (bad, reason) in &cases {
        assert_refused(&server, &endpoint, "GET", bad, reason).await;
    }
    assert_refused(
        &server,
        &endpoint,
        "PUT",
        primary(&created, "GET"),
        "method_not_allowed",
    )
    .await;
    assert_refused(
        &server,
        "no-such-endpoint",
        "GET",
        primary(&created, "GET"),
        "unknown_endpoint",
    )
    .await;
    server.service().personal_tokens.flush_usage().await;
    // Refusals of tokens nobody issued are counted on the endpoint, no row each.
    assert_eq!(env.row_counts().await, before);
    let read = server
        .admin(Method::GET, &format!("/endpoints/{endpoint}"), &root, None)
        .await;
    assert_eq!(read.body["endpoint"]["refused_calls"], cases.len() + 1);

    // A public client may not check; bad parameters are 400s; nothing written.
    let public = server
        .post_form(
            "/endpoints/check",
            &[
                ("client_id", "app"),
                ("endpoint", endpoint.as_str()),
                ("method", "GET"),
                ("token", token.as_str()),
            ],
        )
        .await;
    assert_eq!(public.status, 401, "{}", public.text);
    let missing = server
        .post_form_basic(
            "/endpoints/check",
            PLATFORM.0,
            PLATFORM.1,
            &[("endpoint", endpoint.as_str()), ("method", "GET")],
        )
        .await;
    assert_error(&missing, 400, "invalid_request");
    // Management refusals write nothing either.
    for (method, path, body, (status, error)) in [
        (
            Method::POST,
            "/endpoints".to_owned(),
            json!({"name": "Dup", "path": "/ingest/orders"}),
            (409, "invalid_request"),
        ),
        (
            Method::POST,
            "/endpoints".to_owned(),
            json!({"name": "Bad", "path": "no-slash"}),
            (400, "invalid_request"),
        ),
        (
            Method::POST,
            "/endpoint-tokens".to_owned(),
            json!({"name": ""}),
            (400, "invalid_request"),
        ),
        (
            Method::PATCH,
            "/endpoints/no-such-endpoint".to_owned(),
            json!({"name": "Ghost"}),
            (404, "not_found"),
        ),
        (
            Method::PUT,
            format!("/endpoints/{endpoint}/tokens/no-such-token"),
            json!({"methods": ["GET"]}),
            (404, "not_found"),
        ),
    ] {
        let reply = server.admin(method, &path, &root, Some(&body)).await;
        assert_error(&reply, status, error);
    }
    server.service().personal_tokens.flush_usage().await;
    assert_eq!(env.row_counts().await, before);
}

/// The example API's `/ingest/orders`, guarded by `tessera-verify`'s endpoint
/// layer with a verifier that caches allowed answers for a minute: the feed,
/// not the cache's age, makes a change reach it.
#[tokio::test]
async fn the_example_api_lets_through_exactly_the_applications_allowed_now() {
    use std::time::{Duration, Instant};

    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let (root, _) = manager(&server, "root").await;
    let created = create_endpoint(&server, &root).await;
    let endpoint = str_field(&created["endpoint"], "id").to_owned();
    let (crm, crm_token) = secondary(&server, &root, "CRM").await;
    let (shop, shop_token) = secondary(&server, &root, "Shop").await;
    for token in [&crm, &shop] {
        assert_eq!(
            assign(&server, &root, &endpoint, token, json!(["GET", "POST"])).await,
            204
        );
    }
    let poll = Duration::from_millis(250);
    let verifier = server.caching_verifier(poll).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/ingest/orders", listener.local_addr().unwrap());
    let router = tessera_example_resource_server::router(verifier, Some(&endpoint));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, token: String| {
        let request = http.request(method, &api).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // Waits until `method` with `token` answers `status`; how long it took.
    let until = |method: reqwest::Method, token: String, status: u16| {
        let call = &call;
        async move {
            let start = Instant::now();
            while call(method.clone(), token.clone()).await.0 != status {
                assert!(start.elapsed() < Duration::from_secs(5), "never {status}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            start.elapsed()
        }
    };

    let (status, body) = call(Method::POST, crm_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["caller"],
        json!({"kind": "secondary", "token_id": crm, "name": "CRM"})
    );
    let (status, body) = call(Method::GET, shop_token.clone()).await;
    assert_eq!((status, &body["caller"]["name"]), (200, &json!("Shop")));
    let (status, body) = call(Method::GET, primary(&created, "GET").to_owned()).await;
    assert_eq!((status, &body["caller"]["kind"]), (200, &json!("primary")));
    // Not assigned for DELETE: 403; malformed and unknown tokens: 401.
    assert_eq!(call(Method::DELETE, crm_token.clone()).await.0, 403);
    assert_eq!(call(Method::GET, crm_token[..63].to_owned()).await.0, 401);
    assert_eq!(
        call(
            Method::GET,
            tessera_token::new_secondary_endpoint_token().unwrap()
        )
        .await
        .0,
        401
    );

    // Disabling CRM stops its calls within a poll, though its answer was
    // cached; Shop's go on.
    patch(
        &server,
        &root,
        &format!("/endpoint-tokens/{crm}"),
        json!({"enabled": false}),
    )
    .await;
    let took = until(Method::POST, crm_token.clone(), 403).await;
    assert!(took < poll * 8, "took {took:?}");
    assert_eq!(call(Method::POST, shop_token.clone()).await.0, 200);

    // A regenerated POST primary token: the old value is refused, the new works.
    assert_eq!(
        call(Method::POST, primary(&created, "POST").to_owned())
            .await
            .0,
        200
    );
    let regenerated = server
        .admin(
            Method::POST,
            &format!("/endpoints/{endpoint}/primary-tokens/POST"),
            &root,
            None,
        )
        .await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    until(Method::POST, primary(&created, "POST").to_owned(), 401).await;
    let new_post = str_field(&regenerated.body, "token").to_owned();
    assert_eq!(call(Method::POST, new_post).await.0, 200);

    // The usage view, filtered by each application's token.
    let crm_calls = call_tokens(&server, &root, &endpoint, &format!("?token={crm}")).await;
    assert!(crm_calls
        .iter()
        .all(|call| call["token_id"] == crm.as_str()));
    let outcomes: Vec<&str> = crm_calls
        .iter()
        .map(|call| call["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"disabled") && outcomes.contains(&"allowed"),
        "{outcomes:?}"
    );
    let shop_calls = call_tokens(&server, &root, &endpoint, &format!("?token={shop}")).await;
    assert!(!shop_calls.is_empty());
    assert!(shop_calls
        .iter()
        .all(|call| call["token_id"] == shop.as_str() && call["outcome"] == "allowed"));

    // Deactivated, Shop stops; reactivated, it calls again.
    let shop_path = format!("/endpoint-tokens/{shop}");
    patch(&server, &root, &shop_path, json!({"active": false})).await;
    until(Method::GET, shop_token.clone(), 403).await;
    patch(&server, &root, &shop_path, json!({"active": true})).await;
    until(Method::GET, shop_token.clone(), 200).await;

    // Deleting no longer allowed: the DELETE primary token stops.
    let delete = primary(&created, "DELETE").to_owned();
    assert_eq!(call(Method::DELETE, delete.clone()).await.0, 200);
    patch(
        &server,
        &root,
        &format!("/endpoints/{endpoint}"),
        json!({"allow_delete": false}),
    )
    .await;
    until(Method::DELETE, delete, 401).await;

    // Unassigning Shop switches off that integration alone.
    let unassigned = server
        .admin(
            Method::DELETE,
            &format!("/endpoints/{endpoint}/tokens/{shop}"),
            &root,
            None,
        )
        .await;
    assert_eq!(unassigned.status, 204, "{}", unassigned.text);
    until(Method::GET, shop_token, 403).await;
    patch(
        &server,
        &root,
        &format!("/endpoint-tokens/{crm}"),
        json!({"enabled": true}),
    )
    .await;
    until(Method::GET, crm_token, 200).await;
}

#[tokio::test]
async fn endpoint_commands_walk_the_endpoint_story_over_the_same_services() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let run = |args: Vec<&str>| {
        let mut argv = vec!["endpoint"];
        argv.extend(args);
        argv.extend(["--realm", crate::kit::REALM]);
        let argv: Vec<String> = argv.into_iter().map(str::to_owned).collect();
        let env = &env;
        async move {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            crate::cli::tessera(env, &argv, "").await
        }
    };
    let secret_after = |printed: &str, prefix: &str| -> String {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split("  ").nth(1))
            .unwrap_or_else(|| panic!("no {prefix:?} in {printed}"))
            .to_owned()
    };
    let orders = ["--endpoint", "/ingest/orders"];

    let created = run(vec![
        "create",
        "--name",
        "Orders",
        "--path",
        "/ingest/orders",
        "--token-auth",
    ])
    .await
    .unwrap();
    let endpoint = created
        .lines()
        .find_map(|line| line.strip_prefix("created endpoint "))
        .and_then(|rest| rest.split("  ").next())
        .unwrap()
        .to_owned();
    let get = secret_after(&created, "GET primary token ");
    assert!(!created.contains("DELETE primary"), "{created}");
    assert_allowed(&server, &endpoint, "GET", &get).await;
    assert!(run(vec!["list"]).await.unwrap().contains("/ingest/orders"));
    let shown = run([&["show"][..], &orders[..]].concat()).await.unwrap();
    assert!(
        shown.contains("POST primary token") && !shown.contains(&get),
        "{shown}"
    );

    let regenerated = run([&["regenerate", "--method", "get"][..], &orders[..]].concat())
        .await
        .unwrap();
    let new_get = secret_after(&regenerated, "GET primary token ");
    assert_refused(&server, &endpoint, "GET", &get, "unknown_token").await;
    assert_allowed(&server, &endpoint, "GET", &new_get).await;

    let token = run(vec!["create-token", "--name", "CRM"]).await.unwrap();
    let crm = token
        .lines()
        .find_map(|line| line.strip_prefix("created endpoint token "))
        .and_then(|rest| rest.split("  ").nth(1))
        .unwrap()
        .to_owned();
    assert_eq!(crm.len(), 64);
    assert!(!run(vec!["tokens"]).await.unwrap().contains(&crm));
    run([
        &["assign", "--token", "CRM", "--method", "get"][..],
        &orders[..],
    ]
    .concat())
    .await
    .unwrap();
    assert_allowed(&server, &endpoint, "GET", &crm).await;
    // This realm keeps no endpoint token recoverable.
    let unrecoverable = run(vec!["reveal-token", "--token", "CRM"])
        .await
        .unwrap_err();
    assert!(
        unrecoverable.contains("no such endpoint token"),
        "{unrecoverable}"
    );
    run(vec!["update-token", "--token", "CRM", "--enabled", "false"])
        .await
        .unwrap();
    assert_refused(&server, &endpoint, "GET", &crm, "disabled").await;
    server.service().personal_tokens.flush_usage().await;
    let calls = run([&["calls"][..], &orders[..]].concat()).await.unwrap();
    assert!(
        calls.contains("disabled") && calls.contains("allowed"),
        "{calls}"
    );
    let callers = run([&["callers"][..], &orders[..]].concat()).await.unwrap();
    assert!(
        callers.contains("CRM") && callers.contains("GET primary"),
        "{callers}"
    );

    run([&["update", "--token-auth", "false"][..], &orders[..]].concat())
        .await
        .unwrap();
    assert_eq!(
        check(&server, &endpoint, "GET", &crm).await,
        json!({"allowed": true})
    );
    run(vec!["delete-token", "--token", "CRM"]).await.unwrap();
    run([&["delete"][..], &orders[..]].concat()).await.unwrap();
    let gone = run([&["show"][..], &orders[..]].concat())
        .await
        .unwrap_err();
    assert!(gone.contains("no endpoint"), "{gone}");
}

/// Endpoint tokens, primary and secondary, stored with a sealed copy.
async fn sealed_copies(env: &Env) -> i64 {
    let mut sealed = 0;
    for table in ["endpoint_primary_tokens", "endpoint_tokens"] {
        sealed += env
            .query_i64(&format!(
                "SELECT COUNT(*) FROM {table} WHERE sealed IS NOT NULL"
            ))
            .await;
    }
    sealed
}

async fn reveal(server: &Server, bearer: &str, path: String) -> crate::kit::Reply {
    server.admin(Method::GET, &path, bearer, None).await
}

#[tokio::test]
async fn endpoint_tokens_are_revealed_only_where_the_realm_keeps_them_recoverable() {
    // Off (the default): nothing recoverable is stored, and reveal is a 404.
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (root, _) = manager(&server, "root").await;
    let created = create_endpoint(&server, &root).await;
    let endpoint = str_field(&created["endpoint"], "id").to_owned();
    let (crm, _) = secondary(&server, &root, "CRM").await;
    let primary_secret = format!("/endpoints/{endpoint}/primary-tokens/GET/secret");
    let secondary_secret = format!("/endpoint-tokens/{crm}/secret");
    for path in [&primary_secret, &secondary_secret] {
        assert_error(
            &reveal(&server, &root, path.clone()).await,
            404,
            "not_found",
        );
    }
    assert_eq!(sealed_copies(&env).await, 0);
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM endpoint_events").await,
        0
    );
    server.stop().await;

    // On: the secrets come back, a regenerated one as it is now; each reveal
    // is recorded with who asked; a caller without the permission gets 403.
    let env = Env::new(RealmOptions {
        recoverable_endpoint_tokens: true,
        ..RealmOptions::default()
    })
    .await;
    let server = env.start().await;
    let (root, root_id) = manager(&server, "root").await;
    let created = create_endpoint(&server, &root).await;
    let endpoint = str_field(&created["endpoint"], "id").to_owned();
    let (crm, crm_token) = secondary(&server, &root, "CRM").await;
    assert_eq!(sealed_copies(&env).await, 4);
    let revealed = reveal(
        &server,
        &root,
        format!("/endpoints/{endpoint}/primary-tokens/GET/secret"),
    )
    .await;
    assert_eq!(revealed.status, 200, "{}", revealed.text);
    assert_eq!(revealed.body["token"], primary(&created, "GET"));
    let revealed = reveal(&server, &root, format!("/endpoint-tokens/{crm}/secret")).await;
    assert_eq!(revealed.body["token"], crm_token.as_str());
    let regenerated = server
        .admin(
            Method::POST,
            &format!("/endpoints/{endpoint}/primary-tokens/POST"),
            &root,
            None,
        )
        .await;
    let revealed = reveal(
        &server,
        &root,
        format!("/endpoints/{endpoint}/primary-tokens/POST/secret"),
    )
    .await;
    assert_eq!(revealed.body["token"], regenerated.body["token"]);
    let (alice, _) = manager(&server, "alice").await;
    let refused = reveal(&server, &alice, format!("/endpoint-tokens/{crm}/secret")).await;
    assert_error(&refused, 403, "insufficient_scope");
    let audited = env
        .query_i64(&format!(
            "SELECT COUNT(*) FROM endpoint_events WHERE event = 'token_revealed' \
             AND actor = 'management' AND actor_id = '{root_id}'"
        ))
        .await;
    assert_eq!(audited, 3);

    // Turned off again: the sealed copies go when the realm loads, and reveal
    // is a 404 once more.
    server.stop().await;
    let realm_file = env.dir.join("realms").join("test-realm.toml");
    let text = std::fs::read_to_string(&realm_file).unwrap();
    let text = text.replace(
        "recoverable_endpoint_tokens = true",
        "recoverable_endpoint_tokens = false",
    );
    std::fs::write(&realm_file, text).unwrap();
    let server = env.start().await;
    assert_eq!(sealed_copies(&env).await, 0);
    let (root, _) = manager(&server, "root").await;
    let gone = reveal(&server, &root, format!("/endpoint-tokens/{crm}/secret")).await;
    assert_error(&gone, 404, "not_found");
}
