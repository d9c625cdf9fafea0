//! Write transactions whose items are known by name. DynamoDB answers a cancelled
//! transaction with one reason per item, by position; a check by position silently starts
//! asking about another item when one is added or moved. Here every item is pushed with a
//! name (a small enum of the transaction's own), and a failure is asked about by that name.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::error::StoreError;
use super::error::is_transaction_conflict;

/// The items of one write transaction, in order, each with the name its failure is asked
/// by. Names may repeat (the events of a loop, a group of items whose failure means the
/// same): asking about such a name asks about all the items that bear it.
pub(crate) struct Transaction<N> {
    pub(super) items: Vec<TransactWriteItem>,
    pub(super) names: Vec<N>,
}

impl<N> Transaction<N> {
    pub(crate) fn new() -> Self {
        Self { items: Vec::new(), names: Vec::new() }
    }

    /// The transaction with `action` added last, as `name`.
    pub(crate) fn with(mut self, name: N, action: impl WriteAction) -> Self {
        self.push(name, action);
        self
    }

    pub(crate) fn push(&mut self, name: N, action: impl WriteAction) {
        self.items.push(action.into_item());
        self.names.push(name);
    }

    /// Adds `part`'s items after these, each named by `rename` of its name in `part`: a part
    /// that several transactions share (a new user's items) keeps names of its own.
    pub(crate) fn append<M>(&mut self, part: Transaction<M>, rename: impl Fn(M) -> N) {
        self.items.extend(part.items);
        self.names.extend(part.names.into_iter().map(rename));
    }
}

/// What a transaction's item can be made of.
pub(crate) trait WriteAction {
    fn into_item(self) -> TransactWriteItem;
}

impl WriteAction for TransactWriteItem {
    fn into_item(self) -> TransactWriteItem {
        self
    }
}

impl WriteAction for Put {
    fn into_item(self) -> TransactWriteItem {
        TransactWriteItem::builder().put(self).build()
    }
}

impl WriteAction for Update {
    fn into_item(self) -> TransactWriteItem {
        TransactWriteItem::builder().update(self).build()
    }
}

impl WriteAction for Delete {
    fn into_item(self) -> TransactWriteItem {
        TransactWriteItem::builder().delete(self).build()
    }
}

impl WriteAction for ConditionCheck {
    fn into_item(self) -> TransactWriteItem {
        TransactWriteItem::builder().condition_check(self).build()
    }
}

/// A transaction that wrote nothing, with its items' names to tell which of them failed.
pub(crate) struct TransactionFailed<N> {
    pub(super) names: Vec<N>,
    pub(super) error: SdkError<TransactWriteItemsError, HttpResponse>,
}

impl<N: PartialEq> TransactionFailed<N> {
    /// True when DynamoDB cancelled the transaction because the condition of the item named
    /// `name` failed (of any item of that name). Another reason for that item (a conflict
    /// with another transaction, throttling) is not its condition's failure; a name that no
    /// item bears (an item pushed only sometimes) never failed.
    pub(crate) fn cancelled(&self, name: N) -> bool {
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = self.error.as_service_error()
        else {
            return false;
        };
        self.names
            .iter()
            .zip(cancelled.cancellation_reasons())
            .any(|(n, reason)| *n == name && reason.code() == Some("ConditionalCheckFailed"))
    }
}

impl<N> TransactionFailed<N> {
    /// True when the transaction kept conflicting with others on the same items.
    pub(crate) fn is_conflict(&self) -> bool {
        is_transaction_conflict(&self.error)
    }
}

