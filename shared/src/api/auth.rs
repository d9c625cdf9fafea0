use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::{authenticate, provenance};
use crate::app::App;
use crate::auth::{
    self, AccessToken, MailRequestLimits, MailTokenKey, PasswordLimits, Principal, RegistrationLimits, TokenIssuer,
};
use crate::domain::{Email, OpaqueToken, OrgName, OrgSlug, Organization, Password, User};
use crate::http::error_responses::{
    AuthenticatedErrors, Conflict, Forbidden, IdempotencyErrors, InternalServerError, JsonBodyErrors,
    ServiceUnavailable, TooManyRequests, Unauthorized,
};
use crate::http::{self, ApiError};
use crate::notifications::{self, Publisher};
use crate::store::{Registration, Store, StoreError};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "admin@org1.com", "password": "admin123",
    "organization_name": "Organization 1", "organization_slug": "org1"
}))]
pub struct RegisterRequest {
    email: Email,
    password: Password,
    #[serde(deserialize_with = "crate::domain::visible")]
    organization_name: OrgName,
    organization_slug: OrgSlug,
}

/// The new organization, its admin, and the admin's tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Registered {
    user: User,
    organization: Organization,
    #[serde(flatten)]
    tokens: AccessToken,
}

/// Starts a session for a caller who just proved who they are, and answers its tokens.
async fn session_tokens(store: &Store, issuer: &TokenIssuer, principal: Principal) -> Result<AccessToken, ApiError> {
    let (principal, refresh) = auth::start_session(store, principal, issuer.settings(), Utc::now()).await?;
    Ok(issuer.issue_with_refresh(&principal, &refresh)?)
}

/// `POST /api/v1/auth/register`: a new organization and its first admin, atomically; the
/// answer carries tokens, so the new admin is logged in.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth", operation_id = "register",
    summary = "Register an organization and its first admin",
    description = "Creates the organization and its admin atomically and logs the admin in. Emails (case-insensitively) and slugs are unique across TaskFlow: a taken one answers 409. The admin starts with `email_verified: false` and is mailed a verification token (`POST /api/v1/auth/verify-email`); until then they get no task mail and cannot invite, make API keys or webhooks, or export. Registrations from one source address (an IPv6 /64) are throttled (429 with `Retry-After`).",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and logged in.", body = Registered),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable),
        JsonBodyErrors,
    )
)]
pub async fn register(
    store: &Store,
    issuer: &TokenIssuer,
    publisher: &Publisher,
    key: &MailTokenKey,
    limits: &RegistrationLimits,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    auth::count_registration(store, limits, http::source_ip(&req).as_deref(), Utc::now()).await?;
    let body: RegisterRequest = http::json_body(&req)?;
    let password_hash = auth::hash_password(&body.password)?;
    let registration = Registration {
        name: body.organization_name,
        slug: body.organization_slug,
        admin_email: body.email,
        admin_password_hash: password_hash,
    };
    let (organization, user, principal, events) =
        auth::register_organization(store, key, registration, Utc::now(), http::origin(&req)).await?;
    tracing::info!(org_id = %organization.id, user_id = %user.id, "organization registered");
    for (event, scope) in &events {
        notifications::dispatch(store, publisher, scope, event).await;
    }
    let tokens = session_tokens(store, issuer, principal).await?;
    http::json(StatusCode::CREATED, &Registered { user, organization, tokens })
}

/// Login takes plain strings: an email or password that could never have been registered
/// is simply wrong credentials, answered like any other.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "admin@org1.com", "password": "admin123"}))]
pub struct LoginRequest {
    email: String,
    #[schema(format = Password, write_only)]
    password: String,
}

/// `POST /api/v1/auth/login`.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    summary = "Log in",
    description = "Wrong password and unknown email answer the same 401. Repeated failures for one email from one address, for one email from anywhere, or from one address for any email are throttled (429 with `Retry-After`).",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in: an access token and a refresh token.", body = AccessToken),
        (status = 429, response = TooManyRequests),
        JsonBodyErrors,
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn login(
    store: &Store,
    issuer: &TokenIssuer,
    limits: &PasswordLimits,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let body: LoginRequest = http::json_body(&req)?;
    let (Ok(email), Ok(password)) = (Email::parse(&body.email), Password::parse(&body.password)) else {
        return Err(ApiError::InvalidCredentials);
    };
    let source_ip = http::source_ip(&req);
    let principal = auth::log_in(store, limits, &email, &password, source_ip.as_deref(), Utc::now()).await?;
    http::record_principal(&principal);
    http::json(StatusCode::OK, &session_tokens(store, issuer, principal).await?)
}

