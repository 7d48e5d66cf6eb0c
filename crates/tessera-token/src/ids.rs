use ring::rand::{SecureRandom, SystemRandom};
use tessera_proto::{OpaqueTokenKind, SecondaryEndpointToken, OPAQUE_BODY_LEN};

use crate::TokenError;

/// A random UUID (version 4), the identifier format Keycloak clients expect.
pub fn new_uuid() -> Result<String, TokenError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TokenError::Random)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// A new opaque token of `kind`.
pub fn new_opaque_token(kind: OpaqueTokenKind) -> Result<String, TokenError> {
    kind.compose(&random_base62(OPAQUE_BODY_LEN)?)
        .map_err(|_| TokenError::Random)
}

/// A new secondary endpoint token: 64 alphanumeric characters.
pub fn new_secondary_endpoint_token() -> Result<String, TokenError> {
    SecondaryEndpointToken::compose(&random_base62(SecondaryEndpointToken::BODY_LEN)?)
        .map_err(|_| TokenError::Random)
}

/// The prefix and the last four characters: enough to recognise a token, far
/// too little to use it.
pub(crate) fn hint(kind: OpaqueTokenKind, secret: &str) -> String {
    format!("{}{}", kind.prefix(), tail_hint(secret))
}

/// `…` and the last four characters of `secret`, for lists.
pub(crate) fn tail_hint(secret: &str) -> String {
    // Tessera's secrets are ASCII (base62), so the last four bytes are four characters.
    let tail = secret
        .get(secret.len().saturating_sub(4)..)
        .unwrap_or_default();
    format!("…{tail}")
}

/// `len` characters, each drawn uniformly from base62.
fn random_base62(len: usize) -> Result<String, TokenError> {
    random_string(OpaqueTokenKind::alphabet(), len)
}

/// `len` characters, each drawn uniformly from `alphabet` (at most 256
/// characters) by rejection sampling: bytes at or above the largest multiple
/// of its length are discarded, so that no character is favoured.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> Result<String, TokenError> {
    let size = alphabet.len();
    let limit = 256 - 256 % size;
    let rng = SystemRandom::new();
    let mut drawn = String::with_capacity(len);
    let mut buffer = [0u8; 48];
    while drawn.len() < len {
        rng.fill(&mut buffer).map_err(|_| TokenError::Random)?;
        for &byte in buffer.iter().filter(|&&byte| usize::from(byte) < limit) {
            if drawn.len() == len {
                break;
            }
            drawn.push(char::from(alphabet[usize::from(byte) % size]));
        }
    }
    Ok(drawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_proto::ParsedOpaqueToken;

    #[test]
    fn uuids_have_the_v4_shape_and_differ() {
        let a = new_uuid().unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, new_uuid().unwrap());
    }

    #[test]
    fn opaque_tokens_parse_and_differ() {
        let a = new_opaque_token(OpaqueTokenKind::Refresh).unwrap();
        ParsedOpaqueToken::parse(&a).unwrap();
        assert_ne!(a, new_opaque_token(OpaqueTokenKind::Refresh).unwrap());
    }
}
