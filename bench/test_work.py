"""bench/work.py: the capacity log's lines turned into a request's DynamoDB work. Run by
`make test` (with bench/test_cost.py)."""

import json
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import work  # noqa: E402


ROOT = Path(__file__).resolve().parents[1]


class Coverage(unittest.TestCase):
    def test_every_function_is_measured_or_listed_as_not_yet(self):
        source = (ROOT / "bench" / "run.py").read_text()
        measured = set(re.findall(r'measure\(\s*"([a-z0-9-]+)"', source))
        measured |= set(re.findall(r'\("([a-z0-9-]+)", "/[^"]*"\)', source))  # the loop over health, openapi, docs
        listed = re.search(r"NOT_MEASURED_YET = \{(.*?)\}", source, re.S).group(1)
        not_yet = set(re.findall(r'"([a-z0-9-]+)"', listed))
        functions = {p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").is_file()}
        missing = sorted(functions - measured - not_yet)
        self.assertEqual(missing, [], "bench/run.py: dynamodb_work measures no request of these functions; "
                                      "add a measure(...) (or list them in NOT_MEASURED_YET, saying why)")
        self.assertEqual(sorted(not_yet & measured), [], "bench/run.py: measured, yet listed in NOT_MEASURED_YET")
        self.assertEqual(sorted(not_yet - functions), [], "bench/run.py: NOT_MEASURED_YET names no such function")


def line(**fields):
    return json.dumps({"level": "DEBUG", "fields": {"message": "dynamodb call", **fields}})


class Calls(unittest.TestCase):
    def test_only_the_capacity_logs_lines_are_taken(self):
        text = "\n".join([
            "not json",
            json.dumps({"level": "ERROR", "fields": {"message": "something else"}}),
            line(operation="GetItem", consistent=True, actions=1, bytes_read=300),
            "",
        ])
        self.assertEqual([c["operation"] for c in work.calls(text)], ["GetItem"])


class RuleUnits(unittest.TestCase):
    def test_reads_are_charged_per_4_kb_and_half_when_eventually_consistent(self):
        self.assertEqual(work.rule_units({"operation": "GetItem", "consistent": True, "bytes_read": 300}), (1.0, 0.0))
        self.assertEqual(work.rule_units({"operation": "GetItem", "consistent": True, "bytes_read": 0}), (1.0, 0.0))
        self.assertEqual(work.rule_units({"operation": "Query", "consistent": True, "bytes_read": 8193}), (3.0, 0.0))
        self.assertEqual(work.rule_units({"operation": "Query", "consistent": False, "bytes_read": 4096}), (0.5, 0.0))
        self.assertEqual(work.rule_units({"operation": "BatchGetItem", "consistent": True, "actions": 2}), (2.0, 0.0))

    def test_writes_are_one_unit_an_item_and_two_in_a_transaction(self):
        self.assertEqual(work.rule_units({"operation": "PutItem"}), (0.0, 1.0))
        self.assertEqual(work.rule_units({"operation": "UpdateItem", "failed": True}), (0.0, 1.0))
        self.assertEqual(work.rule_units({"operation": "TransactWriteItems", "actions": 3}), (0.0, 6.0))
        self.assertEqual(work.rule_units({"operation": "BatchWriteItem", "actions": 25}), (0.0, 25.0))


class Summary(unittest.TestCase):
    def test_a_login_like_request(self):
        found = work.calls("\n".join([
            line(operation="BatchGetItem", consistent=True, actions=2, read_units=2.0, write_units=0.0),
            line(operation="GetItem", consistent=True, actions=1, bytes_read=200, read_units=0.5, write_units=0.0),
            line(operation="GetItem", consistent=True, actions=1, bytes_read=0, read_units=0.5, write_units=0.0),
            line(operation="TransactWriteItems", consistent=False, actions=2, read_units=0.0, write_units=0.0),
        ]))
        s = work.summary(found)
        self.assertEqual(s["calls"], 4)
        self.assertEqual(s["operations"], ["BatchGetItem x2", "GetItem (2 calls)", "TransactWriteItems x2"])
        self.assertEqual((s["items_read"], s["bytes_read"]), (3, 200))
        self.assertEqual((s["read_units"], s["write_units_base"]), (4.0, 4.0))
        self.assertEqual(s["emulator_units"], {"read": 3.0, "write": 0.0})
        self.assertEqual(s["scans"], 0)

    def test_repeated_calls_are_folded(self):
        found = work.calls("\n".join([line(operation="Query", consistent=True, actions=1, scanned=3)]
                                     + [line(operation="UpdateItem", actions=1)] * 3))
        s = work.summary(found)
        self.assertEqual((s["calls"], s["operations"]), (4, ["Query", "UpdateItem (3 calls)"]))

    def test_a_page_reads_what_the_query_scanned(self):
        s = work.summary(work.calls(line(operation="Query", consistent=True, actions=1, scanned=21, returned=21, bytes_read=9000)))
        self.assertEqual((s["items_read"], s["read_units"]), (21, 3.0))

    def test_the_section_flags_a_scan(self):
        functions = {"tasks-list": {"dynamodb": work.summary([{"operation": "Scan"}])}}
        text = "\n".join(work.section(functions))
        self.assertIn("Scan calls in all: 1", text)


class RateCounter(unittest.TestCase):
    counter = {"operation": "UpdateItem", "item": "RATE_LIMIT"}
    user = {"operation": "GetItem", "item": "USER", "bytes_read": 300, "consistent": True}

    def test_each_request_begins_with_its_counter_calls(self):
        calls = [
            {**self.counter, "elapsed_ms": 1.0}, {**self.user, "elapsed_ms": 2.0},
            {**self.counter, "failed": True, "elapsed_ms": 0.5}, {**self.counter, "elapsed_ms": 0.7},
            {**self.user, "elapsed_ms": 1.5},
            {**self.counter, "elapsed_ms": 0.9}, {**self.user, "elapsed_ms": 2.5}, {**self.user, "elapsed_ms": 1.0},
        ]
        requests = work.requests_of(calls)
        self.assertEqual([len(r) for r in requests], [2, 3, 3])
        self.assertEqual(work.rate_counter_share(requests[1]), (1.2, 1.5, 2, 2.0))
        self.assertEqual(work.rate_counter_share(requests[2]), (0.9, 3.5, 1, 1.0))

    def test_a_request_with_an_api_key_begins_with_its_lookup(self):
        lookup = {"operation": "TransactGetItems", "actions": 2, "consistent": True}
        calls = [
            {**lookup, "elapsed_ms": 1.1}, {"operation": "UpdateItem", "item": "APIKEY", "elapsed_ms": 0.4},
            {**self.counter, "elapsed_ms": 1.0}, {**self.user, "elapsed_ms": 2.0},
            {**lookup, "elapsed_ms": 0.9}, {**self.counter, "failed": True, "elapsed_ms": 0.5},
            {**self.counter, "elapsed_ms": 0.7}, {**self.user, "elapsed_ms": 1.5},
        ]
        requests = work.requests_of(calls)
        self.assertEqual([len(r) for r in requests], [4, 4])
        self.assertEqual(work.key_lookup_share(requests[1]), (0.9, 1, 4.0))
        self.assertEqual(work.rate_counter_share(requests[1]), (1.2, 2.4, 2, 2.0))
        self.assertEqual(work.key_lookup_share(calls[2:4]), (0, 0, 0))

    def test_a_request_without_a_counter_stays_with_the_one_before(self):
        calls = [{**self.user, "elapsed_ms": 1.0}, {**self.user, "elapsed_ms": 1.0}]
        self.assertEqual(len(work.requests_of(calls)), 1)
        self.assertEqual(work.rate_counter_share(calls), (0, 2.0, 0, 0))

    def test_the_counter_is_told_by_its_item_not_its_operation(self):
        self.assertFalse(work.is_rate_counter({"operation": "UpdateItem", "item": "TASK"}))
        self.assertTrue(work.is_rate_counter(self.counter))


if __name__ == "__main__":
    unittest.main()
