//! No hot-path statement scans a table that grows with use. Every statement
//! the server runs while serving the whole hot path (logins, refreshes, replays,
//! introspection, revocation, the feed, the account API, the purge job) is
//! captured from sqlx's own log and its query plan is checked on the backend
//! under test: `EXPLAIN QUERY PLAN` on SQLite, a generic plan with sequential
//! scans discouraged on PostgreSQL.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use sqlx::{Connection, Row};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::kit::{str_field, Env, RealmOptions, Server, API_SECRET, PASSWORD, REALM, USER};

/// Tables that do not grow with use: a scan of them is fine.
const SMALL_TABLES: &[&str] = &["realms", "signing_keys", "tessera_migrations"];

type Captured = Arc<Mutex<BTreeSet<String>>>;

/// The statements sqlx has logged since the capture was installed.
fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let layer = StatementLayer(Arc::clone(&captured)).with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE),
        );
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other subscriber in this process");
        captured
    })
}

struct StatementLayer(Captured);

#[derive(Default)]
struct StatementFields {
    summary: String,
    statement: String,
}

impl Visit for StatementFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for StatementLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = StatementFields::default();
        event.record(&mut fields);
        // sqlx logs short statements whole as the summary, long ones apart.
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let verb = sql
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&verb.as_str()) {
            self.0.lock().unwrap().insert(sql);
        }
    }
}

/// Every request kind of the hot path, and the background jobs.
async fn exercise_the_hot_path(server: &Server) {
    let login = server.login(USER, "openid offline_access").await;
    let access = str_field(&login, "access_token").to_owned();
    let refresh = str_field(&login, "refresh_token").to_owned();
    let rotated = server.refresh(&refresh).await;
    assert_eq!(rotated.status, 200);
    // A grace-window replay, then reuse of the superseded token.
    assert_eq!(server.refresh(&refresh).await.status, 200);
    assert_eq!(
        server
            .refresh(str_field(&rotated.body, "refresh_token"))
            .await
            .status,
        400
    );
    for (username, password) in [(USER, "wrong"), ("nobody", "wrong"), ("bob", PASSWORD)] {
        server
            .token(&[
                ("grant_type", "password"),
                ("client_id", "app"),
                ("username", username),
                ("password", password),
            ])
            .await;
    }
    let service = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            API_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    let service_token = str_field(&service.body, "access_token").to_owned();
    server
        .get_bearer(
            &format!("/realms/{REALM}/protocol/openid-connect/userinfo"),
            &access,
        )
        .await;
    server.introspect(&access).await;
    server.introspect(&refresh).await;
    server.introspect(&service_token).await;

    let bearer = server.account_token(USER).await;
    let body = json!({"type": "expose", "name": "plans", "password": PASSWORD});
    let expose = server
        .json_bearer(Method::POST, "/account/tokens", &bearer, Some(&body))
        .await;
    let expose_id = str_field(&expose.body, "id").to_owned();
    server.introspect(str_field(&expose.body, "token")).await;
    let body = json!({"type": "client", "name": "plans", "password": PASSWORD,
        "client_id": "app", "offline": true});
    let client_token = server
        .json_bearer(Method::POST, "/account/tokens", &bearer, Some(&body))
        .await;
    server
        .refresh(str_field(&client_token.body, "refresh_token"))
        .await;
    server
        .json_bearer(Method::GET, "/account/tokens", &bearer, None)
        .await;
    server
        .json_bearer(
            Method::GET,
            &format!("/account/tokens/{expose_id}/events?limit=2"),
            &bearer,
            None,
        )
        .await;
    server
        .json_bearer(
            Method::DELETE,
            &format!("/account/tokens/{expose_id}"),
            &bearer,
            None,
        )
        .await;

    exercise_companies(server).await;
    crate::endpoints::endpoint_story(server).await;

    let second = server.login(USER, "").await;
    server
        .post_form_basic(
            "/protocol/openid-connect/revoke",
            "api",
            API_SECRET,
            &[("token", &service_token)],
        )
        .await;
    server
        .post_form(
            "/protocol/openid-connect/revoke",
            &[
                ("client_id", "app"),
                ("token", str_field(&second, "access_token")),
            ],
        )
        .await;
    let third = server.login(USER, "").await;
    server.logout(str_field(&third, "refresh_token")).await;
    let feed = server.revocation_feed(None).await;
    server
        .get_basic(
            &format!(
                "/protocol/openid-connect/revocations?limit=1&since={}",
                str_field(&feed, "next_cursor")
            ),
            "api",
            API_SECRET,
        )
        .await;
    server
        .json_bearer(Method::DELETE, "/account/tokens", &bearer, None)
        .await;
    crate::browser::walk_sign_in(server).await;
    crate::device_flow::walk_device_flow(server).await;
    // Usage is recorded off the request path: let the writer run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let service_handle = server.service();
    service_handle.keys.refresh_keys().await.unwrap();
    service_handle
        .maintenance
        .purge_dead_rows(Duration::from_secs(3600))
        .await
        .unwrap();
    service_handle
        .users
        .set_user_enabled(REALM, "bob", false)
        .await
        .unwrap();
}

