use std::fmt;
use std::str::FromStr;

/// The asymmetric JWS algorithms Tessera signs with (RFC 7518 §3.1, RFC 8037).
/// RS256 keys are 2048-bit RSA.
/// Symmetric (`HS*`) and `none` are deliberately absent: they are never accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    Es256,
    EdDsa,
    Rs256,
}

impl SigningAlgorithm {
    /// Every algorithm Tessera signs with: the default allow-list of verifiers.
    pub const ALL: [Self; 3] = [Self::Es256, Self::EdDsa, Self::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = UnsupportedAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            "RS256" => Ok(Self::Rs256),
            other => Err(UnsupportedAlgorithm(other.to_owned())),
        }
    }
}

/// An `alg` value that is not one of [`SigningAlgorithm::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signing algorithm {0:?}")]
pub struct UnsupportedAlgorithm(pub String);
