//! Test kit: boots the real Tessera server in this process on a free port, on
//! SQLite (default) or on PostgreSQL when `TESSERA_TEST_POSTGRES_URL` is set
//! (each server group gets a fresh database), and talks to it over HTTP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Connection, Row};
use tessera_server::{RunningServer, ServeConfig, StorageConfig};

/// Every node of a test uses this issuer, as if behind one load balancer.
pub const PUBLIC_URL: &str = "http://tessera.test";
pub const REALM: &str = "test-realm";
pub const API_SECRET: &str = "api-client-secret-0123456789";
pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

/// A realm with a public client (`app`), a confidential one (`api`), a client
/// without offline access (`no-offline`) and a few users. `{tokens}`,
/// `{brute_force}`, `{personal_tokens}`, `{company_tokens}` and
/// `{recoverable_endpoint_tokens}` are replaced by
/// per-test settings.
const REALM_TEMPLATE: &str = r#"
name = "test-realm"
display_name = "Test <Realm>"
recoverable_endpoint_tokens = {recoverable_endpoint_tokens}
roles = ["user", "admin", "viewer"]

[tokens]
{tokens}

[brute_force]
{brute_force}

[personal_tokens]
expose_audience = ["api"]
{personal_tokens}

[company_tokens]
{company_tokens}

[device_flow]
interval = "1s"
{device_flow}

[permissions.types]
bucket = ["ReadBucket", "WriteBucket", "DeleteBucket"]
device = ["AccessDeviceResources", "ListDevices"]

[permissions.roles]
user = [
    { type = "bucket", identifier = "*", actions = ["ReadBucket", "WriteBucket"] },
    { type = "device", identifier = "*", actions = ["*"] },
]
viewer = [{ type = "user", identifier = "*", actions = ["ListUsers", "ReadUserConfig"] }]

[[clients]]
client_id = "app"
grants = ["password", "refresh_token"]
scopes = ["openid", "profile", "email", "offline_access"]
default_scopes = ["profile"]
audience = ["api"]
personal_tokens = true

[[clients]]
client_id = "other-app"
grants = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]

[[clients]]
client_id = "no-offline"
grants = ["password"]
scopes = ["openid"]

[[clients]]
client_id = "api"
secret = "api-client-secret-0123456789"
grants = ["client_credentials"]
scopes = ["profile"]

# A second resource server, outside the expose audience unless a test says so.
[[clients]]
client_id = "other-api"
secret = "other-api-secret-0123456789"
grants = ["client_credentials"]

# The account console: its sessions' tokens carry the `account` audience. It
# also takes personal client tokens, whose sessions never get that audience.
[[clients]]
client_id = "account-console"
grants = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]
account = true
personal_tokens = true

# A browser application (public: PKCE required) and a confidential portal.
[[clients]]
client_id = "web"
grants = ["authorization_code", "refresh_token"]
scopes = ["openid", "profile", "email", "offline_access"]
redirect_uris = ["http://app.test/callback", "http://app.test/other?tab=1"]
post_logout_redirect_uris = ["http://app.test/bye"]
[[clients]]
client_id = "portal"
secret = "portal-secret-0123456789"
grants = ["authorization_code", "refresh_token"]
scopes = ["openid"]
redirect_uris = ["https://portal.test/cb"]
# A command-line add-on: the device grant. Its redirect URI is registered,
# though it has no authorization-code grant, so that refusal is tested.
[[clients]]
client_id = "cli"
grants = ["device_code", "refresh_token"]
scopes = ["openid", "offline_access"]
redirect_uris = ["http://cli.test/cb"]

# The management API's client, as Keycloak's `admin-cli`.
[[clients]]
client_id = "admin-cli"
grants = ["password", "refresh_token"]
management = true

# A confidential client that keeps its refresh token (no rotation).
[[clients]]
client_id = "keeper"
secret = "keeper-secret-0123456789"
grants = ["password", "refresh_token"]
tokens = { refresh_rotation = false }

[[users]]
username = "alice"
email = "alice@example.com"
password = "correct horse battery staple"
roles = ["user"]

[[users]]
username = "bob"
password = "correct horse battery staple"

[[users]]
username = "root"
password = "correct horse battery staple"
roles = ["admin"]

[[users]]
username = "disabled"
password = "correct horse battery staple"
enabled = false

