use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_smithy_types::error::display::DisplayErrorContext;

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
    /// The caller's user item is gone: they were removed after their token was issued.
    #[error("the caller no longer belongs to the organization")]
    CallerGone,
    /// The caller's stored role is no longer admin: they were demoted after their token was issued.
    #[error("the caller is no longer an admin")]
    CallerNotAdmin,
    /// The organization used up a daily quota (invitations).
    #[error("the daily quota is used up")]
    QuotaExceeded { retry_after: u64 },
    #[error("DynamoDB call failed: {0}")]
    Dynamo(String),
    #[error("item does not map to its type: {0}")]
    Mapping(#[from] serde_dynamo::Error),
}

impl StoreError {
    /// Any SDK failure that the caller does not handle itself. `DisplayErrorContext`
    /// prints the whole cause chain, not only "service error".
    pub(crate) fn dynamo<E, R>(err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Dynamo(DisplayErrorContext(&err).to_string())
    }
}

/// True when the SDK error is a failed condition of a single-item write.
pub(crate) fn is_condition_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// True when a transaction was cancelled because the condition of item `index` failed.
pub(crate) fn cancelled_at<R>(err: &SdkError<TransactWriteItemsError, R>, index: usize) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().get(index).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
        }
        _ => false,
    }
}
