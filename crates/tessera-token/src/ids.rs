use ring::rand::{SecureRandom, SystemRandom};
use tessera_proto::{OpaqueTokenKind, OPAQUE_BODY_LEN};

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

/// A new opaque token of `kind`: each body character drawn uniformly from base62 by
/// rejection sampling (bytes ≥ 248 are discarded so that no character is favoured).
pub fn new_opaque_token(kind: OpaqueTokenKind) -> Result<String, TokenError> {
    let alphabet = OpaqueTokenKind::alphabet();
    let rng = SystemRandom::new();
    let mut body = String::with_capacity(OPAQUE_BODY_LEN);
    let mut buffer = [0u8; 48];
    while body.len() < OPAQUE_BODY_LEN {
        rng.fill(&mut buffer).map_err(|_| TokenError::Random)?;
        for &byte in buffer.iter().filter(|&&byte| byte < 248) {
            if body.len() == OPAQUE_BODY_LEN {
                break;
            }
            body.push(char::from(alphabet[usize::from(byte % 62)]));
        }
    }
    kind.compose(&body).map_err(|_| TokenError::Random)
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
