//! Compact JWS (RFC 7515 §7.1) parsing for JWTs (RFC 7519).
//!
//! Verification checks only what the signature layer can: shape, size, header
//! (`alg` on the allow-list and matching the key, `typ`, known `kid`, no `crit`)
//! and the signature itself. Claim checks (`exp`, `iss`, `aud`) belong to callers.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{de::DeserializeOwned, Deserialize};

/// Tokens longer than this are rejected before any parsing: ours are well under 2 KiB.
pub const JWT_MAX_LEN: usize = 8 * 1024;

/// Why a JWS was refused, precise enough for a log line and never carrying key
/// material or token content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is too long")]
    TooLong,
    #[error("token is not a well-formed JWS")]
    Malformed,
    #[error("algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("token type is not the expected one")]
    WrongType,
    #[error("token header names no key")]
    MissingKeyId,
    #[error("signing key is unknown")]
    UnknownKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("claims are not valid JSON of the expected shape")]
    InvalidClaims,
}

#[derive(Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    /// RFC 7515 §4.1.11: we understand no critical extension, so any `crit` is rejected.
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// The three segments of a compact JWS, decoded.
pub(crate) struct SplitJws<'a> {
    pub header: Header,
    pub signing_input: &'a str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Base64url without padding, the encoding of every JWS segment (RFC 7515 §2).
pub fn encode_segment(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed)
}

pub(crate) fn split(token: &str) -> Result<SplitJws<'_>, JwtError> {
    if token.len() > JWT_MAX_LEN {
        return Err(JwtError::TooLong);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header =
        serde_json::from_slice(&decode_segment(header)?).map_err(|_| JwtError::Malformed)?;
    let signing_input_len = token.len() - signature.len() - 1;
    Ok(SplitJws {
        header,
        signing_input: &token[..signing_input_len],
        payload: decode_segment(payload)?,
        signature: decode_segment(signature)?,
    })
}

/// RFC 7515 §4.1.9 allows the `application/` prefix to be left out; accept both.
pub(crate) fn type_matches(typ: Option<&str>, expected: &str) -> bool {
    typ.is_some_and(|typ| {
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        typ.eq_ignore_ascii_case(expected)
    })
}

pub(crate) fn parse_claims<T: DeserializeOwned>(payload: &[u8]) -> Result<T, JwtError> {
    serde_json::from_slice(payload).map_err(|_| JwtError::InvalidClaims)
}