/// `GET /api/v1/auth/me`: the caller as stored now (a removed user's token finds nothing).
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth", operation_id = "me",
    summary = "The caller",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's user.", body = User),
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn me(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    let user =
        app.store.users().get(&principal.scope(), principal.user_id()).await?.ok_or(ApiError::Unauthenticated)?;
    http::json(StatusCode::OK, &user)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// `POST /api/v1/auth/refresh`: a new access token and a new refresh token; the old one
/// stops working.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    summary = "Trade a refresh token for new tokens",
    description = "The refresh token is single-use: the answer carries its successor. Presenting a used one again ends the whole session.",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and refresh token.", body = AccessToken),
        JsonBodyErrors,
        AuthenticatedErrors,
    )
)]
pub async fn refresh(store: &Store, issuer: &TokenIssuer, req: Request) -> Result<Response<Body>, ApiError> {
    let body: RefreshRequest = http::json_body(&req)?;
    let token = OpaqueToken::parse(&body.refresh_token).ok_or(ApiError::InvalidRefreshToken)?;
    let (principal, next) = auth::refresh(store, &token, issuer.settings(), Utc::now()).await?;
    http::record_principal(&principal);
    http::json(StatusCode::OK, &issuer.issue_with_refresh(&principal, &next)?)
}

/// `POST /api/v1/auth/logout`: ends the session the access token belongs to. The access
/// token itself stays valid until it expires (minutes): it is not looked up per request.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    summary = "End this session",
    description = "Its refresh token stops working; the access token itself expires on its own within minutes.",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Makes a retry safe: the same key and request within 24 hours get the first answer again (see the README, Idempotency-Key).")),
    responses(
        (status = 204, description = "Logged out."),
        IdempotencyErrors,
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn logout(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    if let Some(session) = principal.session_id() {
        app.store.sessions().revoke(&principal.scope(), principal.user_id(), session).await?;
    }
    http::no_content()
}

/// A caller removed while their request ran has no account left to change.
fn gone_caller(e: StoreError) -> ApiError {
    match e {
        StoreError::CallerGone => ApiError::Unauthenticated,
        other => other.into(),
    }
}

/// `POST /api/v1/auth/logout-all`: ends every session of the caller.
#[utoipa::path(
    post, path = "/api/v1/auth/logout-all", tag = "auth", operation_id = "logoutAll",
    summary = "End every session of the caller",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Makes a retry safe: the same key and request within 24 hours get the first answer again (see the README, Idempotency-Key).")),
    responses(
        (status = 204, description = "Every refresh token of the caller stopped working."),
        IdempotencyErrors,
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn logout_all(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    let scope = principal.scope();
    let user = app.store.users().get(&scope, principal.user_id()).await?.ok_or(ApiError::Unauthenticated)?;
    // A new credential version: every session of the older one stops refreshing at once.
    // Only under the version the token was issued with: a token from before a password
    // change, a reset or another logout everywhere cannot end the sessions that came after.
    let expected = principal.credential_version();
    app.store.credentials().new_version(&scope, &user.email, user.id, None, expected).await.map_err(gone_caller)?;
    tracing::info!("logged out everywhere");
    http::no_content()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(format = Password, write_only)]
    current_password: String,
    new_password: Password,
}

/// `POST /api/v1/auth/password`: needs the current password, checked under the login's
/// throttle; ends every session.
#[utoipa::path(
    post, path = "/api/v1/auth/password", tag = "auth", operation_id = "changePassword",
    summary = "Change the caller's password",
    description = "Needs the current password (else 401), under the same throttle as login (429 with `Retry-After`). Ends every session of the caller.",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed."),
        (status = 429, response = TooManyRequests),
        JsonBodyErrors,
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn change_password(app: &App, limits: &PasswordLimits, req: Request) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    let body: PasswordChange = http::json_body(&req)?;
    let scope = principal.scope();
    let user = app.store.users().get(&scope, principal.user_id()).await?.ok_or(ApiError::Unauthenticated)?;
    let current = Password::parse(&body.current_password).map_err(|_| ApiError::InvalidCredentials)?;
    let source_ip = http::source_ip(&req);
    let version = auth::verify_current_password(
        &app.store,
        limits,
        &principal,
        &user.email,
        &current,
        source_ip.as_deref(),
        Utc::now(),
    )
    .await?;
    let hash = auth::hash_password(&body.new_password)?;
    // The password, a new credential version (every session ends) and the end of any
    // pending reset, in one transaction.
    // Only while the password checked above is still the account's: a change that raced a
    // reset does not set the old password's holder's choice over the owner's.
    let credentials = app.store.credentials();
    credentials.new_version(&scope, &user.email, user.id, Some(&hash), Some(version)).await.map_err(gone_caller)?;
    http::no_content()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The token from the invitation mail.
    token: String,
    password: Password,
}