[[users]]
username = "expired"
password = "correct horse battery staple"
valid_until = "2001-01-01T00:00:00Z"
"#;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Settings a test can change; the rest of the realm is fixed.
#[derive(Debug, Clone, Default)]
pub struct RealmOptions {
    pub tokens: String,
    pub brute_force: String,
    pub personal_tokens: String,
    pub company_tokens: String,
    pub device_flow: String,
    pub recoverable_endpoint_tokens: bool,
    /// More `[[clients]]` tables, appended to the realm file.
    pub extra_clients: String,
}

impl RealmOptions {
    pub fn tokens(tokens: &str) -> Self {
        Self {
            tokens: tokens.to_owned(),
            ..Self::default()
        }
    }
}

/// The shared state of one test: a directory with realm and key files, and a database.
pub struct Env {
    pub dir: PathBuf,
    pub database_url: String,
    postgres: Option<(String, String)>,
}

impl Env {
    /// A test environment on the backend under test: PostgreSQL when
    /// `TESSERA_TEST_POSTGRES_URL` is set, SQLite otherwise.
    pub async fn new(options: RealmOptions) -> Self {
        let postgres = std::env::var("TESSERA_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty());
        Self::on(options, postgres).await
    }

    /// A test environment on SQLite, whichever backend is under test.
    pub async fn sqlite(options: RealmOptions) -> Self {
        Self::on(options, None).await
    }

    async fn on(options: RealmOptions, postgres_admin_url: Option<String>) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("tessera_t_{}_{n}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("realms")).unwrap();
        let realm = REALM_TEMPLATE
            .replace("{tokens}", &options.tokens)
            .replace("{brute_force}", &options.brute_force)
            .replace("{company_tokens}", &options.company_tokens)
            .replace("{device_flow}", &options.device_flow)
            .replace(
                "{recoverable_endpoint_tokens}",
                &options.recoverable_endpoint_tokens.to_string(),
            )
            .replace("{personal_tokens}", &options.personal_tokens);
        let realm = format!("{realm}\n{}", options.extra_clients);
        std::fs::write(dir.join("realms").join("test-realm.toml"), realm).unwrap();
        let (database_url, postgres) = match postgres_admin_url {
            Some(admin_url) => {
                sqlx::any::install_default_drivers();
                let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let base = admin_url.rsplit_once('/').unwrap().0;
                (format!("{base}/{name}"), Some((admin_url, name)))
            }
            None => (format!("sqlite:{}", dir.join("tessera.db").display()), None),
        };
        Self {
            dir,
            database_url,
            postgres,
        }
    }

    pub fn config(&self) -> ServeConfig {
        ServeConfig {
            storage: StorageConfig {
                database_url: self.database_url.clone(),
                database_max_connections: 8,
                realms: self.dir.join("realms"),
                master_key_file: self.dir.join("master.key"),
                argon2_memory_kib: tessera_token::DEFAULT_ARGON2_PARAMS.0,
                argon2_iterations: tessera_token::DEFAULT_ARGON2_PARAMS.1,
                password_queue: tessera_token::default_hashing_queue(),
            },
            listen: "127.0.0.1:0".parse().unwrap(),
            management_listen: "127.0.0.1:0".parse().unwrap(),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            retention: Duration::from_secs(90 * 24 * 3600),
            public_url: Some(PUBLIC_URL.to_owned()),
            key_refresh_seconds: 1,
        }
    }

    pub async fn start(&self) -> Server {
        self.start_with(self.config()).await
    }

    /// A server whose public URL is its own address, so that clients can follow
    /// the URLs it publishes (discovery): its issuer is [`Server::issuer`].
    pub async fn start_reachable(&self) -> Server {
        self.start_with(ServeConfig {
            public_url: None,
            ..self.config()
        })
        .await
    }

    pub async fn start_with(&self, config: ServeConfig) -> Server {
        let running = tessera_server::start(&config, std::future::pending())
            .await
            .unwrap();
        Server::new(running)
    }

    /// Row counts of every table, read from the database's own catalogue so
    /// that no table can be left out, to prove that a rejected request wrote
    /// nothing.
    pub async fn row_counts(&self) -> Vec<(String, i64)> {
        let tables = self
            .query_strings(if self.is_postgres() {
                "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' \
                 ORDER BY tablename"
            } else {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name"
            })
            .await;
        assert!(tables.len() >= 10, "tables: {tables:?}");
        let mut counts = Vec::new();
        for table in tables {
            let n = self
                .query_i64(&format!("SELECT COUNT(*) FROM {table}"))
                .await;
            counts.push((table, n));
        }
        counts
    }

    /// Runs a statement against the test database (to age rows in tests).
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url)
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    /// The single number a query answers (a count, a sum).
    pub async fn query_i64(&self, sql: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url)
            .await
            .unwrap();
        let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        row.try_get::<i64, _>(0).unwrap()
    }

    /// Runs SQL against the test database (for tests that inspect storage).
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url)
            .await
            .unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        rows.iter()
            .map(|row| row.try_get::<String, _>(0).unwrap())
            .collect()
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    if let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A running server and an HTTP client pointed at it.
pub struct Server {
    pub running: Option<RunningServer>,
    pub base: String,
    /// The management listener (health and metrics).
    pub management: String,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Server {
    fn new(running: RunningServer) -> Self {
        let base = format!("http://{}", running.addr);
        let management = format!("http://{}", running.management_addr);
        Self {
            running: Some(running),
            base,
            management,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub async fn stop(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }

    /// The in-process token service, for steps an operator would take with the CLI.
    pub fn service(&self) -> &tessera_token::Services {
        self.running.as_ref().unwrap().services()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The realm's issuer when started with [`Env::start_reachable`].
    pub fn issuer(&self) -> String {
        self.url(&format!("/realms/{REALM}"))
    }

    pub fn realm_url(&self, path: &str) -> String {
        self.url(&format!("/realms/{REALM}{path}"))
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        Self::reply(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    /// GET on the management listener.
    pub async fn get_management(&self, path: &str) -> Reply {
        let url = format!("{}{path}", self.management);
        Self::reply(self.http.get(url).send().await.unwrap()).await
    }

    /// The Prometheus text of the management listener.
    pub async fn metrics(&self) -> String {
        let reply = self.get_management("/metrics").await;
        assert_eq!(reply.status, 200);
        reply.text
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Reply {
        Self::reply(
            self.http
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// GET on a realm endpoint with HTTP Basic client authentication.
    pub async fn get_basic(&self, path: &str, user: &str, secret: &str) -> Reply {
        Self::reply(
            self.http
                .get(self.realm_url(path))
                .basic_auth(user, Some(secret))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The revocation feed as the confidential `api` client sees it.
    pub async fn revocation_feed(&self, since: Option<&str>) -> Value {
        let path = match since {
            Some(cursor) => format!("/protocol/openid-connect/revocations?since={cursor}"),
            None => "/protocol/openid-connect/revocations".to_owned(),
        };
        let reply = self.get_basic(&path, "api", API_SECRET).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body
    }

    /// Posts a form to a realm endpoint (path relative to `/realms/test-realm`).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        Self::reply(
            self.http
                .post(self.realm_url(path))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_form_basic(
        &self,
        path: &str,
        user: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> Reply {
        Self::reply(
            self.http
                .post(self.realm_url(path))
                .basic_auth(user, Some(secret))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        Self::reply(
            self.http
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Reply {
        self.post_form("/protocol/openid-connect/token", form).await
    }

    /// A password grant for `client` (a public one).
    pub async fn password_login(&self, client: &str, username: &str, password: &str) -> Reply {
        self.token(&[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    /// An access token of the account console for `username`: the only kind
    /// the account API accepts (its `aud` holds `account`).
    pub async fn account_token(&self, username: &str) -> String {
        let reply = self
            .password_login("account-console", username, PASSWORD)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        str_field(&reply.body, "access_token").to_owned()
    }

    /// Logs the session of an `app` refresh token out.
    pub async fn logout(&self, refresh_token: &str) -> Reply {
        self.post_form(
            "/protocol/openid-connect/logout",
            &[("client_id", "app"), ("refresh_token", refresh_token)],
        )
        .await
    }

    /// Password grant for `app`; panics unless it succeeds.
    pub async fn login(&self, username: &str, scope: &str) -> Value {
        let reply = self
            .token(&[
                ("grant_type", "password"),
                ("client_id", "app"),
                ("username", username),
                ("password", PASSWORD),
                ("scope", scope),
            ])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.refresh_for("app", refresh_token).await
    }

    /// A refresh by a public `client`.
    pub async fn refresh_for(&self, client: &str, refresh_token: &str) -> Reply {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// The realm's userinfo for a bearer access token.
    pub async fn userinfo(&self, access_token: &str) -> Reply {
        let path = format!("/realms/{REALM}/protocol/openid-connect/userinfo");
        self.get_bearer(&path, access_token).await
    }

    /// A JSON request with a bearer token to a realm endpoint.
    pub async fn json_bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> Reply {
        self.json_request(method, self.realm_url(path), bearer, body)
            .await
    }

    async fn json_request(
        &self,
        method: reqwest::Method,
        url: String,
        bearer: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, url).bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::reply(request.send().await.unwrap()).await
    }

    /// An access token of `username` from the management client `admin-cli`.
    pub async fn management_token(&self, username: &str) -> String {
        let reply = self.password_login("admin-cli", username, PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        str_field(&reply.body, "access_token").to_owned()
    }

    /// A JSON request with a bearer token to the realm's management API
    /// (`/admin/realms/{realm}{path}`).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> Reply {
        let url = self.url(&format!("/admin/realms/{REALM}{path}"));
        self.json_request(method, url, bearer, body).await
    }

    /// A request with a bearer token and a raw body to the management API.
    pub async fn raw_admin(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let request = self
            .http
            .request(method, self.url(&format!("/admin/realms/{REALM}{path}")))
            .bearer_auth(bearer)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        Self::reply(request.send().await.unwrap()).await
    }

    /// A request with a bearer token to any path of the server.
    pub async fn http_request(&self, method: reqwest::Method, path: &str, bearer: &str) -> Reply {
        let request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(bearer);
        Self::reply(request.send().await.unwrap()).await
    }

    /// A `tessera-verify` verifier for the API `api` (the server must be
    /// reachable: [`Env::start_reachable`]) that caches introspection answers
    /// for a minute and polls the revocation feed every `poll`.
    pub async fn caching_verifier(&self, poll: Duration) -> tessera_verify::Verifier {
        tessera_verify::Verifier::builder(self.issuer())
            .audience("api")
            .client_credentials("api", API_SECRET.to_owned())
            .revocation_poll_interval(poll)
            .introspection_cache_ttl(Duration::from_secs(60), Duration::from_secs(60))
            .build()
            .await
            .unwrap()
    }

    /// Introspects with the confidential `api` client.
    pub async fn introspect(&self, token: &str) -> Value {
        let reply = self
            .post_form_basic(
                "/protocol/openid-connect/token/introspect",
                "api",
                API_SECRET,
                &[("token", token)],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body
    }

    pub async fn jwks(&self) -> Value {
        let reply = self
            .get(&format!("/realms/{REALM}/protocol/openid-connect/certs"))
            .await;
        assert_eq!(reply.status, 200);
        reply.body
    }
}

/// Verifies a JWT the way an independent resource server would: with the
/// `jsonwebtoken` crate and nothing but the published JWKS.
pub fn verify_with_jwks(token: &str, jwks: &Value, audience: &str) -> Result<Value, String> {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let header = decode_header(token).map_err(|e| e.to_string())?;
    if header.typ.as_deref() != Some("at+jwt") {
        return Err(format!("typ is {:?}", header.typ));
    }
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .ok_or("kid not in JWKS")?;
    let (key, algorithm) = match jwk["kty"].as_str() {
        Some("EC") => (
            DecodingKey::from_ec_components(str_field(jwk, "x"), str_field(jwk, "y")),
            Algorithm::ES256,
        ),
        Some("OKP") => (
            DecodingKey::from_ed_components(str_field(jwk, "x")),
            Algorithm::EdDSA,
        ),
        Some("RSA") => (
            DecodingKey::from_rsa_components(str_field(jwk, "n"), str_field(jwk, "e")),
            Algorithm::RS256,
        ),
        other => return Err(format!("unexpected kty {other:?}")),
    };
    let key = key.map_err(|e| e.to_string())?;
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[format!("{PUBLIC_URL}/realms/{REALM}")]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

/// The claims of a JWT, read without verifying it (for ids the test needs).
pub fn unverified_claims(token: &str) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn str_field<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {body}"))
}

/// Asserts a Keycloak-shaped error.
pub fn assert_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.body["error"], error, "{}", reply.text);
    assert!(
        reply.body["error_description"].is_string(),
        "{}",
        reply.text
    );
}
