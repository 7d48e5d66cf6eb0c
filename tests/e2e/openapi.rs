//! The OpenAPI document at `/openapi.json`: generated from the routers, it
//! must match the committed `docs/openapi.json`, so that any change to the API
//! shows in review. After an intended change, regenerate the snapshot:
//! `TESSERA_UPDATE_OPENAPI=1 cargo nextest run -E 'test(openapi)'`.

use serde_json::Value;

use crate::kit::{Env, RealmOptions};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let reply = server.get("/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["openapi"], "3.1.0");
    let rendered = format!("{}\n", serde_json::to_string_pretty(&reply.body).unwrap());
    if std::env::var_os("TESSERA_UPDATE_OPENAPI").is_some() {
        std::fs::write(SNAPSHOT, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == rendered,
        "/openapi.json differs from docs/openapi.json; if the change is intended, run \
         TESSERA_UPDATE_OPENAPI=1 cargo nextest run -E 'test(openapi)' and review the diff"
    );
}

#[tokio::test]
async fn every_management_route_states_its_permission_and_errors() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let document = server.get("/openapi.json").await.body;
    assert_eq!(document["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = document["paths"].as_object().unwrap();
    for expected in [
        "/admin/realms/{realm}/users",
        "/admin/realms/{realm}/users/count",
        "/admin/realms/{realm}/users/{user}",
        "/admin/realms/{realm}/users/{user}/reset-password",
        "/admin/realms/{realm}/users/{user}/role-mappings/realm",
        "/admin/realms/{realm}/roles",
        "/admin/realms/{realm}/roles/{role}",
        "/admin/realms/{realm}/users/{user}/token-profiles",
        "/admin/realms/{realm}/users/{user}/token-profiles/{token_id}",
        "/realms/{realm}/account/tokens",
        "/realms/{realm}/account/tokens/{id}",
        "/realms/{realm}/account/tokens/{id}/events",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses: &serde_json::Map<String, Value> =
                operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("401"),
                "{method} {path} does not document 401"
            );
            if path.starts_with("/admin/") {
                let description = operation["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains("Requires `"),
                    "{method} {path} does not state its permission"
                );
                for status in ["403", "404"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
        }
    }
    assert_eq!(operations, 64);
}

/// Metrics label each route by its template; a route missing from the list
/// of templates would be counted as `other`.
#[tokio::test]
async fn every_documented_route_has_its_own_metrics_label() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let document = server.get("/openapi.json").await.body;
    let http = reqwest::Client::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{realm}", crate::kit::REALM)
            .replace(['{', '}'], "");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            http.request(method, server.url(&concrete))
                .send()
                .await
                .unwrap();
        }
    }
    let metrics = server.metrics().await;
    assert!(metrics.contains("endpoint=\"/admin/realms/{realm}/users/{user}/token-profiles\""));
    assert!(
        !metrics.contains("endpoint=\"other\""),
        "a route has no metrics label of its own:\n{metrics}"
    );
}
