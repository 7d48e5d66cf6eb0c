//! Where the authorization server's endpoints are: from its discovery
//! document, or Tessera's standard paths under the issuer.

use serde::Deserialize;

use crate::BuildError;

/// The authorization server's endpoints this verifier calls.
pub(crate) struct Endpoints {
    pub(crate) jwks_uri: String,
    pub(crate) introspection_endpoint: String,
    pub(crate) revocation_feed_endpoint: Option<String>,
}

impl Endpoints {
    /// Tessera's paths under the issuer.
    pub(crate) fn standard(issuer: &str, jwks_uri: Option<String>) -> Self {
        let endpoint = |path: &str| format!("{issuer}/protocol/openid-connect/{path}");
        Self {
            jwks_uri: jwks_uri.unwrap_or_else(|| endpoint("certs")),
            introspection_endpoint: endpoint("token/introspect"),
            revocation_feed_endpoint: Some(endpoint("revocations")),
        }
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    introspection_endpoint: Option<String>,
    revocation_feed_endpoint: Option<String>,
}

/// OpenID Connect Discovery 1.0 §4; the document must name our issuer exactly (§4.3).
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Endpoints, BuildError> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let failed = |reason: String| BuildError::Discovery {
        url: url.clone(),
        reason,
    };
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    let document: Discovery = response
        .json()
        .await
        .map_err(|error| failed(error.to_string()))?;
    if document.issuer != issuer {
        return Err(BuildError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: document.issuer,
        });
    }
    let standard = Endpoints::standard(issuer, None);
    Ok(Endpoints {
        jwks_uri: document.jwks_uri,
        introspection_endpoint: document
            .introspection_endpoint
            .unwrap_or(standard.introspection_endpoint),
        revocation_feed_endpoint: document.revocation_feed_endpoint,
    })
}
