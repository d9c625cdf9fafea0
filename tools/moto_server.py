"""moto_server, with two of its costs removed that grow with the table and slow a long test
run down (tools/stack.sh starts the emulator through this; same arguments as moto_server).

moto 5.2.5 keeps every model object it ever made in a class-level list, for its dashboard
(`/moto-api/data.json`). That includes every DynamoDB item and table, and every copy of
them: `TransactWriteItems` deep-copies the whole table, once per action, to roll back on a
cancellation. So each transaction leaves (actions x items in the table) objects behind for
good, memory grows without bound, and each read of `/moto-api/data.json` (how the tests read
sent mail) walks them all.

Here DynamoDB's items and tables are not kept in that list (the dashboard shows no
DynamoDB; mail, queues and secrets are still there), and a transaction copies no table at
all: it keeps the items its actions name, as they were, and a rollback puts them back.

Nor are S3's models: the dashboard reads every public attribute of every instance it keeps,
and an S3 object's `status` raises NoSuchBucket once its bucket's objects were deleted (an
organization's exports are), which fails the whole `/moto-api/data.json` with a 500, the
tests' mail included. They also hold every object's body for good. Nor SQS's and SNS's:
every event is a message on three queues, each kept for good and walked, attribute by
attribute, by every read of `/moto-api/data.json` (a fifth of the emulator's CPU under the
test suite, as tests poll it for mail). The tests read only SES's sent mail there.
"""

import copy
import functools
import sys
import threading

import moto.backends as backends
import moto.dynamodb.models as dynamodb_models
import moto.s3.models as s3_models
import moto.sns.models as sns_models
import moto.sqs.models as sqs_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.server import main

_list_of_moto_modules = backends.list_of_moto_modules


class _Untracked(list):
    """A model's instance list that keeps nothing."""

    def append(self, _instance):
        pass


for model in (Item, Table):
    model.instances_tracked = _Untracked()
for module in (s3_models, sqs_models, sns_models):
    for model in vars(module).values():
        if isinstance(model, type) and model.__module__ == module.__name__ and hasattr(model, "instances_tracked"):
            model.instances_tracked = _Untracked()


# moto finds a request's service by listing its own package directory, with a stat of each
# of its ~170 entries, for every request, under a lock that serializes all requests: a third
# of the emulator's CPU under the test suite (py-spy). The directory does not change while it
# runs.
backends.list_of_moto_modules = functools.cache(lambda: tuple(_list_of_moto_modules()))


class _NoTableCopies:
    """The `copy` module as moto's DynamoDB models see it: inside a transaction, a table is
    not copied (transact_write_items below keeps what the rollback needs instead)."""

    _local = threading.local()

    def deepcopy(self, value, memo=None):
        if getattr(self._local, "in_transaction", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


_copy = _NoTableCopies()
dynamodb_models.copy = _copy
_transact_write_items = DynamoDBBackend.transact_write_items


def _key_of(table, attributes):
    """The (hash, range) key of an action's item in `table`, as moto keys its items; None
    when the action lacks it (moto then refuses the transaction)."""
    try:
        hash_value = DynamoType(attributes[table.hash_key_attr])
        range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
        hash(hash_value), hash(range_value)
    except Exception:  # a malformed key: moto answers it with its own validation error
        return None
    return hash_value, range_value


def _stored(table, hash_value, range_value):
    """The item stored under a key, or None, without adding an entry to the table's
    defaultdict of partitions."""
    if range_value is None:
        return table.items.get(hash_value)
    return table.items.get(hash_value, {}).get(range_value)


def _restore(table, hash_value, range_value, item):
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def transact_write_items(self, transact_items):
    """moto's TransactWriteItems, rolled back from a copy of the items its actions name
    instead of a copy of every table they touch. moto deep-copies a whole table per
    transaction; the suite's table grows to tens of thousands of items, so each transaction
    cost more than the one before (and one operation runs at a time, see below). An action
    changes only the item its key names, so those items, as they were, are all a rollback
    needs."""
    before = []
    for action in transact_items:
        operation = next(iter(action.values()), None)
        table = self.tables.get(operation.get("TableName")) if isinstance(operation, dict) else None
        key = table and _key_of(table, operation.get("Item") or operation.get("Key") or {})
        if key:
            before.append((table, *key, copy.deepcopy(_stored(table, *key))))
    _copy._local.in_transaction = True
    try:
        return _transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_value, range_value, item in reversed(before):
            _restore(table, hash_value, range_value, item)
        raise
    finally:
        _copy._local.in_transaction = False


DynamoDBBackend.transact_write_items = transact_write_items


# And DynamoDB runs one operation at a time. A transaction's copy of a table iterates its
# items while other threads run; a write changes them, and so does a read: a table keeps its
# items in a defaultdict by partition key, so a GetItem or Query of a key it does not hold
# adds an empty entry ("dictionary changed size during iteration", an HTML 500). The bigger
# the table, the longer the copy and the likelier the clash: an export test's ten thousand
# tasks made it a matter of minutes. DynamoDB itself never fails so.
_DYNAMODB = threading.RLock()


def _one_at_a_time(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with _DYNAMODB:
            return method(*args, **kwargs)

    return run


# And a Query reads the whole table, sorted: moto's `Table.query` filters `all_items()`, which
# sorts every item of the table (by DynamoType comparisons, in Python) on every call, and then
# sorts what it kept again. Under the suite's table that is most of a Query's time, and the
# outbox's re-publisher queries one index key per shard every two seconds. Here a Query of the
# table reads its one partition (the same items `item.hash_key == hash_key` keeps), and a
# Query of an index walks the table once, unsorted (the query sorts what it keeps).
_all_items = Table.all_items
_query = Table.query
_querying = threading.local()


def _all_items_for(self):
    scope = getattr(_querying, "scope", None)
    if scope is None or scope[0] is not self:
        return _all_items(self)
    _, hash_key, index_name = scope
    if self.range_key_attr is None:
        return list(self.items.values())
    if index_name is None and hash_key is not None:
        return list(self.items.get(hash_key, {}).values())
    return [item for partition in list(self.items.values()) for item in partition.values()]


def _query_partition(self, hash_key, *args, **kwargs):
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    _querying.scope = (self, hash_key, index_name)
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _querying.scope = None


Table.all_items = _all_items_for
Table.query = _query_partition

for _name, _method in list(vars(DynamoDBBackend).items()):
    if callable(_method) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _one_at_a_time(_method))

if __name__ == "__main__":
    sys.exit(main())
