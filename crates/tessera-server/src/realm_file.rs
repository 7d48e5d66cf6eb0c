//! Realm files: `realms/*.toml`, one realm each, applied at every start.
//!
//! The file format is the operator's, and is this module; [`tessera_token::Realm`]
//! is the token service's, and `convert` turns one into the other. Everything is
//! validated at load, so that a bad file stops the start with a message naming
//! the file and the field, instead of failing a request later.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tessera_keys::SecretDigester;
use tessera_proto::{AuthorizationDetail, SecretString};
use tessera_token::{NewUserRequest, Realm};

mod conversion;

pub(crate) use conversion::convert;

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
    use std::time::Duration;

    use tessera_token::GrantType;

    use super::*;
    use crate::duration::{parse_duration, MAX_DURATION, MINUTE};

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
}
