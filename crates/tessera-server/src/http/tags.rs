//! OpenAPI tags, named once per handler module where its routes are merged.

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

/// `router` with every operation tagged `tag`: each module's tag is named
/// once, where its routes are merged, rather than on each handler.
pub(crate) fn tagged(tag: &str, mut router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.tags = Some(vec![tag.to_owned()]);
        }
    }
    router
}
