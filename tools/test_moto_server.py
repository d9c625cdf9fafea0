"""tools/moto_server.py over HTTP: transactions still commit or roll back whole, and neither
items nor their copies pile up in the emulator's dashboard state. Run with the project
venv's Python (it has moto and boto3): `.venv/bin/python -m unittest tools/test_moto_server.py`."""

import json
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PatchedMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.url = f"http://127.0.0.1:{port}"
        cls.server = subprocess.Popen([sys.executable, str(ROOT / "tools" / "moto_server.py"), "-H", "127.0.0.1",
                                       "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{cls.url}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        cls.db = boto3.client("dynamodb", endpoint_url=cls.url, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        cls.db.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(10)

    def put(self, pk, condition=None):
        action = {"TableName": "t", "Item": {"pk": {"S": pk}}}
        if condition:
            action["ConditionExpression"] = condition
        return {"Put": action}

    def test_a_cancelled_transaction_leaves_nothing_and_a_good_one_writes_everything(self):
        self.db.put_item(TableName="t", Item={"pk": {"S": "taken"}})
        with self.assertRaises(ClientError) as refused:
            self.db.transact_write_items(TransactItems=[self.put("first"), self.put("second"),
                                                        self.put("taken", "attribute_not_exists(pk)")])
        self.assertEqual(refused.exception.response["Error"]["Code"], "TransactionCanceledException")
        for pk in ["first", "second"]:
            self.assertNotIn("Item", self.db.get_item(TableName="t", Key={"pk": {"S": pk}}), pk)
        self.db.transact_write_items(TransactItems=[self.put("first"), self.put("second")])
        for pk in ["first", "second", "taken"]:
            self.assertIn("Item", self.db.get_item(TableName="t", Key={"pk": {"S": pk}}), pk)

    def test_transactions_leave_no_copies_behind_in_the_dashboard_state(self):
        for n in range(30):
            self.db.transact_write_items(TransactItems=[self.put(f"bulk-{n}-{i}") for i in range(4)])
        state = json.loads(urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10).read())
        self.assertEqual(state["dynamodb"].get("Item", []), [])
        self.assertEqual(state["dynamodb"].get("Table", []), [])
        count = self.db.scan(TableName="t", Select="COUNT")["Count"]
        self.assertGreaterEqual(count, 120)

    def test_reads_of_missing_keys_during_transactions_never_fail_them(self):
        # As the real table: a sort key, so a read of a missing partition key touches moto's
        # defaultdict; big enough that a transaction's copy of it takes a while. No retries,
        # so that a failure shows.
        from botocore.config import Config
        client = boto3.client("dynamodb", endpoint_url=self.url, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test",
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        client.create_table(TableName="tr", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        for start in range(0, 3000, 25):
            client.batch_write_item(RequestItems={"tr": [
                {"PutRequest": {"Item": {"pk": {"S": f"big-{n}"}, "sk": {"S": "s"}, "v": {"S": "x" * 200}}}}
                for n in range(start, start + 25)
            ]})
        stop, errors = threading.Event(), []

        def read_missing_keys():
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    client.get_item(TableName="tr", Key={"pk": {"S": f"missing-{n}"}, "sk": {"S": "s"}})
                except ClientError as e:
                    errors.append(e)

        thread = threading.Thread(target=read_missing_keys)
        thread.start()
        try:
            for n in range(15):
                try:
                    client.transact_write_items(TransactItems=[
                        {"Put": {"TableName": "tr", "Item": {"pk": {"S": f"tx-{n}-{i}"}, "sk": {"S": "s"}}}} for i in range(2)
                    ])
                except ClientError as e:
                    errors.append(e)
        finally:
            stop.set()
            thread.join(30)
        self.assertEqual(errors, [])

    def test_a_cancelled_transaction_puts_back_what_its_updates_deletes_and_puts_changed(self):
        # The rollback keeps the items the actions name (no table copy): on a table with a
        # sort key, an update, a delete and an overwriting put before the refused check are
        # all undone, to the attribute, and what the transaction did not name is untouched.
        self.db.create_table(TableName="undo", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}])

        def key(sk):
            return {"pk": {"S": "org"}, "sk": {"S": sk}}

        for sk, n in [("counter", "1"), ("gone", "2"), ("replaced", "3"), ("bystander", "4")]:
            self.db.put_item(TableName="undo", Item={**key(sk), "n": {"N": n}, "tags": {"L": [{"S": "a"}]}})
        before = {sk: self.db.get_item(TableName="undo", Key=key(sk)).get("Item")
                  for sk in ("counter", "gone", "replaced", "bystander", "new")}
        with self.assertRaises(ClientError) as refused:
            self.db.transact_write_items(TransactItems=[
                {"Update": {"TableName": "undo", "Key": key("counter"),
                            "UpdateExpression": "SET n = n + :one, tags[0] = :b",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":b": {"S": "b"}}}},
                {"Delete": {"TableName": "undo", "Key": key("gone")}},
                {"Put": {"TableName": "undo", "Item": {**key("replaced"), "n": {"N": "30"}}}},
                {"Put": {"TableName": "undo", "Item": {**key("new"), "n": {"N": "5"}}}},
                {"ConditionCheck": {"TableName": "undo", "Key": key("bystander"),
                                    "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        self.assertEqual(refused.exception.response["Error"]["Code"], "TransactionCanceledException")
        after = {sk: self.db.get_item(TableName="undo", Key=key(sk)).get("Item") for sk in before}
        self.assertEqual(after, before)
        self.assertIsNone(after["new"])
        self.db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "undo", "Key": key("counter"), "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": "undo", "Key": key("gone")}},
        ])
        self.assertEqual(self.db.get_item(TableName="undo", Key=key("counter"))["Item"]["n"], {"N": "2"})
        self.assertNotIn("Item", self.db.get_item(TableName="undo", Key=key("gone")))

    def test_a_refused_transaction_on_a_hash_only_table_undoes_an_update_that_created_an_item(self):
        # Table "t" has no sort key. The update creates "made"; the same key named twice is
        # refused by moto after the first action ran: both leave nothing behind.
        update = {"Update": {"TableName": "t", "Key": {"pk": {"S": "made"}}, "UpdateExpression": "SET n = :one",
                             "ExpressionAttributeValues": {":one": {"N": "1"}}}}
        with self.assertRaises(ClientError):
            self.db.transact_write_items(TransactItems=[update, self.put("taken-too", "attribute_exists(nothing)")])
        self.assertNotIn("Item", self.db.get_item(TableName="t", Key={"pk": {"S": "made"}}))
        with self.assertRaises(ClientError):
            self.db.transact_write_items(TransactItems=[update, self.put("made")])
        self.assertNotIn("Item", self.db.get_item(TableName="t", Key={"pk": {"S": "made"}}))

    def test_queue_messages_are_not_kept_in_the_dashboard_state_and_sent_mail_is(self):
        sqs = boto3.client("sqs", endpoint_url=self.url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        queue = sqs.create_queue(QueueName="events")["QueueUrl"]
        for n in range(20):
            sqs.send_message(QueueUrl=queue, MessageBody=f"event {n}")
        ses = boto3.client("sesv2", endpoint_url=self.url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        ses.create_email_identity(EmailIdentity="from@example.com")
        ses.send_email(FromEmailAddress="from@example.com", Destination={"ToAddresses": ["to@example.com"]},
                       Content={"Simple": {"Subject": {"Data": "kept"}, "Body": {"Text": {"Data": "hello"}}}})
        state = json.loads(urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10).read())
        self.assertEqual(state.get("sqs", {}).get("Message", []), [])
        self.assertIn("kept", [mail["subject"] for mail in state["ses"]["Message"]])
        # Still served from the queue itself.
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(len(received), 10)

    def test_a_query_reads_its_partition_or_index_key_in_order_and_nothing_else(self):
        self.db.create_table(
            TableName="q", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "ipk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-ipk", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "ipk", "KeyType": "HASH"},
                                                   {"AttributeName": "sk", "KeyType": "RANGE"}]}])
        for pk in ("a", "b"):
            for n in (3, 1, 2):
                item = {"pk": {"S": pk}, "sk": {"S": f"s{n}"}}
                if n != 2:
                    item["ipk"] = {"S": f"x{n % 2}"}
                self.db.put_item(TableName="q", Item=item)

        def query(**kw):
            pages, start = [], None
            while True:
                extra = {"ExclusiveStartKey": start} if start else {}
                got = self.db.query(TableName="q", Limit=2, **kw, **extra)
                pages += [(i["pk"]["S"], i["sk"]["S"]) for i in got["Items"]]
                start = got.get("LastEvaluatedKey")
                if not start:
                    return pages

        self.assertEqual(query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}),
                         [("a", "s1"), ("a", "s2"), ("a", "s3")])
        self.assertEqual(query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                               ScanIndexForward=False), [("a", "s3"), ("a", "s2"), ("a", "s1")])
        self.assertEqual(query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}}), [])
        self.assertEqual(query(IndexName="by-ipk", KeyConditionExpression="ipk = :p", ExpressionAttributeValues={":p": {"S": "x1"}}),
                         [("a", "s1"), ("b", "s1"), ("a", "s3"), ("b", "s3")])
        # And the table's own walk (a Scan) still sees everything, in moto's order.
        self.assertEqual(len(self.db.scan(TableName="q")["Items"]), 6)

    def test_the_dashboard_state_survives_deleted_s3_objects(self):
        s3 = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket="exports-bucket")
        s3.put_object(Bucket="exports-bucket", Key="exports/o/e.json", Body=b"{}")
        s3.delete_object(Bucket="exports-bucket", Key="exports/o/e.json")
        s3.delete_bucket(Bucket="exports-bucket")
        state = json.loads(urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10).read())
        self.assertEqual(state.get("s3", {}).get("FakeKey", []), [])


if __name__ == "__main__":
    unittest.main()