/// The new member and their tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    user: User,
    #[serde(flatten)]
    tokens: AccessToken,
}

/// `POST /api/v1/auth/accept-invitation`: creates the invited user and logs them in.
#[utoipa::path(
    post, path = "/api/v1/auth/accept-invitation", tag = "auth", operation_id = "acceptInvitation",
    summary = "Join an organization with an invitation token",
    description = "Creates the invited user with the chosen password and logs them in. An invalid, expired, revoked or used token answers 400; an email that meanwhile has an account, 409.",
    request_body = AcceptInvitation,
    responses(
        (status = 201, description = "Joined and logged in.", body = Accepted),
        (status = 409, response = Conflict),
        (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable),
        JsonBodyErrors,
    )
)]
pub async fn accept_invitation(
    store: &Store,
    issuer: &TokenIssuer,
    publisher: &Publisher,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let body: AcceptInvitation = http::json_body(&req)?;
    let invalid = crate::store::StoreError::InvalidInvitation;
    let token = OpaqueToken::parse(&body.token).ok_or(invalid)?;
    let (principal, joined) =
        auth::accept_invitation(store, &token, &body.password, Utc::now(), http::origin(&req)).await?;
    http::record_principal(&principal);
    notifications::dispatch(store, publisher, &principal.scope(), &joined).await;
    let user = store.users().get(&principal.scope(), principal.user_id()).await?.ok_or(ApiError::Internal)?;
    let tokens = session_tokens(store, issuer, principal).await?;
    http::json(StatusCode::CREATED, &Accepted { user, tokens })
}

/// What the functions that mail account tokens need besides the store: the secret the
/// tokens are derived under and the limit on mail requests.
pub struct AccountMail {
    pub key: MailTokenKey,
    pub limits: MailRequestLimits,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "admin@org1.com"}))]
pub struct PasswordResetRequest {
    /// Any string: one that is no email is answered like an email without an account.
    email: String,
}

/// The one answer of a reset request, whatever the email.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PasswordResetRequested {
    #[schema(
        example = "If an account with this email exists, a reset token is on its way. It works once, for 30 minutes."
    )]
    detail: &'static str,
}

const RESET_REQUESTED: PasswordResetRequested = PasswordResetRequested {
    detail: "If an account with this email exists, a reset token is on its way. It works once, for 30 minutes.",
};

