//! The OpenAPI 3.1 document of the API, generated from the handlers' `#[utoipa::path]`
//! attributes and the types they read and answer, so it cannot drift from the code. It is
//! served by `GET /openapi.json` and committed as `openapi.json` (`make openapi`). Which
//! handlers it documents is written at build time from the functions' manifests (each
//! route's `handler`; `shared/build.rs`).

mod handlers {
    include!(concat!(env!("OUT_DIR"), "/handlers.rs"));
}

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::domain::ExportDocument;
use crate::http::Problem;
use crate::http::error_responses::{
    BadRequest, Conflict, Forbidden, InternalServerError, NotFound, NotImplemented, PayloadTooLarge,
    PreconditionFailed, ServiceUnavailable, TooManyRequests, Unauthorized, UnprocessableEntity, UnsupportedMediaType,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TaskFlow API",
        description = "Multi-tenant task management: organizations, their members, tasks and email notifications. \
            Every resource belongs to the caller's organization; another organization's resources answer 404, \
            exactly like missing ones. Errors are RFC 9457 problems (`application/problem+json`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(
        // Answered by no route: the export's download link gives it.
        schemas(Problem, ExportDocument),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge,
            UnsupportedMediaType, UnprocessableEntity, TooManyRequests, InternalServerError, NotImplemented,
            ServiceUnavailable,
        ),
    ),
    modifiers(&BearerToken),
    tags(
        (name = "auth", description = "Registration, login, sessions and passwords."),
        (name = "tasks", description = "The organization's tasks."),
        (name = "users", description = "The organization's members."),
        (name = "invitations", description = "Inviting new members by email."),
        (name = "api-keys", description = "Keys with which services call the API for the organization."),
        (name = "webhooks", description = "Signed deliveries of the organization's events to its endpoints (Standard Webhooks 1.0)."),
        (name = "organizations", description = "The caller's organization."),
        (name = "service", description = "Health and this documentation."),
    ),
)]
struct ApiDoc;

/// The `bearer` scheme the authenticated operations name: the access token from login,
/// registration, refresh or an accepted invitation.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT or API key")
            .description(Some("The `access_token` answered by login, registration, refresh or an accepted invitation; or an API key (`tf_…`, see `POST /api/v1/api-keys`), which every route of its role accepts except those of a user's own account, sessions and password, the organization's deletion and the making and revoking of keys (403)."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document: every route's operation, with the schemas they use, under the API's own
/// information, tags and shared components.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().merge_from(handlers::Handlers::openapi())
}

/// The document as the committed `openapi.json` holds it: pretty-printed, one trailing newline.
pub fn to_json() -> String {
    let mut json = document().to_pretty_json().expect("the OpenAPI document serializes");
    json.push('\n');
    json
}
