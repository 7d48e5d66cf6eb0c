//! Realm files: `realms/*.toml`, one realm each, applied at every start.
//!
//! The file format is the operator's; [`tessera_token::Realm`] is the token
//! service's. Everything is validated here so that a bad file stops the start
//! with a message naming the file and the field, instead of failing a request later.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tessera_authz::{Catalog, Permissions};
use tessera_keys::{SecretDigester, SigningAlgorithm};
use tessera_proto::{AuthorizationDetail, SecretString};
use tessera_token::{
    BruteForceSettings, Client, CompanyTokenSettings, DeviceFlowSettings, GrantType,
    NewUserRequest, PersonalTokenSettings, Realm, Timestamp, TokenSettings, ADMIN_ROLE,
    OFFLINE_ACCESS,
};

#[derive(Debug, thiserror::Error)]
pub enum RealmFileError {
    #[error("cannot read realm directory {path}: {source}")]
    ReadDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A realm with the users its file seeds.
#[derive(Debug)]
pub struct LoadedRealm {
    pub realm: Realm,
    pub users: Vec<NewUserRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RealmFile {
    name: String,
    /// What the sign-in pages call the realm; its name when absent.
    display_name: Option<String>,
    #[serde(default)]
    tokens: TokensFile,
    #[serde(default)]
    brute_force: BruteForceFile,
    #[serde(default)]
    personal_tokens: PersonalTokensFile,
    #[serde(default)]
    company_tokens: CompanyTokensFile,
    #[serde(default)]
    device_flow: DeviceFlowFile,
    #[serde(default)]
    recoverable_endpoint_tokens: bool,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    permissions: PermissionsFile,
    #[serde(default)]
    clients: Vec<ClientFile>,
    #[serde(default)]
    users: Vec<UserFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    access_token_lifetime: Option<String>,
    session_idle: Option<String>,
    session_max: Option<String>,
    offline_idle: Option<String>,
    refresh_rotation: Option<bool>,
    reuse_grace: Option<String>,
    algorithm: Option<String>,
    key_rotation: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BruteForceFile {
    max_failures: Option<i64>,
    window: Option<String>,
    lockout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalTokensFile {
    max_per_user: Option<i64>,
    /// Confidential clients that may accept expose tokens by introspection.
    #[serde(default)]
    expose_audience: Vec<String>,
    default_lifetime: Option<String>,
    max_lifetime: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompanyTokensFile {
    max_per_user: Option<i64>,
    max_per_subscription: Option<i64>,
    default_lifetime: Option<String>,
    max_lifetime: Option<String>,
}

/// The realm's own resource types, and what its roles grant.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionsFile {
    /// Resource type → its actions (Tessera's own types are always there).
    #[serde(default)]
    types: BTreeMap<String, Vec<String>>,
    /// Role → its grants, as RFC 9396 authorization details.
    #[serde(default)]
    roles: BTreeMap<String, Vec<AuthorizationDetail>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientTokensFile {
    access_token_lifetime: Option<String>,
    session_idle: Option<String>,
    session_max: Option<String>,
    offline_idle: Option<String>,
    refresh_rotation: Option<bool>,
}

/// A client secret: written in the file, or the name of an environment variable.
#[derive(Deserialize)]
#[serde(untagged)]
enum SecretFile {
    Literal(String),
    Env { env: String },
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("Literal(<redacted>)"),
            Self::Env { env } => f.debug_struct("Env").field("env", env).finish(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFlowFile {
    code_lifetime: Option<String>,
    interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    client_id: String,
    secret: Option<SecretFile>,
    grants: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    default_scopes: Vec<String>,
    #[serde(default)]
    audience: Vec<String>,
    /// Users may create client tokens (personal access tokens) for this client.
    #[serde(default)]
    personal_tokens: bool,
    /// Its sessions' access tokens carry the `account` audience, so they may use
    /// the account API (a console or account-management client).
    #[serde(default)]
    account: bool,
    /// Its users' access tokens may call the management API.
    #[serde(default)]
    management: bool,
    /// Where the authorization endpoint may redirect, compared exactly.
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// Where RP-initiated logout may redirect, compared exactly.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    tokens: ClientTokensFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    username: String,
    email: Option<String>,
    /// Plaintext or an argon2 PHC string; `Debug` redacts it.
    password: SecretString,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    valid_until: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

fn enabled_by_default() -> bool {
    true
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest duration a realm file may give (100 years): every expiry is
/// then far from overflowing when added to the current time.
const MAX_DURATION: Duration = Duration::from_secs(36_525 * 24 * 60 * 60);

/// Parses a duration in `humantime`'s syntax (`"500ms"`, `"300s"`, `"5m"`,
/// `"1h 30m"`, `"30d"`) or a bare number of seconds (`"300"`), at most
/// [`MAX_DURATION`], in whole milliseconds (the resolution of every stored
/// time: a finer part is dropped).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("duration {text:?} is too large (at most 36525d)"))?
    } else {
        humantime::parse_duration(text).map_err(|error| {
            format!("invalid duration {text:?}: {error} (use e.g. 300s, 5m, 10h, 30d)")
        })?
    };
    u64::try_from(parsed.as_millis())
        .ok()
        .map(Duration::from_millis)
        .filter(|duration| *duration <= MAX_DURATION)
        .ok_or_else(|| format!("duration {text:?} is too large (at most 36525d)"))
}

/// Reads every `*.toml` in `dir`, in name order.
pub fn load_realm_dir(
    dir: &Path,
    digester: &SecretDigester,
) -> Result<Vec<LoadedRealm>, RealmFileError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RealmFileError::ReadDir {
        path: dir.display().to_string(),
        source,
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    let mut realms: Vec<LoadedRealm> = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| RealmFileError::Read {
            path: display.clone(),
            source,
        })?;
        let invalid = |message: String| RealmFileError::Invalid {
            path: display.clone(),
            message,
        };
        let file: RealmFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let loaded = convert(file, digester).map_err(invalid)?;
        if realms.iter().any(|r| r.realm.name == loaded.realm.name) {
            return Err(invalid(format!(
                "realm {:?} is defined twice",
                loaded.realm.name
            )));
        }
        realms.push(loaded);
    }
    Ok(realms)
}

/// Realm names appear in URLs and clients compare issuers byte for byte: keep them plain.
fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "{kind} {name:?} must be 1-64 characters of letters, digits, '-', '_' or '.'"
        ))
    }
}

fn optional_duration(value: Option<&String>, default: Duration) -> Result<Duration, String> {
    value.map_or(Ok(default), |text| parse_duration(text))
}

fn optional_offline_idle(
    value: Option<&String>,
    default: Option<Duration>,
) -> Result<Option<Duration>, String> {
    match value.map(String::as_str) {
        None => Ok(default),
        Some("never") => Ok(None),
        Some(text) => parse_duration(text).map(Some),
    }
}

pub(crate) fn convert(file: RealmFile, digester: &SecretDigester) -> Result<LoadedRealm, String> {
    check_name("realm name", &file.name)?;
    let t = &file.tokens;
    let tokens = TokenSettings {
        access_token_lifetime: optional_duration(t.access_token_lifetime.as_ref(), 5 * MINUTE)?,
        session_idle: optional_duration(t.session_idle.as_ref(), 30 * MINUTE)?,
        session_max: optional_duration(t.session_max.as_ref(), 10 * HOUR)?,
        offline_idle: optional_offline_idle(t.offline_idle.as_ref(), Some(30 * DAY))?,
        refresh_rotation: t.refresh_rotation.unwrap_or(true),
    };
    check_lifetimes(&tokens)?;
    let algorithm: SigningAlgorithm = t
        .algorithm
        .as_deref()
        .unwrap_or("ES256")
        .parse()
        .map_err(|e: tessera_jose::UnsupportedAlgorithm| e.to_string())?;
    let b = &file.brute_force;
    let brute_force = BruteForceSettings {
        max_failures: b.max_failures.unwrap_or(10),
        window: optional_duration(b.window.as_ref(), 15 * MINUTE)?,
        lockout: optional_duration(b.lockout.as_ref(), 15 * MINUTE)?,
    };
    if brute_force.max_failures < 1 {
        return Err("brute_force.max_failures must be at least 1".to_owned());
    }
    if brute_force.window.is_zero() || brute_force.lockout.is_zero() {
        return Err(
            "brute_force.window and brute_force.lockout must be positive (0 would never lock)"
                .to_owned(),
        );
    }
    let p = &file.personal_tokens;
    let personal_tokens = PersonalTokenSettings {
        max_per_user: p.max_per_user.unwrap_or(100),
        expose_audience: p.expose_audience.clone(),
        default_lifetime: optional_duration(p.default_lifetime.as_ref(), 30 * DAY)?,
        max_lifetime: optional_duration(p.max_lifetime.as_ref(), 365 * DAY)?,
    };
    if personal_tokens.max_per_user < 1 {
        return Err("personal_tokens.max_per_user must be at least 1".to_owned());
    }
    check_default_lifetime(
        "personal_tokens",
        personal_tokens.default_lifetime,
        personal_tokens.max_lifetime,
    )?;
    let c = &file.company_tokens;
    let company_tokens = CompanyTokenSettings {
        max_per_user: c.max_per_user.unwrap_or(10),
        max_per_subscription: c.max_per_subscription.unwrap_or(1000),
        default_lifetime: optional_duration(c.default_lifetime.as_ref(), 90 * DAY)?,
        max_lifetime: optional_duration(c.max_lifetime.as_ref(), 365 * DAY)?,
    };
    if company_tokens.max_per_user < 1 || company_tokens.max_per_subscription < 1 {
        return Err(
            "company_tokens.max_per_user and max_per_subscription must be at least 1".to_owned(),
        );
    }
    check_default_lifetime(
        "company_tokens",
        company_tokens.default_lifetime,
        company_tokens.max_lifetime,
    )?;
    for role in &file.roles {
        check_name("role", role)?;
    }
    let (catalog, role_permissions) = convert_permissions(file.permissions, &file.roles)?;
    let mut clients = HashMap::new();
    for client in file.clients {
        let client = convert_client(client, &tokens, digester)?;
        if clients.contains_key(&client.client_id) {
            return Err(format!("client {:?} is defined twice", client.client_id));
        }
        clients.insert(client.client_id.clone(), client);
    }
    for audience in &personal_tokens.expose_audience {
        if !clients.get(audience).is_some_and(Client::is_confidential) {
            return Err(format!(
                "personal_tokens.expose_audience: {audience:?} is not a confidential client \
                 of this realm (only those can introspect)"
            ));
        }
    }
    let mut users = Vec::new();
    for user in file.users {
        for role in &user.roles {
            if !file.roles.contains(role) {
                return Err(format!(
                    "user {:?} has undeclared role {role:?}",
                    user.username
                ));
            }
        }
        let valid_until = user
            .valid_until
            .as_deref()
            .map(|text| {
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|at| Timestamp::from_millis(at.timestamp_millis()))
                    .map_err(|e| format!("user {:?}: valid_until {text:?}: {e}", user.username))
            })
            .transpose()?;
        if user.username.is_empty() || user.username.len() > 255 {
            return Err("usernames must be 1-255 characters".to_owned());
        }
        users.push(NewUserRequest {
            realm: file.name.clone(),
            username: user.username,
            email: user.email,
            password: user.password,
            enabled: user.enabled,
            valid_until,
            roles: user.roles,
        });
    }
    let d = &file.device_flow;
    let device_flow = DeviceFlowSettings {
        code_lifetime: optional_duration(d.code_lifetime.as_ref(), 10 * MINUTE)?,
        interval: optional_duration(d.interval.as_ref(), Duration::from_secs(5))?,
    };
    // The interval is whole seconds on the wire (RFC 8628 §3.2).
    if device_flow.interval < Duration::from_secs(1) || device_flow.code_lifetime.is_zero() {
        return Err(
            "device_flow.interval must be at least 1s and code_lifetime positive".to_owned(),
        );
    }
    let key_rotation_period = optional_duration(t.key_rotation.as_ref(), 90 * DAY)?;
    if key_rotation_period.is_zero() {
        return Err("tokens.key_rotation must be positive".to_owned());
    }
    Ok(LoadedRealm {
        realm: Realm {
            issuer: String::new(),
            display_name: file.display_name.unwrap_or_else(|| file.name.clone()),
            name: file.name,
            reuse_grace: optional_duration(t.reuse_grace.as_ref(), Duration::from_secs(2))?,
            algorithm,
            key_rotation_period,
            tokens,
            brute_force,
            device_flow,
            personal_tokens,
            company_tokens,
            recoverable_endpoint_tokens: file.recoverable_endpoint_tokens,
            clients,
            roles: file.roles,
            catalog,
            role_permissions,
        },
        users,
    })
}