impl<N> From<TransactionFailed<N>> for StoreError {
    fn from(failed: TransactionFailed<N>) -> Self {
        StoreError::dynamo(failed.error)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Item {
        Caller,
        Task,
        Event,
        Answer,
    }

    fn check() -> ConditionCheck {
        ConditionCheck::builder()
            .table_name("t")
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("p".into()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap()
    }

    /// `names` failed as DynamoDB answers it: one reason per item, by position.
    fn failed<N>(names: Vec<N>, codes: &[&str]) -> TransactionFailed<N> {
        let reasons = codes.iter().map(|c| CancellationReason::builder().code(*c).build()).collect();
        let cancelled = TransactionCanceledException::builder().set_cancellation_reasons(Some(reasons)).build();
        let raw = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
        let error = SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(cancelled), raw);
        TransactionFailed { names, error }
    }

    fn names(transaction: &Transaction<Item>) -> Vec<Item> {
        transaction.names.clone()
    }

    #[test]
    fn a_failed_condition_is_reported_by_the_name_of_its_item_wherever_it_stands() {
        let order = [Item::Caller, Item::Task, Item::Event, Item::Answer];
        for (position, item) in order.iter().enumerate() {
            let mut codes = ["None"; 4];
            codes[position] = "ConditionalCheckFailed";
            let failure = failed(order.to_vec(), &codes);
            for other in order {
                assert_eq!(failure.cancelled(other), other == *item, "{item:?} failed at {position}");
            }
        }
    }

    #[test]
    fn an_item_added_before_another_does_not_change_which_one_failed() {
        let short = Transaction::new().with(Item::Task, check()).with(Item::Event, check());
        let long = Transaction::new().with(Item::Caller, check()).with(Item::Task, check()).with(Item::Event, check());
        let task_failed = |transaction: &Transaction<Item>| {
            let codes: Vec<&str> = transaction
                .names
                .iter()
                .map(|n| if *n == Item::Task { "ConditionalCheckFailed" } else { "None" })
                .collect();
            failed(names(transaction), &codes)
        };
        for transaction in [&short, &long] {
            let failure = task_failed(transaction);
            assert!(failure.cancelled(Item::Task));
            assert!(!failure.cancelled(Item::Caller) && !failure.cancelled(Item::Event));
        }
    }

    #[test]
    fn another_reason_for_an_item_is_not_its_conditions_failure() {
        for code in ["TransactionConflict", "ThrottlingError", "ValidationError", "None"] {
            let failure = failed(vec![Item::Caller, Item::Task], &[code, "None"]);
            assert!(!failure.cancelled(Item::Caller), "{code}");
        }
        let not_cancelled = TransactionFailed {
            names: vec![Item::Caller],
            error: SdkError::service_error(
                TransactWriteItemsError::unhandled("boom"),
                HttpResponse::new(500.try_into().unwrap(), SdkBody::empty()),
            ),
        };
        assert!(!not_cancelled.cancelled(Item::Caller));
    }

    #[test]
    fn a_name_that_several_items_bear_failed_when_any_of_them_did() {
        let transaction =
            Transaction::new().with(Item::Task, check()).with(Item::Event, check()).with(Item::Event, check());
        let failure = failed(names(&transaction), &["None", "None", "ConditionalCheckFailed"]);
        assert!(failure.cancelled(Item::Event));
        assert!(!failure.cancelled(Item::Task));
    }

    #[test]
    fn an_item_never_pushed_never_failed() {
        let failure = failed(vec![Item::Caller, Item::Task], &["ConditionalCheckFailed", "ConditionalCheckFailed"]);
        assert!(!failure.cancelled(Item::Answer));
    }

    #[test]
    fn an_appended_part_keeps_its_order_and_is_asked_about_by_its_new_names() {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Outer {
            First,
            Part(Item),
        }
        let mut transaction = Transaction::new().with(Outer::First, check());
        transaction.append(Transaction::new().with(Item::Task, check()).with(Item::Event, check()), Outer::Part);
        assert_eq!(transaction.names, [Outer::First, Outer::Part(Item::Task), Outer::Part(Item::Event)]);
        assert_eq!(transaction.items.len(), 3);
        let failure = failed(transaction.names, &["None", "None", "ConditionalCheckFailed"]);
        assert!(failure.cancelled(Outer::Part(Item::Event)));
        assert!(!failure.cancelled(Outer::Part(Item::Task)) && !failure.cancelled(Outer::First));
    }
}
