use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::operation::BuildError;

/// What must be unique across the whole service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    Email,
    Slug,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} is already taken")]
    Taken(Unique),
    /// A conditional write found another version than the one it was based on.
    #[error("the item changed since it was read")]
    VersionConflict,
    #[error("the item does not exist")]
    NotFound,
    /// The change would leave the organization without an admin.
    #[error("the organization's last admin cannot be demoted or removed")]
    LastAdmin,
    /// An invitation token that is unknown, expired, revoked or already used.
    #[error("the invitation is not valid")]
    InvalidInvitation,
    /// A password reset or email verification token that is unknown, expired, superseded
    /// or already used: one answer for all.
    #[error("the token is not valid")]
    InvalidAccountToken,
    /// The user's email address is verified already (a resend has nothing to do).
    #[error("the email address is already verified")]
    AlreadyVerified,
    /// The caller has not verified their email address, which the write needs (inviting).
    #[error("the caller's email address is not verified")]
    CallerUnverified,
    /// A deletion's `confirm_slug` is not the organization's slug.
    #[error("confirm_slug is not this organization's slug")]
    ConfirmationMismatch,
    /// The caller's user item is gone: they were removed after their token was issued.
    #[error("the caller no longer belongs to the organization")]
    CallerGone,
    /// The caller's stored role is no longer admin: they were demoted after their token was issued.
    #[error("the caller is no longer an admin")]
    CallerNotAdmin,
    /// The organization has as many of a kind of item as it may (webhooks).
    #[error("the organization has as many {what} as it may ({max}); delete one first")]
    LimitReached { what: &'static str, max: usize },
    /// The organization used up a daily quota (invitations).
    #[error("the daily quota is used up")]
    QuotaExceeded { retry_after: u64 },
    /// DynamoDB throttled, failed (5xx), timed out or could not be reached, after the SDK's
    /// retries: the caller may try again later (503 with `Retry-After`).
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    #[error("DynamoDB call failed: {0}")]
    Dynamo(String),
    /// A value could not be turned into an item (a bug, never stored data).
    #[error("value does not map to an item: {0}")]
    Mapping(#[from] serde_dynamo::Error),
    /// A stored item does not map to its type (logged with its key where it was read).
    #[error("the stored item {key} cannot be read")]
    Unreadable { key: String },
}

impl StoreError {
    /// Any SDK failure that the caller does not handle itself: `Unavailable` when it is
    /// transient (throttling, a 5xx answer, a timeout, no connection, an unreadable answer),
    /// `VersionConflict` for a transaction that kept conflicting with others, else `Dynamo`
    /// (a bug: a malformed request, a missing permission). `DisplayErrorContext` prints the
    /// whole cause chain, not only "service error".
    pub(crate) fn dynamo<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if is_transaction_conflict(&err) {
            return StoreError::VersionConflict;
        }
        let text = DisplayErrorContext(&err).to_string();
        if is_transient(&err) { StoreError::Unavailable(text) } else { StoreError::Dynamo(text) }
    }
}

/// Any SDK failure that the caller does not handle itself, as [`StoreError::dynamo`] maps it.
impl<E> From<SdkError<E, HttpResponse>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn from(err: SdkError<E, HttpResponse>) -> Self {
        StoreError::dynamo(err)
    }
}

/// A request or item that could not be built lacks a field it needs: a bug, like a
/// malformed request, never the caller's fault.
impl From<BuildError> for StoreError {
    fn from(err: BuildError) -> Self {
        StoreError::Dynamo(err.to_string())
    }
}

/// Error codes DynamoDB answers for load it sheds or faults of its own.
const TRANSIENT_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

/// Reasons a transaction's item can be cancelled for that say "not now" rather than "no".
const TRANSIENT_REASONS: [&str; 3] = ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

pub(crate) fn is_transient<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(e) => {
            e.raw().status().is_server_error()
                || e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
                || cancellation_reasons(e.err()).iter().any(|r| TRANSIENT_REASONS.contains(&r.as_str()))
        }
        _ => false,
    }
}

/// True when a transaction was cancelled because another transaction touched its items.
pub(crate) fn is_transaction_conflict<E: std::error::Error + 'static>(err: &SdkError<E, HttpResponse>) -> bool {
    err.as_service_error().is_some_and(|e| cancellation_reasons(e).iter().any(|r| r == "TransactionConflict"))
}

/// The reason codes of a cancelled transaction, by item; empty for any other error.
fn cancellation_reasons<E: std::error::Error + 'static>(err: &E) -> Vec<String> {
    let err = err as &dyn std::error::Error;
    let reasons = match (err.downcast_ref::<TransactWriteItemsError>(), err.downcast_ref::<TransactGetItemsError>()) {
        (Some(TransactWriteItemsError::TransactionCanceledException(c)), _) => c.cancellation_reasons(),
        // A read transaction is cancelled when a write is under way on one of its items.
        (_, Some(TransactGetItemsError::TransactionCanceledException(c))) => c.cancellation_reasons(),
        _ => &[],
    };
    reasons.iter().map(|r| r.code().unwrap_or("None").to_owned()).collect()
}

/// True when the SDK error is a failed condition of a single-item write.
pub(crate) fn is_condition_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// The result of a conditional write whose failed condition means "nothing to do" (the item
/// moved on, or is gone): success either way; any other failure is the store's error.
pub(crate) fn unless_condition_failed<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> Result<(), StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_condition_failure(&e) => Ok(()),
        Err(e) => Err(StoreError::dynamo(e)),
    }
}