fn convert_permissions(
    file: PermissionsFile,
    roles: &[String],
) -> Result<(Catalog, HashMap<String, Permissions>), String> {
    let catalog = Catalog::with_realm_types(file.types)
        .map_err(|error| format!("permissions.types: {error}"))?;
    let mut role_permissions = HashMap::new();
    for (role, details) in file.roles {
        if role == ADMIN_ROLE {
            return Err(format!(
                "permissions.roles: the role {ADMIN_ROLE:?} always grants everything; give it no grants"
            ));
        }
        if !roles.contains(&role) {
            return Err(format!("permissions.roles: undeclared role {role:?}"));
        }
        let permissions = Permissions::from_details(&details)
            .and_then(|permissions| catalog.check(&permissions).map(|()| permissions))
            .map_err(|error| format!("permissions.roles.{role}: {error}"))?;
        role_permissions.insert(role, permissions);
    }
    Ok((catalog, role_permissions))
}

fn check_lifetimes(tokens: &TokenSettings) -> Result<(), String> {
    // JWT times are whole seconds.
    if tokens.access_token_lifetime < Duration::from_secs(1) {
        return Err("access_token_lifetime must be at least 1s".to_owned());
    }
    if tokens.session_idle.is_zero() || tokens.session_max.is_zero() {
        return Err("session lifetimes must be positive".to_owned());
    }
    if tokens.offline_idle.is_some_and(|idle| idle.is_zero()) {
        return Err("offline_idle must be positive or \"never\"".to_owned());
    }
    Ok(())
}