/// `POST /api/v1/auth/password-reset`: mails a reset token to an account's address.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset", tag = "auth", operation_id = "requestPasswordReset",
    summary = "Ask for a password reset mail",
    description = "Always 202 with the same body, doing the same work whether or not the email has an account. For an account, a single-use token (valid 30 minutes) is mailed within about two minutes (the outbox re-publisher sends it, so that no timing differs between the cases); a newer request invalidates older tokens. Limited per email and per source address (429 with `Retry-After`).",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted; a mail follows if the account exists.", body = PasswordResetRequested),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable),
        JsonBodyErrors,
    )
)]
pub async fn password_reset(store: &Store, mail: &AccountMail, req: Request) -> Result<Response<Body>, ApiError> {
    let body: PasswordResetRequest = http::json_body(&req)?;
    // A string that can be no account's email has no account: the same answer.
    if let Ok(email) = Email::parse(&body.email) {
        let source_ip = http::source_ip(&req);
        auth::request_password_reset(
            store,
            &mail.key,
            &mail.limits,
            &email,
            source_ip.as_deref(),
            Utc::now(),
            http::origin(&req),
        )
        .await?;
    }
    http::json(StatusCode::ACCEPTED, &RESET_REQUESTED)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the reset mail.
    token: String,
    new_password: Password,
}

/// `POST /api/v1/auth/password-reset/confirm`: sets a new password with a mailed token.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", operation_id = "confirmPasswordReset",
    summary = "Set a new password with a reset token",
    description = "Sets the password, ends every session of the account and marks its email verified (the token came by mail). An unknown, expired, superseded or used token answers 400; each such answer counts against the source address in the password throttle (429 with `Retry-After`).",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session ended."),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable),
        JsonBodyErrors,
    )
)]
pub async fn password_reset_confirm(
    store: &Store,
    limits: &PasswordLimits,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let body: PasswordResetConfirm = http::json_body(&req)?;
    let source_ip = http::source_ip(&req);
    let token = OpaqueToken::parse(&body.token).unwrap_or_else(OpaqueToken::generate);
    // A malformed token is checked like an unknown one, so it counts against the address too.
    auth::confirm_password_reset(store, limits, &token, &body.new_password, source_ip.as_deref(), Utc::now()).await?;
    http::no_content()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmail {
    /// The token from the verification mail.
    token: String,
}

/// `POST /api/v1/auth/verify-email`: proves the account's address with the mailed token.
#[utoipa::path(
    post, path = "/api/v1/auth/verify-email", tag = "auth", operation_id = "verifyEmail",
    summary = "Verify an email address with the mailed token",
    description = "Needs no access token: the mailed token (single use, 24 hours) is the proof. An unknown, expired or used token answers 400.",
    request_body = VerifyEmail,
    responses(
        (status = 204, description = "The address is verified."),
        (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable),
        JsonBodyErrors,
    )
)]
pub async fn verify_email(store: &Store, req: Request) -> Result<Response<Body>, ApiError> {
    let body: VerifyEmail = http::json_body(&req)?;
    let token = OpaqueToken::parse(&body.token).ok_or(crate::store::StoreError::InvalidAccountToken)?;
    auth::verify_email(store, &token, Utc::now()).await?;
    http::no_content()
}

/// `POST /api/v1/auth/verify-email/resend`: a new verification mail for the caller.
#[utoipa::path(
    post, path = "/api/v1/auth/verify-email/resend", tag = "auth", operation_id = "resendVerification",
    summary = "Mail a new verification token to the caller",
    description = "Earlier tokens keep working until they expire. An address already verified answers 409. Limited like password resets, per email and per source address (429 with `Retry-After`).",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Makes a retry safe: the same key and request within 24 hours get the first answer again (see the README, Idempotency-Key).")),
    responses(
        (status = 202, description = "A verification mail is on its way.", body = VerificationResent),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
        IdempotencyErrors,
        (status = 403, response = Forbidden),
        AuthenticatedErrors,
    )
)]
pub async fn verify_email_resend(
    app: &App,
    publisher: &Publisher,
    mail: &AccountMail,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let principal = authenticate(app, &req).await?;
    principal.require_user()?;
    let source_ip = http::source_ip(&req);
    let by = provenance(&principal, &req);
    let event = auth::resend_verification(
        &app.store,
        &mail.key,
        &mail.limits,
        &principal,
        source_ip.as_deref(),
        Utc::now(),
        &by,
    )
    .await?;
    notifications::dispatch(&app.store, publisher, &principal.scope(), &event).await;
    http::json(StatusCode::ACCEPTED, &VerificationResent { detail: "A new verification token is on its way." })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VerificationResent {
    #[schema(example = "A new verification token is on its way.")]
    detail: &'static str,
}
