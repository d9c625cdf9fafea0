//! The last-admin guard: the organization item counts its admins, and every role change and
//! removal moves the count in the same transaction, under a condition that keeps it at one
//! or more.

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::table::keys::{ORGANIZATION_SK, PK, SK, tenant_pk};
use super::{Store, StoreError, TenantScope};

/// The change of an organization's admin count that goes with a user change; `-1` fails
/// (as a cancelled transaction item) when it would leave no admin.
pub(super) fn admin_count_change(store: &Store, scope: &TenantScope, delta: i32) -> Result<Update, StoreError> {
    let mut update = Update::builder()
        .table_name(&store.table)
        .key(PK, AttributeValue::S(tenant_pk(scope)))
        .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
        .update_expression("ADD admin_count :delta")
        .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()));
    update = if delta < 0 {
        update
            .condition_expression("admin_count > :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
    } else {
        update.condition_expression("attribute_exists(pk)")
    };
    update.build().map_err(StoreError::from)
}
