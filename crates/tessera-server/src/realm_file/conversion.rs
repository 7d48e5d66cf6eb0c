//! From a realm file to the token service's [`tessera_token::Realm`]: every
//! value checked, every default filled in, every secret digested, so that a
//! bad file is refused with the field it got wrong.

use std::collections::HashMap;
use std::time::Duration;

use tessera_authz::{Catalog, Permissions};
use tessera_keys::{SecretDigester, SigningAlgorithm};
use tessera_token::{
    BruteForceSettings, Client, CompanyTokenSettings, DeviceFlowSettings, GrantType,
    NewUserRequest, PersonalTokenSettings, Realm, Timestamp, TokenSettings, ADMIN_ROLE,
    OFFLINE_ACCESS,
};

use super::{ClientFile, LoadedRealm, PermissionsFile, RealmFile, SecretFile};
use crate::duration::{parse_duration, DAY, HOUR, MINUTE};

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
