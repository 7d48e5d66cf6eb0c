//! The OpenAPI 3.1 document of the management and account APIs, generated
//! from the handlers' `utoipa` annotations and the typed bodies, and the
//! response sets the annotations share.

use std::collections::BTreeMap;

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use utoipa::{
    openapi::{
        security, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, ResponseBuilder,
    },
    IntoResponses,
};
use utoipa_axum::router::OpenApiRouter;

use super::{account, management, AppState};

/// The OpenAPI 3.1 document of the management and account APIs, generated
/// from the routers and the typed bodies.
fn api_document() -> OpenApi {
    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Tessera management and account APIs")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Bearer tokens only. Management routes take a user's access token from a \
                     management client or a token profile's token, and each states the \
                     permission it needs (docs/api.md).",
                ))
                .build(),
        )
        .build();
    document.merge(
        OpenApiRouter::<AppState>::new()
            .nest("/realms/{realm}", account::routes())
            .nest("/admin/realms/{realm}", management::routes())
            .into_openapi(),
    );
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        security::SecurityScheme::Http(
            security::HttpBuilder::new()
                .scheme(security::HttpAuthScheme::Bearer)
                .build(),
        ),
    );
    // Every route takes a bearer token (RFC 6750).
    document.security = Some(vec![security::SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    document
}

pub(crate) async fn document() -> Response {
    match api_document().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

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

/// The refusals every management route may answer.
pub(crate) struct ManagementErrors;

impl IntoResponses for ManagementErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        error_responses(&[
            ("401", "No valid management token"),
            ("403", "The caller lacks the permission"),
            (
                "404",
                "No such realm, user (or one the caller may not see) or profile",
            ),
        ])
    }
}

/// The refusals every account route may answer.
pub(crate) struct AccountErrors;

impl IntoResponses for AccountErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        error_responses(&[
            ("401", "No valid access token with the `account` audience"),
            ("404", "No such realm or token"),
        ])
    }
}