/// A company's whole story: creation, members, a subscription, assignment,
/// user and userless tokens, their introspection, the overview and the audit
/// trail, and the cascades of removing a member and deleting the company.
async fn exercise_companies(server: &Server) {
    let (root, _) = crate::token_profiles::manager(server, "root").await;
    let (_, bob) = crate::token_profiles::manager(server, "bob").await;
    let admin = |method: Method, path: String, body: serde_json::Value| {
        let root = root.clone();
        async move { server.admin(method, &path, &root, Some(&body)).await }
    };
    let company = admin(
        Method::POST,
        "/companies".to_owned(),
        json!({"name": "Plans"}),
    )
    .await;
    let company = str_field(&company.body, "id").to_owned();
    let at = format!("/companies/{company}");
    admin(
        Method::PUT,
        format!("{at}/members/{bob}"),
        json!({"roles": []}),
    )
    .await;
    let body = json!({"name": "Plans", "audience": "api", "permissions": []});
    let subscription = admin(Method::POST, format!("{at}/subscriptions"), body).await;
    let subscription = format!("{at}/subscriptions/{}", str_field(&subscription.body, "id"));
    admin(
        Method::PUT,
        format!("{subscription}/assignments/{bob}"),
        json!(null),
    )
    .await;
    let body = json!({"user_id": bob, "name": "Plans"});
    let user_token = admin(Method::POST, format!("{subscription}/tokens"), body).await;
    let userless = admin(
        Method::POST,
        format!("{subscription}/tokens"),
        json!({"name": "M"}),
    )
    .await;
    server
        .introspect(str_field(&user_token.body, "token"))
        .await;
    server.introspect(str_field(&userless.body, "token")).await;
    for path in [
        format!("{at}/tokens?userless=true"),
        format!("{at}/tokens?user={bob}"),
        format!("{subscription}/tokens"),
        format!("{at}/events?max=5"),
        format!("{at}/members"),
        format!("{subscription}/assignments"),
        "/companies".to_owned(),
    ] {
        server.admin(Method::GET, &path, &root, None).await;
    }
    let renamed = json!({"name": "Renamed"});
    let token = format!("{subscription}/tokens/{}", str_field(&userless.body, "id"));
    admin(Method::PATCH, token.clone(), renamed).await;
    admin(
        Method::PATCH,
        subscription.clone(),
        json!({"enabled": true}),
    )
    .await;
    server.admin(Method::DELETE, &token, &root, None).await;
    server
        .admin(Method::DELETE, &format!("{at}/members/{bob}"), &root, None)
        .await;
    server.admin(Method::DELETE, &at, &root, None).await;
}

/// The growing tables a plan scans whole, as "table: detail" lines.
async fn full_scans(env: &Env, sql: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&env.database_url)
        .await
        .unwrap();
    let scans = if env.is_postgres() {
        postgres_scans(&mut conn, sql).await
    } else {
        sqlite_scans(&mut conn, sql).await
    };
    conn.close().await.unwrap();
    scans
}

async fn sqlite_scans(conn: &mut sqlx::AnyConnection, sql: &str) -> Vec<String> {
    let rows = sqlx::raw_sql(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|error| panic!("{error}: {sql}"));
    rows.iter()
        .map(|row| row.try_get::<String, _>(3).unwrap())
        .filter(|detail| {
            let Some(scanned) = detail.strip_prefix("SCAN ") else {
                return false;
            };
            let table = scanned.split(' ').next().unwrap_or_default();
            table != "CONSTANT" && !SMALL_TABLES.contains(&table)
        })
        .collect()
}

