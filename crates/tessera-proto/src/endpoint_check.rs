use serde::{Deserialize, Serialize};

/// The answer of the endpoint check
/// (`POST /realms/{realm}/endpoints/check` with `endpoint`, `method` and
/// `token`, for a confidential client).
///
/// Allowed: `token_kind` (`primary` or `secondary`), `token_id` and `name`
/// say which token made the call; all three are absent when the endpoint
/// needs no token. Refused: `reason` is one of `malformed_token`,
/// `unknown_token`, `unknown_endpoint`, `method_not_allowed`, `disabled`,
/// `inactive`, `unassigned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCheckResponse {
    pub allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The consuming application's name, or `GET primary`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl EndpointCheckResponse {
    /// Allowed, made by the token `(kind, id, name)` if the endpoint needs one.
    pub fn allowed(caller: Option<(&str, String, String)>) -> Self {
        let (token_kind, token_id, name) = match caller {
            Some((kind, id, name)) => (Some(kind.to_owned()), Some(id), Some(name)),
            None => (None, None, None),
        };
        Self {
            allowed: true,
            reason: None,
            token_kind,
            token_id,
            name,
        }
    }

    pub fn refused(reason: &str) -> Self {
        Self {
            allowed: false,
            reason: Some(reason.to_owned()),
            token_kind: None,
            token_id: None,
            name: None,
        }
    }
}