/// A redirect URI is an absolute URI without a fragment (RFC 6749 §3.1.2)
/// and without wildcards: it is compared byte for byte (RFC 9700 §4.1.1).
fn check_redirect_uri(client: &str, uri: &str) -> Result<(), String> {
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    // URIs are ASCII (RFC 3986 §2); an IRI must be written percent-encoded.
    let plain =
        uri.is_ascii() && !uri.contains(['#', '*']) && !uri.bytes().any(|b| b <= b' ' || b == 0x7f);
    // Schemes that run or read something in the browser instead of reaching a client.
    let scheme = uri
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let harmless = !matches!(scheme.as_str(), "javascript" | "data" | "file" | "vbscript");
    if !scheme_ok || !plain || !harmless {
        return Err(format!(
            "client {client:?}: redirect URI {uri:?} must be an absolute ASCII URI without a \
             fragment, spaces or wildcards"
        ));
    }
    Ok(())
}

fn convert_client(
    file: ClientFile,
    realm_tokens: &TokenSettings,
    digester: &SecretDigester,
) -> Result<Client, String> {
    check_name("client_id", &file.client_id)?;
    let id = &file.client_id;
    let secret = match file.secret {
        None => None,
        Some(SecretFile::Literal(secret)) => Some(secret),
        Some(SecretFile::Env { env }) => Some(std::env::var(&env).map_err(|_| {
            format!("client {id:?}: environment variable {env} (its secret) is not set")
        })?),
    };
    if secret.as_ref().is_some_and(|s| s.len() < 16) {
        return Err(format!(
            "client {id:?}: secret must be at least 16 characters"
        ));
    }
    let grants = file
        .grants
        .iter()
        .map(|g| {
            // The device grant's URN has a short name in realm files.
            let grant = if g == "device_code" {
                Some(GrantType::DeviceCode)
            } else {
                GrantType::parse(g)
            };
            grant.ok_or_else(|| format!("client {id:?}: unknown grant {g:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for uri in file
        .redirect_uris
        .iter()
        .chain(&file.post_logout_redirect_uris)
    {
        check_redirect_uri(id, uri)?;
    }
    if grants.contains(&GrantType::AuthorizationCode) && file.redirect_uris.is_empty() {
        return Err(format!(
            "client {id:?}: the authorization_code grant needs at least one redirect_uris entry"
        ));
    }
    for scope in &file.default_scopes {
        if !file.scopes.contains(scope) || scope == OFFLINE_ACCESS {
            return Err(format!(
                "client {id:?}: default scope {scope:?} must be listed in scopes and not be offline_access"
            ));
        }
    }
    let o = &file.tokens;
    let tokens = TokenSettings {
        access_token_lifetime: optional_duration(
            o.access_token_lifetime.as_ref(),
            realm_tokens.access_token_lifetime,
        )?,
        session_idle: optional_duration(o.session_idle.as_ref(), realm_tokens.session_idle)?,
        session_max: optional_duration(o.session_max.as_ref(), realm_tokens.session_max)?,
        offline_idle: optional_offline_idle(o.offline_idle.as_ref(), realm_tokens.offline_idle)?,
        refresh_rotation: o.refresh_rotation.unwrap_or(realm_tokens.refresh_rotation),
    };
    check_lifetimes(&tokens)?;
    // RFC 9700 §4.14.2: a public client's refresh tokens must rotate, since
    // nothing else would tell a stolen one from its owner's.
    if !tokens.refresh_rotation && secret.is_none() && grants.contains(&GrantType::RefreshToken) {
        return Err(format!(
            "client {id:?} is public: its refresh tokens must rotate (refresh_rotation = false \
             is for confidential clients only)"
        ));
    }
    if file.personal_tokens && !grants.contains(&GrantType::RefreshToken) {
        return Err(format!(
            "client {:?} allows personal tokens but not the refresh_token grant they need",
            file.client_id
        ));
    }
    Ok(Client {
        allows_personal_tokens: file.personal_tokens,
        account_audience: file.account,
        management: file.management,
        redirect_uris: file.redirect_uris,
        post_logout_redirect_uris: file.post_logout_redirect_uris,
        secret_digest: secret.map(|s| digester.digest(&s)),
        client_id: file.client_id,
        grants,
        allowed_scopes: file.scopes,
        default_scopes: file.default_scopes,
        audience: file.audience,
        tokens,
    })
}

/// A default token lifetime lies between the shortest a token may live and
/// the maximum.
fn check_default_lifetime(section: &str, default: Duration, max: Duration) -> Result<(), String> {
    if (PersonalTokenSettings::MIN_LIFETIME..=max).contains(&default) {
        Ok(())
    } else {
        Err(format!(
            "{section}.default_lifetime must lie between 1m and max_lifetime"
        ))
    }
}

/// A small realm file that loads: the base the tests and fuzz targets vary.
#[cfg(test)]
pub(crate) const VALID: &str = r#"
name = "r"
[personal_tokens]
expose_audience = ["api"]
[[clients]]
client_id = "app"
grants = ["password", "refresh_token"]
[[clients]]
client_id = "api"
secret = "a-secret-of-sixteen-chars"
grants = ["client_credentials", "password", "refresh_token"]
[[users]]
username = "u"
password = "user-password-123"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedRealm, String> {
        let digester = tessera_keys::MasterKey::generate().unwrap().digester();
        let file: RealmFile = toml::from_str(text).map_err(|e| e.to_string())?;
        convert(file, &digester)
    }

    /// `text` with `line` inserted after the section header `section`.
    fn with(section: &str, line: &str) -> String {
        VALID.replacen(section, &format!("{section}\n{line}"), 1)
    }

    #[test]
    fn the_example_shape_loads() {
        let loaded = load(VALID).unwrap();
        assert_eq!(loaded.realm.personal_tokens.expose_audience, ["api"]);
        assert!(loaded.realm.clients["app"].tokens.refresh_rotation);
    }

    #[test]
    fn redirect_uris_are_absolute_ascii_uris_without_patterns() {
        let app = "client_id = \"app\"\ngrants = [\"password\", \"refresh_token\"]";
        let browser_app = |uris: &str| {
            VALID.replace(
                app,
                &format!("client_id = \"app\"\ngrants = [\"authorization_code\"]\n{uris}"),
            )
        };
        let loaded = load(&browser_app(
            "redirect_uris = [\"https://app.example/cb?x=1\", \"com.example.app:/oauth\"]",
        ))
        .unwrap();
        assert!(loaded.realm.clients["app"].allows_redirect_uri("com.example.app:/oauth"));
        assert!(!loaded.realm.clients["app"].allows_redirect_uri("https://app.example/cb"));
        for bad in [
            "https://app.example/*",
            "https://app.example/cb#fragment",
            "/relative/path",
            "https://app.example/ cb",
            "https://\u{e4}pp.example/cb",
            "1https://app.example/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
        ] {
            let error = load(&browser_app(&format!("redirect_uris = [\"{bad}\"]"))).unwrap_err();
            assert!(
                error.contains("must be an absolute ASCII URI"),
                "{bad}: {error}"
            );
            let error = load(&browser_app(&format!(
                "redirect_uris = [\"https://app.example/cb\"]\npost_logout_redirect_uris = [\"{bad}\"]"
            )))
            .unwrap_err();
            assert!(
                error.contains("must be an absolute ASCII URI"),
                "{bad}: {error}"
            );
        }
        assert!(load(&browser_app(""))
            .unwrap_err()
            .contains("needs at least one redirect_uris entry"));
    }

    #[test]
    fn the_device_grant_has_a_short_name_and_bounded_settings() {
        let device = VALID.replace(
            "grants = [\"password\", \"refresh_token\"]",
            "grants = [\"device_code\", \"refresh_token\"]",
        );
        let realm = load(&device).unwrap().realm;
        assert!(realm.clients["app"].allows_grant(GrantType::DeviceCode));
        assert_eq!(realm.device_flow.interval, Duration::from_secs(5));
        assert_eq!(realm.device_flow.code_lifetime, 10 * MINUTE);
        let fast = device.replace(
            "name = \"r\"",
            "name = \"r\"\n[device_flow]\ninterval = \"500ms\"",
        );
        assert!(load(&fast).unwrap_err().contains("device_flow.interval"));
    }

    #[test]
    fn the_shipped_example_realm_loads() {
        let realm = load(include_str!("../../../realms/dc-realm.toml"))
            .unwrap()
            .realm;
        assert!(realm.clients["admin-cli"].management);
        assert!(!realm.clients["pydc"].management);
        assert!(realm.clients["pydc"].allows_grant(GrantType::DeviceCode));
        assert!(realm.clients["dc-web"].allows_grant(GrantType::AuthorizationCode));
        assert_eq!(realm.display_name, "DataBlocks");
        for resource_type in ["device", "bucket", "dashboard", "token", "endpoint"] {
            assert!(
                realm.catalog.get(resource_type).is_some(),
                "{resource_type}"
            );
        }
        assert_eq!(realm.catalog.get("device").unwrap().actions().len(), 11);
        assert!(realm.permissions_of_roles(["user"]).permits(
            "device",
            "d-17",
            "AccessDeviceResources"
        ));
    }

    #[test]
    fn permissions_load_with_the_builtin_types_and_role_grants() {
        let text = VALID.replace(
            "name = \"r\"",
            "name = \"r\"\nroles = [\"user\", \"admin\"]\n\
             [permissions.types]\nbucket = [\"ReadBucket\", \"WriteBucket\"]\n\
             [permissions.roles]\n\
             user = [{ type = \"bucket\", identifier = \"*\", actions = [\"ReadBucket\"] }]",
        );
        let realm = load(&text).unwrap().realm;
        assert!(realm.catalog.get("bucket").is_some());
        assert!(realm.catalog.get("token").is_some());
        let user = realm.permissions_of_roles(["user"]);
        assert!(user.permits("bucket", "b1", "ReadBucket"));
        assert!(!user.permits("bucket", "b1", "WriteBucket"));
        assert!(realm.permissions_of_roles(["user", "admin"]).permits(
            "bucket",
            "b1",
            "WriteBucket"
        ));
        assert!(realm.permissions_of_roles(["other"]).is_empty());
    }

    #[test]
    fn bad_permissions_are_refused_by_name() {
        let realm_with = |permissions: &str| {
            VALID.replace(
                "name = \"r\"",
                &format!("name = \"r\"\nroles = [\"user\", \"admin\"]\n{permissions}"),
            )
        };
        for (permissions, complaint) in [
            ("[permissions.types]\ntoken = [\"X\"]", "Tessera's own"),
            ("[permissions.types]\nBucket = [\"X\"]", "\"Bucket\""),
            ("[permissions.types]\nbucket = []", "at least one action"),
            (
                "[permissions.roles]\nuser = [{ type = \"bucket\", identifier = \"*\", actions = [\"*\"] }]",
                "unknown resource type \"bucket\"",
            ),
            (
                "[permissions.roles]\nuser = [{ type = \"token\", identifier = \"*\", actions = [\"Steal\"] }]",
                "no action \"Steal\"",
            ),
            (
                "[permissions.roles]\nguest = [{ type = \"token\", identifier = \"*\", actions = [\"*\"] }]",
                "undeclared role \"guest\"",
            ),
            (
                "[permissions.roles]\nadmin = [{ type = \"token\", identifier = \"*\", actions = [\"*\"] }]",
                "always grants everything",
            ),
        ] {
            let text = realm_with(permissions);
            let error = load(&text)
                .err()
                .unwrap_or_else(|| panic!("accepted:\n{text}"));
            assert!(error.contains(complaint), "{error}");
        }
    }

    #[test]
    fn settings_that_would_disable_a_protection_are_refused() {
        for (text, complaint) in [
            (
                VALID.replace(
                    "name = \"r\"",
                    "name = \"r\"\n[brute_force]\nlockout = \"0s\"",
                ),
                "lockout",
            ),
            (
                VALID.replace(
                    "name = \"r\"",
                    "name = \"r\"\n[brute_force]\nwindow = \"0\"",
                ),
                "window",
            ),
            (
                VALID.replace(
                    "name = \"r\"",
                    "name = \"r\"\n[tokens]\nrefresh_rotation = false",
                ),
                "public",
            ),
            (
                with(
                    "client_id = \"app\"",
                    "tokens = { refresh_rotation = false }",
                ),
                "public",
            ),
            (
                VALID.replace(
                    "name = \"r\"",
                    "name = \"r\"\n[tokens]\nkey_rotation = \"0s\"",
                ),
                "key_rotation",
            ),
            (VALID.replace("[\"api\"]", "[\"app\"]"), "confidential"),
            (VALID.replace("[\"api\"]", "[\"nobody\"]"), "confidential"),
        ] {
            let error = load(&text)
                .err()
                .unwrap_or_else(|| panic!("accepted:\n{text}"));
            assert!(error.contains(complaint), "{error}");
        }
        // A confidential client may keep its refresh token.
        let confidential = with(
            "client_id = \"api\"",
            "tokens = { refresh_rotation = false }",
        );
        assert!(
            !load(&confidential).unwrap().realm.clients["api"]
                .tokens
                .refresh_rotation
        );
    }

    #[test]
    fn durations_that_could_overflow_an_expiry_are_refused() {
        for field in [
            "access_token_lifetime",
            "session_idle",
            "session_max",
            "offline_idle",
            "reuse_grace",
        ] {
            let text = VALID.replace(
                "name = \"r\"",
                &format!("name = \"r\"\n[tokens]\n{field} = \"9223372036854775d\""),
            );
            assert!(load(&text).unwrap_err().contains("too large"), "{field}");
            let text = VALID.replace(
                "name = \"r\"",
                &format!("name = \"r\"\n[tokens]\n{field} = \"36526d\""),
            );
            assert!(load(&text).unwrap_err().contains("too large"), "{field}");
        }
        assert_eq!(parse_duration("36525d").unwrap(), MAX_DURATION);
    }

    #[test]
    fn debug_output_of_a_realm_file_holds_no_secret() {
        let file: RealmFile = toml::from_str(VALID).unwrap();
        let debug = format!("{file:?}");
        assert!(!debug.contains("a-secret-of-sixteen-chars"), "{debug}");
        assert!(!debug.contains("user-password-123"), "{debug}");
        assert!(debug.contains("api"));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("30d").unwrap(), 30 * DAY);
        assert_eq!(parse_duration("1h 30m").unwrap(), 90 * MINUTE);
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1500us").unwrap(), Duration::from_millis(1));
        for bad in [
            "",
            "m",
            "5 fortnights",
            "-5m",
            "5m-",
            "99999999999999999999d",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
