//! An organization's lifecycle beyond requests: the jobs that run off its queues. The
//! [`Deleter`] removes an organization that asked to be deleted, batch by batch.

mod deleter;

pub use deleter::{DEFAULT_BATCH_SIZE, DONE_MAIL_FAILED_METRIC, Deleter, JobError, Step};
