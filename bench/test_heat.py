"""bench/heat.py: item sizes, what each DynamoDB call charges per key, and the projected
ceilings. Run by `make test` (with bench/test_cost.py and bench/test_work.py)."""

import math
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heat  # noqa: E402

SCHEMA = heat.Schema("pk", "sk", {"tasks-by-status": "status_pk", "outbox-by-age": "outbox_pk"})


def s(text):
    return {"S": text}


class Sizes(unittest.TestCase):
    def test_an_item_counts_its_names_and_values(self):
        self.assertEqual(heat.item_size({"pk": s("ORG#1"), "sk": s("é")}), 2 + 5 + 2 + 2)
        self.assertEqual(heat.value_size({"N": "12345"}), 1 + 3)
        self.assertEqual(heat.value_size({"N": "-0.5"}), 1 + 1 + 1)
        self.assertEqual(heat.value_size({"BOOL": True}), 1)
        self.assertEqual(heat.value_size({"M": {"a": s("bc")}}), 3 + 1 + 1 + 2)
        self.assertEqual(heat.value_size({"L": [s("x"), {"NULL": True}]}), 3 + 2 + 2)

    def test_units_round_up_and_halve_for_eventual_reads(self):
        self.assertEqual(heat.read_units(0, False), 0.5)
        self.assertEqual(heat.read_units(4097, True), 2.0)
        self.assertEqual(heat.write_units(1024), 1.0)
        self.assertEqual(heat.write_units(1025), 2.0)


class Touches(unittest.TestCase):
    def setUp(self):
        self.shadow = heat.Shadow(SCHEMA)

    def test_a_get_charges_its_partition_by_what_it_read(self):
        found = heat.touches("GetItem", {"Key": {"pk": s("ORG#a"), "sk": s("TASK#1")}}, {"Item": {"pk": s("ORG#a"), "sk": s("x" * 5000)}}, SCHEMA, self.shadow)
        self.assertEqual(found, [heat.Touch(("table", "ORG#a"), read=1.0)])  # 2 units of 4 KB, eventually consistent

    def test_a_query_on_an_index_charges_the_index_key(self):
        request = {"IndexName": "tasks-by-status", "KeyConditionExpression": "#ipk = :ipk",
                   "ExpressionAttributeNames": {"#ipk": "status_pk"}, "ExpressionAttributeValues": {":ipk": s("ORG#a#STATUS#done")}}
        found = heat.touches("Query", request, {"Items": []}, SCHEMA, self.shadow)
        self.assertEqual(found, [heat.Touch(("tasks-by-status", "ORG#a#STATUS#done"), read=0.5)])
        table = {"KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)", "ExpressionAttributeValues": {":pk": s("ORG#a"), ":p": s("T")}}
        self.assertEqual(heat.touches("Query", table, {}, SCHEMA, self.shadow)[0].key, ("table", "ORG#a"))

    def test_a_transaction_charges_twice_and_its_puts_write_their_index_keys(self):
        task = {"pk": s("ORG#a"), "sk": s("TASK#1"), "status_pk": s("ORG#a#STATUS#todo")}
        request = {"TransactItems": [
            {"ConditionCheck": {"Key": {"pk": s("ORG#a"), "sk": s("USER#u")}}},
            {"Put": {"Item": task}},
        ]}
        found = heat.touches("TransactWriteItems", request, {}, SCHEMA, self.shadow)
        self.assertEqual(found, [
            heat.Touch(("table", "ORG#a"), ("ORG#a", "USER#u"), write=2.0),
            heat.Touch(("table", "ORG#a"), ("ORG#a", "TASK#1"), write=2.0),
            heat.Touch(("tasks-by-status", "ORG#a#STATUS#todo"), write=1.0),
        ])

    def test_a_refused_write_charges_the_table_only_and_changes_no_item(self):
        task = {"pk": s("ORG#a"), "sk": s("TASK#1"), "status_pk": s("ORG#a#STATUS#todo")}
        refused = heat.touches("TransactWriteItems", {"TransactItems": [{"Put": {"Item": task}}]}, None, SCHEMA, self.shadow)
        self.assertEqual(refused, [heat.Touch(("table", "ORG#a"), ("ORG#a", "TASK#1"), write=2.0)])
        # The item was never written: deleting it later removes no index entry.
        deleted = heat.touches("DeleteItem", {"Key": {"pk": s("ORG#a"), "sk": s("TASK#1")}}, {}, SCHEMA, self.shadow)
        self.assertEqual(deleted, [heat.Touch(("table", "ORG#a"), ("ORG#a", "TASK#1"), write=1.0)])

    def test_the_key_conditions_taskflow_uses_name_their_partition(self):
        outbox = {"IndexName": "outbox-by-age", "KeyConditionExpression": "#pk = :pk AND #at < :cutoff",
                  "ExpressionAttributeNames": {"#pk": "outbox_pk", "#at": "outbox_at"},
                  "ExpressionAttributeValues": {":pk": s("OUTBOX#07"), ":cutoff": s("2026")}}
        self.assertEqual(heat.touches("Query", outbox, {}, SCHEMA, self.shadow)[0].key, ("outbox-by-age", "OUTBOX#07"))
        between = {"KeyConditionExpression": "sk BETWEEN :a AND :b AND pk = :pk",
                   "ExpressionAttributeValues": {":pk": s("ORG#a"), ":a": s("A"), ":b": s("B")}}
        self.assertEqual(heat.touches("Query", between, {}, SCHEMA, self.shadow)[0].key, ("table", "ORG#a"))

    def test_a_call_the_model_cannot_price_is_an_error_not_free(self):
        with self.assertRaises(ValueError):
            heat.touches("Scan", {"TableName": "t"}, {}, SCHEMA, self.shadow)
        with self.assertRaises(ValueError):
            heat.touches("Query", {"KeyConditionExpression": "begins_with(sk, :p)"}, {}, SCHEMA, self.shadow)

    def test_moving_an_item_to_another_index_key_removes_the_old_entry_and_a_delete_its_last(self):
        before = {"pk": s("ORG#a"), "sk": s("TASK#1"), "status_pk": s("ORG#a#STATUS#todo")}
        heat.touches("GetItem", {"Key": {"pk": s("ORG#a"), "sk": s("TASK#1")}}, {"Item": before}, SCHEMA, self.shadow)
        after = dict(before, status_pk=s("ORG#a#STATUS#done"))
        found = heat.touches("PutItem", {"Item": after}, {}, SCHEMA, self.shadow)
        self.assertIn(heat.Touch(("tasks-by-status", "ORG#a#STATUS#done"), write=1.0), found)
        self.assertIn(heat.Touch(("tasks-by-status", "ORG#a#STATUS#todo"), write=1.0), found)
        deleted = heat.touches("DeleteItem", {"Key": {"pk": s("ORG#a"), "sk": s("TASK#1")}}, {}, SCHEMA, self.shadow)
        self.assertEqual(deleted, [heat.Touch(("table", "ORG#a"), ("ORG#a", "TASK#1"), write=1.0),
                                   heat.Touch(("tasks-by-status", "ORG#a#STATUS#done"), write=1.0)])


