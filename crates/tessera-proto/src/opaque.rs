//! The opaque token format used for every non-JWT secret.
//!
//! `tsr_<kind>_<body><checksum>`: a kind prefix that scanners and people can
//! recognise, a body of [`OPAQUE_BODY_LEN`] base62 characters drawn uniformly at
//! random (190 bits), and a CRC32 of prefix and body written as six base62
//! characters. The checksum lets a server or a verifier reject a mistyped or
//! truncated token before touching any database.

use std::fmt;

/// Number of random base62 characters in a token body: 32 × log2(62) ≈ 190 bits.
pub const OPAQUE_BODY_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpaqueTokenKind {
    /// An OAuth refresh token (expiring or offline).
    Refresh,
    /// A personal expose token: a long-lived bearer credential a user hands to a
    /// third party, checked by introspection.
    Expose,
    /// A token profile's token: a bearer credential whose permissions
    /// introspection returns.
    Profile,
    /// A company token: a bearer credential for one subscription of a
    /// company, held by one of its users or by a machine (userless).
    Company,
    /// An endpoint's primary token for one method, for the integration
    /// platform's own calls; checked by the endpoint check, not introspection.
    EndpointPrimary,
    /// An authorization code (RFC 6749 §4.1.2): single-use, short-lived,
    /// exchanged at the token endpoint.
    AuthorizationCode,
    /// The secret in a signed-in browser's session cookie.
    BrowserSession,
    /// A device code (RFC 8628 §3.2): what a device polls the token endpoint with.
    DeviceCode,
}

impl OpaqueTokenKind {
    pub const ALL: [Self; 8] = [
        Self::Refresh,
        Self::Expose,
        Self::Profile,
        Self::Company,
        Self::EndpointPrimary,
        Self::AuthorizationCode,
        Self::BrowserSession,
        Self::DeviceCode,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Self::Refresh => "tsr_rt_",
            Self::Expose => "tsr_ex_",
            Self::Profile => "tsr_tp_",
            Self::Company => "tsr_ct_",
            Self::EndpointPrimary => "tsr_ep_",
            Self::AuthorizationCode => "tsr_ac_",
            Self::BrowserSession => "tsr_bs_",
            Self::DeviceCode => "tsr_dc_",
        }
    }

    /// Whether a resource server may accept this kind as a bearer credential
    /// checked by introspection. Refresh tokens are for the token endpoint only
    /// (RFC 6749 §1.5); endpoint tokens are for the endpoint check; codes and
    /// browser sessions are never bearer credentials.
    pub fn is_bearer_credential(self) -> bool {
        match self {
            Self::Refresh
            | Self::EndpointPrimary
            | Self::AuthorizationCode
            | Self::BrowserSession
            | Self::DeviceCode => false,
            Self::Expose | Self::Profile | Self::Company => true,
        }
    }

    /// The base62 alphabet, for generators that draw body characters.
    pub fn alphabet() -> &'static [u8; 62] {
        BASE62
    }

    /// Builds a complete token from a body of [`OPAQUE_BODY_LEN`] base62 characters.
    pub fn compose(self, body: &str) -> Result<String, OpaqueTokenError> {
        if body.len() != OPAQUE_BODY_LEN || !body.bytes().all(is_base62) {
            return Err(OpaqueTokenError::Malformed);
        }
        let mut token = String::with_capacity(self.prefix().len() + OPAQUE_BODY_LEN + CHECKSUM_LEN);
        token.push_str(self.prefix());
        token.push_str(body);
        let checksum = checksum(&token);
        token.push_str(&checksum);
        Ok(token)
    }
}

impl fmt::Display for OpaqueTokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpaqueTokenError {
    #[error("malformed token")]
    /// Wrong prefix, length or alphabet.
    Malformed,
    #[error("token checksum mismatch")]
    /// Well-formed but the checksum does not match: mistyped or forged.
    BadChecksum,
}

/// A token whose shape and checksum have been verified. It may still be unknown,
/// expired or revoked: only the store can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedOpaqueToken<'a> {
    pub kind: OpaqueTokenKind,
    pub token: &'a str,
}

