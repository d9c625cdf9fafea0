use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::authenticate;
use crate::app::App;
use crate::auth::{self, TenantScope, TokenIssuer};
use crate::domain::{Email, OrgName, OrgSlug, Organization, Password, User};
use crate::http::{self, ApiError};
use crate::store::{Registration, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    email: Email,
    password: Password,
    organization_name: OrgName,
    organization_slug: OrgSlug,
}

#[derive(Serialize)]
struct Registered {
    user: User,
    organization: Organization,
}

/// `POST /api/v1/auth/register`: a new organization and its first admin, atomically.
pub async fn register(store: &Store, req: Request) -> Result<Response<Body>, ApiError> {
    let body: RegisterRequest = http::json_body(&req)?;
    let password_hash = auth::hash_password(&body.password)?;
    let scope = TenantScope::for_new_organization();
    let registration = Registration {
        name: body.organization_name,
        slug: body.organization_slug,
        admin_email: body.email,
        admin_password_hash: password_hash,
    };
    let (organization, user) = store.organizations().register(&scope, registration, Utc::now()).await?;
    tracing::info!(org_id = %organization.id, user_id = %user.id, "organization registered");
    http::json(StatusCode::CREATED, &Registered { user, organization })
}

/// Login takes plain strings: an email or password that could never have been registered
/// is simply wrong credentials, answered like any other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

/// `POST /api/v1/auth/login`.
pub async fn login(store: &Store, issuer: &TokenIssuer, req: Request) -> Result<Response<Body>, ApiError> {
    let body: LoginRequest = http::json_body(&req)?;
    let (Ok(email), Ok(password)) = (Email::parse(&body.email), Password::parse(&body.password)) else {
        return Err(ApiError::InvalidCredentials);
    };
    let principal = auth::log_in(store, &email, &password).await?;
    http::record_principal(&principal);
    http::json(StatusCode::OK, &issuer.issue(&principal)?)
}

/// `GET /api/v1/auth/me`: the caller as stored now (a removed user's token finds nothing).
pub async fn me(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req)?;
    let user =
        app.store.users().get(&principal.scope(), principal.user_id()).await?.ok_or(ApiError::Unauthenticated)?;
    http::json(StatusCode::OK, &user)
}
