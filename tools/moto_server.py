"""moto_server, with two of its costs removed that grow with the table and slow a long test
run down (tools/stack.sh starts the emulator through this; same arguments as moto_server).

moto 5.2.5 keeps every model object it ever made in a class-level list, for its dashboard
(`/moto-api/data.json`). That includes every DynamoDB item and table, and every copy of
them: `TransactWriteItems` deep-copies the whole table, once per action, to roll back on a
cancellation. So each transaction leaves (actions x items in the table) objects behind for
good, memory grows without bound, and each read of `/moto-api/data.json` (how the tests read
sent mail) walks them all.

Here DynamoDB's items and tables are not kept in that list (the dashboard shows no
DynamoDB; mail, queues and secrets are still there), and a transaction copies each table
once: every copy was taken before the first action ran, so they were all the same state
and the rollback is unchanged.

Nor are S3's models: the dashboard reads every public attribute of every instance it keeps,
and an S3 object's `status` raises NoSuchBucket once its bucket's objects were deleted (an
organization's exports are), which fails the whole `/moto-api/data.json` with a 500, the
tests' mail included. They also hold every object's body for good.
"""

import copy
import functools
import sys
import threading

import moto.dynamodb.models as dynamodb_models
import moto.s3.models as s3_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.server import main


class _Untracked(list):
    """A model's instance list that keeps nothing."""

    def append(self, _instance):
        pass


for model in (Item, Table):
    model.instances_tracked = _Untracked()
for model in vars(s3_models).values():
    if isinstance(model, type) and model.__module__ == s3_models.__name__ and hasattr(model, "instances_tracked"):
        model.instances_tracked = _Untracked()


class _OneCopyPerTransaction:
    """The `copy` module as moto's DynamoDB models see it: inside a transaction, a table is
    deep-copied once and that copy is handed out again."""

    _local = threading.local()

    def deepcopy(self, value, memo=None):
        copies = getattr(self._local, "tables", None)
        if copies is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = copy.deepcopy(value)
        return copies[id(value)]

    def __getattr__(self, name):
        return getattr(copy, name)


_copy = _OneCopyPerTransaction()
dynamodb_models.copy = _copy
_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    _copy._local.tables = {}
    try:
        return _transact_write_items(self, transact_items)
    finally:
        _copy._local.tables = None


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


for _name, _method in list(vars(DynamoDBBackend).items()):
    if callable(_method) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _one_at_a_time(_method))

if __name__ == "__main__":
    sys.exit(main())