impl<'a> ParsedOpaqueToken<'a> {
    pub fn parse(token: &'a str) -> Result<Self, OpaqueTokenError> {
        let kind = OpaqueTokenKind::ALL
            .into_iter()
            .find(|kind| token.starts_with(kind.prefix()))
            .ok_or(OpaqueTokenError::Malformed)?;
        let rest = &token[kind.prefix().len()..];
        if rest.len() != OPAQUE_BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(is_base62) {
            return Err(OpaqueTokenError::Malformed);
        }
        let (signed, given) = token.split_at(token.len() - CHECKSUM_LEN);
        if checksum(signed) != given {
            return Err(OpaqueTokenError::BadChecksum);
        }
        Ok(Self { kind, token })
    }
}

/// The documented shape of a secondary endpoint token: exactly
/// [`SecondaryEndpointToken::LEN`] base62 characters, of which the last six are
/// a CRC32 of the others. No prefix (integrations expect 64 alphanumeric
/// characters), but still refused before any database access when malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondaryEndpointToken;

impl SecondaryEndpointToken {
    pub const LEN: usize = 64;
    /// Random base62 characters in a token: 58 × log2(62) ≈ 345 bits.
    pub const BODY_LEN: usize = Self::LEN - CHECKSUM_LEN;

    /// Builds a token from a body of [`Self::BODY_LEN`] base62 characters.
    pub fn compose(body: &str) -> Result<String, OpaqueTokenError> {
        if body.len() != Self::BODY_LEN || !body.bytes().all(is_base62) {
            return Err(OpaqueTokenError::Malformed);
        }
        Ok(format!("{body}{}", checksum(body)))
    }

    /// Whether `token` has the shape and a matching checksum.
    pub fn check(token: &str) -> Result<(), OpaqueTokenError> {
        if token.len() != Self::LEN || !token.bytes().all(is_base62) {
            return Err(OpaqueTokenError::Malformed);
        }
        let (body, given) = token.split_at(Self::BODY_LEN);
        if checksum(body) == given {
            Ok(())
        } else {
            Err(OpaqueTokenError::BadChecksum)
        }
    }
}

fn is_base62(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

fn checksum(signed: &str) -> String {
    let mut value = u64::from(crc32fast::hash(signed.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        // value % 62 < 62, so the index is always in bounds.
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn composed_tokens_parse_back() {
        let token = OpaqueTokenKind::Refresh.compose(BODY).unwrap();
        assert!(token.starts_with("tsr_rt_"));
        assert_eq!(token.len(), 7 + 32 + 6);
        let parsed = ParsedOpaqueToken::parse(&token).unwrap();
        assert_eq!(parsed.kind, OpaqueTokenKind::Refresh);
    }

    #[test]
    fn any_single_character_change_fails_the_checksum_or_shape() {
        let token = OpaqueTokenKind::Refresh.compose(BODY).unwrap();
        for i in 7..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(ParsedOpaqueToken::parse(&changed).is_err(), "position {i}");
        }
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for bad in [
            "",
            "tsr_rt_",
            "tsr_xx_abc",
            "tsr_rt_!!!!",
            "Bearer tsr_rt_abc",
            "tsr_rt_ä",
        ] {
            assert_eq!(
                ParsedOpaqueToken::parse(bad),
                Err(OpaqueTokenError::Malformed),
                "{bad}"
            );
        }
        assert!(OpaqueTokenKind::Refresh.compose("short").is_err());
    }

    #[test]
    fn secondary_endpoint_tokens_are_64_alphanumerics_with_a_checksum() {
        let body = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv";
        let token = SecondaryEndpointToken::compose(body).unwrap();
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(SecondaryEndpointToken::check(&token), Ok(()));
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert_eq!(
                SecondaryEndpointToken::check(&changed),
                Err(OpaqueTokenError::BadChecksum),
                "position {i}"
            );
        }
        let mut punctuated = token.clone();
        punctuated.replace_range(10..11, "-");
        for bad in [&token[..63], &format!("{token}A"), punctuated.as_str(), ""] {
            assert_eq!(
                SecondaryEndpointToken::check(bad),
                Err(OpaqueTokenError::Malformed),
                "{bad}"
            );
        }
        assert!(SecondaryEndpointToken::compose(&body[..57]).is_err());
    }
}
