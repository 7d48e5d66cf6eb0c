//! The refusals the API routes share, as their OpenAPI annotations list them.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::IntoResponses;

/// Refusals as the document describes them: each a JSON error body.
fn error_responses(
    refusals: &[(&str, &str)],
) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    refusals
        .iter()
        .map(|&(status, description)| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("OAuthError")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build();
            (status.to_owned(), RefOr::T(response))
        })
        .collect()
}

/// Declares sets of refusals: each a unit type whose OpenAPI responses are
/// its `(status, description)` pairs, each with a JSON error body.
macro_rules! refusal_sets {
    ($($(#[$doc:meta])* $name:ident: [$(($status:literal, $description:literal)),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                    error_responses(&[$(($status, $description)),+])
                }
            }
        )+
    };
}

refusal_sets! {
    /// The refusals every management route may answer.
    ManagementErrors: [
        ("401", "No valid management token"),
        ("403", "The caller lacks the permission"),
        ("404", "No such realm, user (or one the caller may not see) or profile"),
    ];
    /// The refusals every account route may answer.
    AccountErrors: [
        ("401", "No valid access token with the `account` audience"),
        ("404", "No such realm or token"),
    ];
    /// A JSON body that does not parse, or breaks the route's rules.
    MalformedBody: [("400", "Malformed body")];
    /// A query string that does not parse.
    MalformedQuery: [("400", "Malformed query")];
}
