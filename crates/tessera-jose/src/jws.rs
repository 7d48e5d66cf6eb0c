//! Compact JWS (RFC 7515 §7.1) parsing for JWTs (RFC 7519).
//!
//! Verification checks only what the signature layer can: shape, size, header
//! (`alg` on the allow-list and matching the key, `typ`, known `kid`, no `crit`)
//! and the signature itself. Claim checks (`exp`, `iss`, `aud`) belong to callers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::borrow::Cow;
use std::mem::MaybeUninit;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};

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

/// The JOSE header fields we read, borrowed from the decoded header where the
/// JSON has no escapes (the usual case), so reading a header allocates nothing.
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub alg: Cow<'a, str>,
    #[serde(default, borrow)]
    pub typ: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub kid: Option<Cow<'a, str>>,
    /// RFC 7515 §4.1.11: we understand no critical extension, so any `crit` is
    /// rejected, `"crit": null` included (found by fuzzing: an `Option` reads
    /// null as absent).
    #[serde(default, deserialize_with = "present")]
    pub crit: bool,
}

/// True for a member that is there, whatever its value.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The three base64url segments of a compact JWS, not yet decoded.
pub(crate) struct Segments<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
    /// `header.payload`: what the signature covers.
    pub signing_input: &'a str,
}

/// Base64url without padding, the encoding of every JWS segment (RFC 7515 §2).
pub fn encode_segment(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decoding is on every verification's path: the SIMD decoder keeps it a small
/// share of the cheapest signature check.
pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, JwtError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(segment)
        .map_err(|_| JwtError::Malformed)
}

/// Decodes a segment into `buffer`, without allocating; a segment that does not
/// fit is malformed (headers and signatures of our algorithms are far smaller).
pub(crate) fn decode_segment_into<'b>(
    segment: &str,
    buffer: &'b mut [MaybeUninit<u8>],
) -> Result<&'b [u8], JwtError> {
    let base64 = base64_simd::URL_SAFE_NO_PAD;
    if base64.estimated_decoded_length(segment.len()) > buffer.len() {
        return Err(JwtError::Malformed);
    }
    base64
        .decode(
            segment.as_bytes(),
            base64_simd::Out::from_uninit_slice(buffer),
        )
        .map(|decoded| &*decoded)
        .map_err(|_| JwtError::Malformed)
}

pub(crate) fn split(token: &str) -> Result<Segments<'_>, JwtError> {
    if token.len() > JWT_MAX_LEN {
        return Err(JwtError::TooLong);
    }
    // Two dots exactly: `str::find` and `rfind` use memchr, faster than `split`.
    let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
        return Err(JwtError::Malformed);
    };
    let (header, payload, signature) = (
        &token[..first],
        token.get(first + 1..last).ok_or(JwtError::Malformed)?,
        &token[last + 1..],
    );
    if payload.contains('.') {
        return Err(JwtError::Malformed);
    }
    Ok(Segments {
        header,
        payload,
        signature,
        signing_input: &token[..header.len() + 1 + payload.len()],
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
