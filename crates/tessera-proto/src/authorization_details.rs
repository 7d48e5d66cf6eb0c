use serde::{Deserialize, Serialize};

/// The value of `identifier` or of an `actions` entry that stands for all of them.
pub const WILDCARD: &str = "*";

/// One entry of RFC 9396 `authorization_details`: what a token may do with
/// resources of one type.
///
/// Tessera uses three of the RFC's fields (§2.2): `type`, `identifier` (one
/// resource's id, or `"*"` for every resource of the type) and `actions` (a list,
/// or `["*"]` for every action). An `admin` entry carries neither: it grants
/// everything in the realm. Other fields are ignored on input and never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationDetail {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}
