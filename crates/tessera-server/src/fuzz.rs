//! Fuzz targets for what the server reads from outside: the token endpoint's
//! form, HTTP Basic client credentials, the account API's JSON and realm files.
//! `PROPTEST_CASES` sets the run length.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{Map, Value};
use tessera_proto::strategies::{json_object, json_value};

use crate::duration::parse_duration;
use crate::http::account::CreateTokenBody;
use crate::http::form::{basic_credentials, OAuthForm};
use crate::realm_file::{convert, RealmFile, VALID};

/// Form parameter names the token endpoint reads, and a few it does not.
const FORM_NAMES: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "username",
    "password",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
    "code",
    "redirect_uri",
];

fn form_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        4 => prop::sample::select(FORM_NAMES).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec((name, any::<String>()), 0..8)
}

fn authorization(value: &str) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).ok()?);
    Some(headers)
}

fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,22}(ms|s|m|h|d|x|)",
        "-[0-9]{1,5}[smhd]",
        Just("never".to_owned()),
        any::<String>(),
    ]
}

/// A TOML value for any realm-file key: durations, counts, flags and lists,
/// right or wrong for the key they land on.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        duration_text().prop_map(|text| format!("{text:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("[\"password\", \"refresh_token\"]".to_owned()),
        Just("{ env = \"TESSERA_FUZZ_UNSET\" }".to_owned()),
        "[a-z_\\-\" ]{0,12}".prop_map(|text| format!("{text:?}")),
    ]
}

const REALM_KEYS: &[&str] = &[
    "access_token_lifetime",
    "session_idle",
    "session_max",
    "offline_idle",
    "refresh_rotation",
    "reuse_grace",
    "algorithm",
    "key_rotation",
    "max_failures",
    "window",
    "lockout",
    "max_per_user",
    "expose_audience",
    "default_lifetime",
    "max_lifetime",
    "client_id",
    "secret",
    "grants",
    "scopes",
    "default_scopes",
    "audience",
    "personal_tokens",
    "account",
    "username",
    "password",
    "enabled",
    "valid_until",
    "roles",
];

const REALM_SECTIONS: &[&str] = &[
    "[personal_tokens]",
    "[[clients]]",
    "[[users]]",
    "\nname = \"r\"",
];

/// The valid realm file with a few `key = value` lines added under its
/// sections, or sections added at its end.
fn realm_text() -> impl Strategy<Value = String> {
    let line = (
        prop::sample::select(REALM_SECTIONS),
        prop_oneof![
            Just(String::new()),
            Just("\n[tokens]".to_owned()),
            Just("\n[brute_force]".to_owned()),
            Just("\n[clients.tokens]".to_owned()),
        ],
        prop::sample::select(REALM_KEYS),
        toml_value(),
    );
    prop::collection::vec(line, 1..5).prop_map(|lines| {
        lines
            .into_iter()
            .fold(VALID.to_owned(), |text, (section, table, key, value)| {
                let addition = format!("{section}{table}\n{key} = {value}");
                text.replacen(section, &addition, 1)
            })
    })
}

fn digester() -> tessera_keys::SecretDigester {
    static MASTER: std::sync::OnceLock<tessera_keys::MasterKey> = std::sync::OnceLock::new();
    MASTER
        .get_or_init(|| tessera_keys::MasterKey::generate().unwrap())
        .digester()
}

fn account_body() -> impl Strategy<Value = Map<String, Value>> {
    let names = &[
        "type",
        "name",
        "description",
        "password",
        "lifetime",
        "expires_at",
        "audience",
        "client_id",
        "offline",
    ];
    (
        prop::sample::select(vec!["expose", "client", "other"]),
        json_object(names),
    )
        .prop_map(|(kind, mut body)| {
            body.entry("type").or_insert(Value::from(kind));
            body
        })
}

proptest! {
    /// Any body: parsed or refused as a bad request, never a panic.
    #[test]
    fn fuzz_token_form_bytes_are_parsed_or_refused(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = OAuthForm::parse(&body);
    }

    /// Encoded parameters come back as sent: empty ones absent, a repeated
    /// one refused (RFC 6749 §3.2).
    #[test]
    fn fuzz_token_form_round_trips(pairs in form_pairs()) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let names: Vec<&str> = pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, _)| name.as_str())
            .collect();
        let repeated = names.iter().enumerate().any(|(i, name)| names[..i].contains(name));
        match OAuthForm::parse(body.as_bytes()) {
            Ok(form) => {
                prop_assert!(!repeated);
                for (name, value) in pairs.iter().filter(|(_, value)| !value.is_empty()) {
                    prop_assert_eq!(form.get(name), Some(value.as_str()));
                }
            }
            Err(_) => prop_assert!(repeated),
        }
    }

    /// Any `Authorization` header: credentials, nothing, or a bad request.
    #[test]
    fn fuzz_basic_headers_are_read_or_refused(value in prop_oneof![
        any::<String>(),
        "(Basic|basic|Bearer) [A-Za-z0-9+/=%: ]{0,64}",
    ]) {
        if let Some(headers) = authorization(&value) {
            let _ = basic_credentials(&headers);
        }
    }

    /// Client id and secret survive RFC 6749 §2.3.1's encoding: form-urlencoded,
    /// joined with `:`, then base64.
    #[test]
    fn fuzz_basic_credentials_round_trip(id in any::<String>(), secret in any::<String>()) {
        let encode = |part: &str| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
        let value = format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret))));
        let headers = authorization(&value).unwrap();
        let decoded = basic_credentials(&headers).map_err(|_| TestCaseError::fail("refused"))?;
        prop_assert_eq!(decoded, Some((id, secret)));
    }

    /// Account API bodies of every shape and type: read or refused.
    #[test]
    fn fuzz_account_bodies_are_read_or_refused(
        body in prop_oneof![
            account_body().prop_map(|body| Value::Object(body).to_string().into_bytes()),
            json_value().prop_map(|value| value.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..128),
        ]
    ) {
        let _ = serde_json::from_slice::<CreateTokenBody>(&body);
    }

    /// Durations are refused or at most 36525 days, never an overflow.
    #[test]
    fn fuzz_durations_are_bounded(text in duration_text()) {
        if let Ok(duration) = parse_duration(&text) {
            prop_assert!(duration <= Duration::from_secs(36_525 * 24 * 3_600));
        }
    }

    /// Realm files with any values under any key: loaded or refused with a
    /// message, and a loaded realm keeps the rules that make it safe.
    #[test]
    fn fuzz_realm_files_are_loaded_or_refused(text in prop_oneof![1 => any::<String>(), 6 => realm_text()]) {
        let Ok(file) = toml::from_str::<RealmFile>(&text) else {
            return Ok(());
        };
        if let Ok(loaded) = convert(file, &digester()) {
            let realm = loaded.realm;
            prop_assert!(realm.brute_force.max_failures > 0);
            prop_assert!(!realm.brute_force.window.is_zero() && !realm.brute_force.lockout.is_zero());
            prop_assert!(!realm.tokens.access_token_lifetime.is_zero());
            prop_assert!(!realm.key_rotation_period.is_zero());
            for client in realm.clients.values() {
                prop_assert!(client.is_confidential() || client.tokens.refresh_rotation);
            }
        }
    }
}
