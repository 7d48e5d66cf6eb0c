//! The access-token claims as the verifier reads them: only what it checks or
//! returns, borrowed from the payload (copied only where the JSON escapes a
//! character), so that claim handling stays a small fraction of the signature
//! check.

use std::borrow::Cow;
use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
pub(crate) struct WireClaims<'a> {
    #[serde(borrow)]
    pub iss: Cow<'a, str>,
    #[serde(borrow)]
    pub aud: AudienceList<'a>,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(borrow)]
    pub sub: Cow<'a, str>,
    #[serde(borrow)]
    pub jti: Cow<'a, str>,
    #[serde(borrow)]
    pub client_id: Cow<'a, str>,
    #[serde(borrow)]
    pub scope: Cow<'a, str>,
    #[serde(default, borrow)]
    pub sid: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub preferred_username: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub realm_access: WireRealmAccess<'a>,
}

#[derive(Default, Deserialize)]
pub(crate) struct WireRealmAccess<'a> {
    #[serde(borrow)]
    pub roles: Vec<Cow<'a, str>>,
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3). Read with a
/// visitor rather than an untagged enum, which would buffer and copy the value;
/// a single audience (what Tessera writes when there is one) allocates nothing.
pub(crate) enum AudienceList<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl AudienceList<'_> {
    pub(crate) fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|aud| aud == audience),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AudienceList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = AudienceList<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(AudienceList::One(Cow::Borrowed(value)))
            }

            fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
                Ok(AudienceList::One(Cow::Owned(value.to_owned())))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut audiences = Vec::new();
                while let Some(audience) = seq.next_element::<Cow<'de, str>>()? {
                    audiences.push(audience);
                }
                Ok(AudienceList::Many(audiences))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_one_string_or_an_array() {
        let one: AudienceList = serde_json::from_str(r#""api""#).unwrap();
        assert!(one.contains("api") && !one.contains("other"));
        let many: AudienceList = serde_json::from_str(r#"["a", "b\u0041"]"#).unwrap();
        assert!(many.contains("a") && many.contains("bA"));
        assert!(serde_json::from_str::<AudienceList>("42").is_err());
        assert!(serde_json::from_str::<AudienceList>("[1]").is_err());
    }
}