class Ceilings(unittest.TestCase):
    def tally(self, requests, writes=(), reads=()):
        t = heat.Tally()
        t.requests = requests
        t.add([heat.Touch(k, write=w) for k, w in writes] + [heat.Touch(k, read=r) for k, r in reads])
        return t

    def test_the_hottest_key_sets_the_ceiling_whether_by_writes_or_reads(self):
        t = self.tally(10, writes=[(("table", "ORG#a"), 30.0), (("table", "USER#b"), 10.0)], reads=[(("table", "ORG#a"), 60.0)])
        rate, key = heat.ceiling(heat.per_request(t))
        self.assertEqual((rate, key), (1000 / 3, ("table", "ORG#a")))
        reads = self.tally(1, reads=[(("table", "ORG#a"), 6.0)])
        self.assertEqual(heat.ceiling(heat.per_request(reads)), (500.0, ("table", "ORG#a")))
        self.assertEqual(heat.ceiling({}), (math.inf, None))

    def test_a_mix_weighs_each_routes_load_by_its_share(self):
        tallies = {"get": self.tally(2, reads=[(("table", "K"), 2.0)]), "create": self.tally(1, writes=[(("table", "K"), 4.0)])}
        load = heat.mix_load(tallies, {"get": 3, "create": 1})
        self.assertEqual(load[("table", "K")], (0.75, 1.0))
        self.assertEqual(heat.ceiling(load), (1000.0, ("table", "K")))

    def test_keys_both_organizations_wrote_are_shared_and_reads_do_not_count(self):
        first = {"r": self.tally(1, writes=[(("outbox-by-age", "OUTBOX"), 1.0), (("table", "ORG#a"), 1.0)], reads=[(("table", "X"), 1.0)])}
        second = {"r": self.tally(1, writes=[(("outbox-by-age", "OUTBOX"), 1.0), (("table", "ORG#b"), 1.0)], reads=[(("table", "X"), 1.0)])}
        self.assertEqual(heat.shared_keys(first, second), [("outbox-by-age", "OUTBOX")])

    def test_a_keys_writes_break_down_by_the_kind_of_item_written(self):
        t = heat.Tally()
        t.requests = 2
        t.add([heat.Touch(("table", "ORG#a"), ("ORG#a", "TASK#1"), write=2.0),
               heat.Touch(("table", "ORG#a"), ("ORG#a", "OUTBOX#e"), write=3.0),
               heat.Touch(("table", "ORG#b"), ("ORG#b", "TASK#2"), write=8.0)])
        self.assertEqual(heat.write_breakdown({"r": t}, {"r": 1}, ("table", "ORG#a")), {"OUTBOX": 1.5, "TASK": 1.0})
        self.assertEqual(heat.item_kind("RATE_LIMIT"), "RATE_LIMIT")

    def test_keys_that_do_not_name_the_organization_are_the_ones_it_shares(self):
        t = self.tally(2, writes=[(("outbox-by-age", "OUTBOX#03"), 1.0), (("table", "ORG#a"), 4.0)])
        self.assertEqual(heat.unowned_keys({"r": t}, "a"), {("outbox-by-age", "OUTBOX#03"): 0.5})

    def test_labels_hide_the_organizations_id(self):
        self.assertEqual(heat.label(("table", "ORG#123#T4"), "123"), "ORG#{org}#T4")
        self.assertEqual(heat.label(("outbox-by-age", "OUTBOX"), "123"), "outbox-by-age: OUTBOX")


class Consumers(unittest.TestCase):
    def test_each_consumer_gets_the_event_types_its_subscription_takes(self):
        filters = heat.consumer_filters()
        self.assertEqual(set(filters), set(heat.CONSUMERS))
        self.assertIsNone(filters["audit-writer"], "the audit writer takes every event")
        self.assertIn("task.created", filters["notifications-mailer"])
        self.assertNotIn("task.updated", filters["notifications-mailer"])
        self.assertIn("task.updated", filters["webhooks-dispatcher"])


if __name__ == "__main__":
    unittest.main()
