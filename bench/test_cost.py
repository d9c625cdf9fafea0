"""Unit tests of bench/cost.py: `python3 -m unittest bench/test_cost.py` from the repository
root, or `.venv-deploy/bin/pytest bench/test_cost.py`. No AWS, no network, no build."""

import math
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cost  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Globals:
  Function:
    Runtime: provided.al2023
    MemorySize: 256
    Environment:
      Variables:
        TASKFLOW_TABLE_NAME: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
  GetFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: tasks-get
    Properties:
      CodeUri: .
  LoginFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: auth-login
    Properties:
      MemorySize: 1024  # argon2id
      Events:
        Api:
          Type: HttpApi
Outputs:
  ApiUrl:
    Value: !Sub "https://${HttpApi}"
"""


def measured(warm, cold, **extra):
    return {"warm_ms": {"median": warm, "p95": warm * 2}, "cold_start_ms": {"median": cold, "p95": cold * 2}, **extra}


class MemorySizes(unittest.TestCase):
    def test_globals_and_overrides(self):
        self.assertEqual(cost.memory_sizes(TEMPLATE), {"tasks-get": 256, "auth-login": 1024})

    def test_lambda_default_without_globals(self):
        text = TEMPLATE.replace("    MemorySize: 256\n", "")
        self.assertEqual(cost.memory_sizes(text), {"tasks-get": 128, "auth-login": 1024})

    def test_project_template_agrees_with_a_yaml_parse(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML is not installed")

        class Loader(yaml.SafeLoader):
            pass

        Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !Ref, !GetAtt, !Sub ...
        text = (ROOT / "template.yaml").read_text()
        parsed = yaml.load(text, Loader=Loader)
        default = parsed["Globals"]["Function"].get("MemorySize", 128)
        expected = {
            r["Metadata"]["BuildProperties"]["Binary"]: r["Properties"].get("MemorySize", default)
            for r in parsed["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"
        }
        self.assertEqual(cost.memory_sizes(text), expected)
        # Every function the workload and the mailer name is in the template.
        for spec in list(cost.REQUESTS.values()) + [cost.MAILER]:
            self.assertIn(spec["function"], expected)


class Breakdown(unittest.TestCase):
    memory = {"tasks-get": 256, "auth-login": 1024, "tasks-create": 256, "notifications-mailer": 256, "audit-writer": 128}

    def test_one_measured_kind_by_hand(self):
        results = {"functions": {"tasks-get": measured(7.2, 20.0)}}
        b = cost.breakdown(results, self.memory, mix={"tasks-get": 1.0}, cold_start_share=0.0)
        (row,) = b["rows"]
        self.assertEqual(row["duration_source"], "measured")
        self.assertEqual(row["billed_ms"], 8)  # 7.2 ms, rounded up to the millisecond
        gb_s = 256 / 1024 * 0.008
        self.assertAlmostEqual(b["components"]["Lambda duration"], gb_s * 0.0000133334 * 1e6)
        self.assertAlmostEqual(b["components"]["Lambda requests"], 0.20)
        self.assertAlmostEqual(b["components"]["HTTP API"], 1.00)
        self.assertAlmostEqual(b["components"]["DynamoDB reads"], 0.125)  # one consistent GetItem
        # The organization's request counter: one lease (1 unit) per batch of 10 requests.
        self.assertAlmostEqual(b["components"]["DynamoDB writes"], 0.0625)
        self.assertEqual(b["components"]["SES"], 0)
        self.assertAlmostEqual(b["total"], gb_s * 0.0000133334 * 1e6 + 0.20 + 1.00 + 0.125 + 0.0625)
        self.assertAlmostEqual(b["rate_counter"]["usd"], 0.0625)
        self.assertAlmostEqual(b["rate_counter"]["sparse_usd"], 1.25)

    def test_cold_starts_are_billed_at_the_cold_median(self):
        results = {"functions": {"tasks-get": measured(7.2, 20.5)}}
        b = cost.breakdown(results, self.memory, mix={"tasks-get": 1.0}, cold_start_share=0.1)
        self.assertAlmostEqual(b["rows"][0]["billed_ms"], 0.9 * 8 + 0.1 * 21)

    def test_an_unmeasured_function_is_estimated_from_its_calls(self):
        results = {"functions": {"tasks-get": measured(6.5, 20.0)}}
        b = cost.breakdown(results, self.memory, mix={"auth-login": 1.0}, cold_start_share=0.0)
        (row,) = b["rows"]
        self.assertTrue(row["duration_source"].startswith("estimated"), row["duration_source"])
        spec = cost.REQUESTS["auth-login"]
        self.assertAlmostEqual(row["warm_ms"], spec["aws_calls"] * 6.5 + cost.ARGON2_VERIFY_MS)
        self.assertEqual(row["memory_mb"], 1024)
        self.assertEqual(row["billed_ms"], math.ceil(row["warm_ms"]))

    def test_argon2_time_is_a_parameter(self):
        requests = {**cost.REQUESTS, "auth-login": {**cost.REQUESTS["auth-login"], "work_ms": 200.0}}
        slow = cost.breakdown({}, self.memory, mix={"auth-login": 1.0}, requests=requests, cold_start_share=0.0)
        fast = cost.breakdown({}, self.memory, mix={"auth-login": 1.0}, cold_start_share=0.0)
        self.assertGreater(slow["components"]["Lambda duration"], fast["components"]["Lambda duration"])
        self.assertEqual(slow["components"]["DynamoDB reads"], fast["components"]["DynamoDB reads"])

    def test_no_measurements_at_all(self):
        b = cost.breakdown({}, cost.memory_sizes((ROOT / "template.yaml").read_text()))
        self.assertTrue(all(r["duration_source"].startswith("estimated") for r in b["rows"]))
        self.assertEqual(b["call_ms"], cost.DEFAULT_CALL_MS)
        self.assertEqual(b["cold_extra_ms"], cost.DEFAULT_COLD_EXTRA_MS)
        self.assertGreater(b["total"], 0)

    def test_measured_read_units_replace_the_counts(self):
        results = {"functions": {"tasks-get": measured(7.0, 20.0, dynamodb={"read_units": 0.5, "write_units_base": 0})}}
        b = cost.breakdown(results, self.memory, mix={"tasks-get": 1.0})
        (row,) = b["rows"]
        self.assertEqual((row["read_units"], row["units_source"]), (0.5, "reads measured, writes code"))
        self.assertAlmostEqual(b["components"]["DynamoDB reads"], 0.0625)

    def test_measured_writes_never_lower_the_code_count_that_has_the_index_entries(self):
        spec = cost.REQUESTS["tasks-create"]
        for base, expected in ((2.0, spec["write_units"]), (spec["write_units"] + 3, spec["write_units"] + 3)):
            results = {"functions": {"tasks-create": measured(7.0, 20.0, dynamodb={"read_units": 0, "write_units_base": base})}}
            b = cost.breakdown(results, self.memory, mix={"tasks-create": 1.0}, cold_start_share=0.0)
            self.assertEqual(b["rows"][0]["write_units"], expected)

    def test_a_create_pays_for_its_event_its_audit_entry_and_its_mail(self):
        b = cost.breakdown({}, self.memory, mix={"tasks-create": 1.0}, cold_start_share=0.0)
        create, mail, audit = b["rows"]
        self.assertEqual(mail["function"], "notifications-mailer")
        self.assertEqual(mail["share"], 1.0)
        self.assertEqual((audit["function"], audit["share"]), ("audit-writer", 1.0))
        self.assertAlmostEqual(b["components"]["SES"], 100.0)  # $0.10 per 1,000 mails
        self.assertAlmostEqual(b["components"]["SNS"], 0.50)  # one Publish of task.created
        # Each consumer's event source mapping receives and deletes its copy of the message.
        self.assertAlmostEqual(b["components"]["SQS"], 2 * 2 * 0.40)
        self.assertAlmostEqual(b["components"]["HTTP API"], 1.00)  # neither consumer is an API request
        self.assertAlmostEqual(b["components"]["Lambda requests"], 3 * 0.20)
        units = cost.REQUESTS["tasks-create"]["write_units"] + cost.MAILER["write_units"] + cost.AUDIT_WRITER["write_units"]
        self.assertAlmostEqual(b["components"]["DynamoDB writes"], units * 0.625)

    def test_a_read_publishes_nothing(self):
        b = cost.breakdown({}, self.memory, mix={"tasks-get": 1.0}, cold_start_share=0.0)
        self.assertEqual([r["function"] for r in b["rows"]], ["tasks-get"])
        self.assertEqual(b["components"]["SNS"], 0.0)

    def test_shares_must_add_up(self):
        with self.assertRaises(ValueError):
            cost.breakdown({}, self.memory, mix={"tasks-get": 0.5})

    def test_default_mix(self):
        self.assertAlmostEqual(sum(cost.MIX.values()), 1.0)
        reads = cost.MIX["tasks-list"] + cost.MIX["tasks-get"]
        writes = sum(share for kind, share in cost.MIX.items() if kind.startswith(("tasks-create", "tasks-update")))
        self.assertAlmostEqual(reads, 0.60)
        self.assertAlmostEqual(writes, 0.25)
        self.assertAlmostEqual(cost.MIX["auth-login"], 0.10)
        self.assertAlmostEqual(cost.MIX["auth-me"], 0.05)

    def test_total_is_the_sum_of_rows_and_of_components(self):
        results = {"functions": {"tasks-get": measured(7.5, 21.0), "tasks-list": measured(20.3, 45.1), "auth-me": measured(7.5, 21.1)}}
        b = cost.breakdown(results, cost.memory_sizes((ROOT / "template.yaml").read_text()))
        self.assertAlmostEqual(b["total"], sum(b["components"].values()))
        self.assertAlmostEqual(b["total"], sum(r["usd_total"] for r in b["rows"]))


class Markdown(unittest.TestCase):
    def test_section(self):
        results = {"functions": {"tasks-get": measured(7.5, 21.0)}}
        b = cost.breakdown(results, cost.memory_sizes((ROOT / "template.yaml").read_text()))
        text = cost.markdown(b)
        self.assertTrue(text.startswith("## Cost per million requests"))
        self.assertIn("us-east-1, 2026, from the AWS pricing pages, to be checked", text)
        self.assertIn("| tasks-get | tasks-get |", text)
        self.assertIn("estimated:", text)
        self.assertIn(f"**{cost._usd(b['total'])}**", text)
        self.assertTrue(text.endswith("\n"))


if __name__ == "__main__":
    unittest.main()


class LifecycleTest(unittest.TestCase):
    def test_every_lifecycle_request_names_a_deployed_function_and_costs_something(self):
        memory_mb = cost.memory_sizes((ROOT / "template.yaml").read_text())
        rows = cost.lifecycle({}, memory_mb)
        self.assertEqual([r["kind"] for r in rows], list(cost.LIFECYCLE))
        for r in rows:
            self.assertIn(r["function"], memory_mb)
            self.assertGreater(r["usd_per_1000"], 0)
        by_kind = {r["kind"]: r for r in rows}
        # A request that mails costs at least the mail.
        self.assertGreater(by_kind["password reset request"]["usd_per_1000"], cost.PRICES["ses_mail"] * 1000)

    def test_a_deletion_costs_its_writes_by_hand(self):
        prices = {**cost.PRICES}
        d = cost.deletion(2500, memory_mb=1024, prices=prices, item_kb=1.0, batch=1000, index_entries=1.0, batch_seconds=1.0)
        self.assertEqual(d["batches"], 3)
        self.assertAlmostEqual(d["usd"]["DynamoDB writes"], 2500 * 2 * prices["dynamodb_write_unit"])
        self.assertAlmostEqual(d["usd"]["DynamoDB reads"], math.ceil(2500 / 4) * prices["dynamodb_read_unit"])
        self.assertAlmostEqual(d["usd"]["Lambda"], 3 * (prices["lambda_gb_second"] + prices["lambda_request"]))
        self.assertAlmostEqual(d["usd"]["SQS"], 9 * prices["sqs_request"])
        self.assertAlmostEqual(d["total"], sum(d["usd"].values()))

    def test_an_export_costs_its_reads_parts_and_day_of_storage_by_hand(self):
        prices = {**cost.PRICES}
        e = cost.export(20_000, memory_mb=1024, prices=prices, item_kb=1.0, json_kb=1.024, tasks_per_second=10_000)
        self.assertAlmostEqual(e["size_mb"], 20.0)
        self.assertEqual(e["parts"], 3)
        self.assertAlmostEqual(e["usd"]["DynamoDB"], (5000 + 2) * prices["dynamodb_read_unit"] + 4 * prices["dynamodb_write_unit"])
        self.assertAlmostEqual(e["usd"]["Lambda"], 2.1 * prices["lambda_gb_second"] + prices["lambda_request"])
        self.assertAlmostEqual(
            e["usd"]["S3"], 5 * prices["s3_put_request"] + prices["s3_get_request"] + 20 / 1024 * prices["s3_gb_month"] / 30
        )
        self.assertEqual(cost.export(100, prices=prices)["parts"], 1, "a small document is one PutObject")
        self.assertAlmostEqual(e["total"], sum(e["usd"].values()))

    def test_webhook_deliveries_cost_their_reads_writes_and_retries_by_hand(self):
        prices = {**cost.PRICES}
        w = cost.webhook_deliveries(1000, webhooks=3, attempts=2.0, memory_mb=1024, prices=prices, batch=10,
                                    batch_seconds=1.0, item_kb=2.0)
        # 2,000 receives in 200 batches; each receive a Query of 2 units and 3 GetItems, and 3 records written.
        self.assertAlmostEqual(w["usd"]["DynamoDB"], 2000 * (2 + 3) * prices["dynamodb_read_unit"]
                               + 2000 * 3 * cost.WEBHOOK_RECORD_WRITE_UNITS * prices["dynamodb_write_unit"])
        self.assertAlmostEqual(w["usd"]["Lambda"], 200 * (prices["lambda_gb_second"] + prices["lambda_request"]))
        self.assertAlmostEqual(w["usd"]["SQS"], 400 * prices["sqs_request"] + 1000 * prices["sqs_request"],
                               msg="receive and delete per batch, a back-off per retry")
        self.assertAlmostEqual(w["total"], sum(w["usd"].values()))
        once = cost.webhook_deliveries(1000, prices=prices)
        self.assertLess(once["total"], w["total"])
        self.assertEqual(once["usd"]["SQS"], 1000 / cost.WEBHOOK_BATCH * 2 * prices["sqs_request"], "no retry, no back-off")

    def test_the_report_section_has_both_tables(self):
        text = cost.section({}, ROOT / "template.yaml")
        self.assertIn("## Account lifecycle and integrations (estimate)", text)
        self.assertIn("| replayed POST (Idempotency-Key) | tasks-create |", text)
        self.assertIn("| organization deletion request | organizations-delete |", text)
        self.assertIn("| 100,000 |", text)
        self.assertIn("| organization export request | organizations-export-create |", text)
        self.assertIn("| 1,000,000 |", text)
        self.assertIn("Delivering webhooks, per million events", text)
        self.assertIn("| 5 | 1 |", text)



class RateCounter(unittest.TestCase):
    def test_exactly_the_request_kinds_of_authenticated_functions_pay_for_the_counter(self):
        for kind, spec in {**cost.REQUESTS, **cost.LIFECYCLE}.items():
            main = (ROOT / "functions" / spec["function"] / "src" / "main.rs").read_text()
            # An authenticated function builds the App, whose handlers count every request.
            self.assertEqual(bool(spec.get("rate_counted")), "App::from_env" in main, kind)