async fn postgres_scans(conn: &mut sqlx::AnyConnection, sql: &str) -> Vec<String> {
    let parameters = (1..=64)
        .rev()
        .find(|n| sql.contains(&format!("${n}")))
        .unwrap_or(0);
    sqlx::raw_sql(
        "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; \
         DEALLOCATE ALL",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql(&format!("PREPARE plan_under_test AS {sql}"))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|error| panic!("{error}: {sql}"));
    let execute = if parameters == 0 {
        "EXPLAIN EXECUTE plan_under_test".to_owned()
    } else {
        let arguments = vec!["NULL"; parameters].join(", ");
        format!("EXPLAIN EXECUTE plan_under_test({arguments})")
    };
    let lines: Vec<String> = sqlx::raw_sql(&execute)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|error| panic!("{error}: {sql}"))
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap())
        .collect();
    postgres_plan_scans(&lines)
}

/// Sequential scans, and index scans without a condition (a whole index read
/// in order), of growing tables, from a text plan.
fn postgres_plan_scans(lines: &[String]) -> Vec<String> {
    let mut scans = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let node = line.trim_start().trim_start_matches("->").trim_start();
        let table_after = |marker: &str| {
            node.split_once(marker)
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or_default()
                .to_owned()
        };
        let (kind, table) = if node.starts_with("Seq Scan on ") {
            ("Seq Scan", table_after("Seq Scan on "))
        } else if node.starts_with("Index Scan") || node.starts_with("Index Only Scan") {
            // The node's own detail lines follow, more indented, until the next node.
            let indent = line.len() - line.trim_start().len();
            let conditioned = lines[at + 1..]
                .iter()
                .take_while(|next| {
                    let next_indent = next.len() - next.trim_start().len();
                    next_indent > indent && !next.trim_start().starts_with("->")
                })
                .any(|detail| detail.contains("Index Cond:"));
            if conditioned {
                continue;
            }
            ("Index Scan without condition", table_after(" on "))
        } else {
            continue;
        };
        if !SMALL_TABLES.contains(&table.as_str()) {
            scans.push(format!("{kind} on {table}"));
        }
    }
    scans
}

#[tokio::test]
async fn no_hot_path_statement_scans_a_growing_table() {
    let captured = capture();
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    captured.lock().unwrap().clear();
    exercise_the_hot_path(&server).await;
    let statements: Vec<String> = captured.lock().unwrap().iter().cloned().collect();
    assert!(
        statements.len() >= 30,
        "too few statements captured: {statements:#?}"
    );
    let mut offenders = Vec::new();
    for sql in &statements {
        let scans = full_scans(&env, sql).await;
        if !scans.is_empty() {
            offenders.push(format!("{sql}\n    -> {}", scans.join("; ")));
        }
    }
    assert!(
        offenders.is_empty(),
        "{} of {} statements scan a growing table:\n{}",
        offenders.len(),
        statements.len(),
        offenders.join("\n")
    );
}

/// The check itself can fail: it flags a plain scan on either backend, and on
/// SQLite the statement the scale test caught (rotation re-checking liveness
/// through every family; PostgreSQL plans that one through the primary key).
#[tokio::test]
async fn the_plan_check_flags_full_scans() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let scan = "SELECT COUNT(*) FROM token_events WHERE outcome = $1";
    assert!(
        !full_scans(&env, scan).await.is_empty(),
        "not flagged: {scan}"
    );
    let old_rotation = "UPDATE refresh_tokens SET consumed_at = $1 WHERE digest = $2 \
         AND consumed_at IS NULL \
         AND family_id IN (SELECT id FROM refresh_families WHERE revoked_at IS NULL)";
    assert_eq!(
        full_scans(&env, old_rotation).await.is_empty(),
        env.is_postgres(),
        "{old_rotation}"
    );
    assert!(full_scans(&env, "SELECT id FROM users WHERE id = $1")
        .await
        .is_empty());
    server.stop().await;
}
