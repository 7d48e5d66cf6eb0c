//! The OpenAPI 3.1 document of the management and account APIs, generated
//! from the handlers' `utoipa` annotations and the typed bodies.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::{security, InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;

use super::tags::tagged;
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
            .nest("/realms/{realm}", tagged("account", account::routes()))
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
