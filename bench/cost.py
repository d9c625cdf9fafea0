"""What a million API requests of a mixed workload cost on AWS, from the figures of
bench/results.json and the memory sizes of template.yaml. Pure: no AWS call, no clock, no
file read except in the helpers that say so. bench/run.py appends `markdown(breakdown(...))`
to bench/REPORT.md; `python3 bench/cost.py [results.json] [template.yaml] [--json]` prints it.

What it reads from the results (every field optional):
- functions[name].warm_ms.median: the billed duration of a warm request, rounded up to 1 ms;
- functions[name].cold_start_ms.median: the billed duration of a cold one (provided.al2023
  bills the init phase);
- functions[name].dynamodb = {"read_units": r, "write_units_base": w, ...}: one measured request's
  DynamoDB units by the on-demand rules (bench/work.py, from the functions' capacity log). Its
  read units replace those of REQUESTS below; its write units cover the base table only (the
  log cannot see index entries), so the larger of them and REQUESTS' count (which adds the
  index entries) is used.
A function that was not measured gets an estimate, marked as such in the report.
"""

import json
import math
import re
import statistics
import sys
from pathlib import Path

# us-east-1, 2026, from the AWS pricing pages, to be checked. List prices of the first tier,
# no free tier, no Savings Plans.
PRICES = {
    "lambda_gb_second": 0.0000133334,  # Lambda arm64, per GB-second of billed duration (1 ms steps)
    "lambda_request": 0.20 / 1e6,  # Lambda, per invocation
    "http_api_request": 1.00 / 1e6,  # API Gateway HTTP API, per request (first 300 million a month)
    "dynamodb_read_unit": 0.125 / 1e6,  # DynamoDB on-demand, per read request unit
    "dynamodb_write_unit": 0.625 / 1e6,  # DynamoDB on-demand, per write request unit
    "sqs_request": 0.40 / 1e6,  # SQS standard queue, per request
    "sns_publish": 0.50 / 1e6,  # SNS standard topic, per published 64 KB (deliveries to SQS are free)
    "ses_mail": 0.10 / 1000,  # SES, per mail sent
    "s3_put_request": 0.005 / 1000,  # S3 Standard, per PUT, POST or LIST request
    "s3_get_request": 0.0004 / 1000,  # S3 Standard, per GET request
    "s3_gb_month": 0.023,  # S3 Standard storage, per GB-month
}

# The workload: 60% reads (list, get), 25% writes (create, update), 10% logins, 5% other. An
# even split inside each group; one update in five gives the task a new assignee (assumed).
MIX = {
    "tasks-list": 0.30,
    "tasks-get": 0.30,
    "tasks-create": 0.125,
    "tasks-update": 0.10,
    "tasks-update (new assignee)": 0.025,
    "auth-login": 0.10,
    "auth-me": 0.05,
}

# What one request of each kind does, read from the code (shared/src/api, shared/src/store,
# shared/src/auth/login.rs, shared/src/notifications/publisher.rs). bench/run.py measures the calls and
# their read units (functions[name].dynamodb); the write units here add the index entries.
#
# Units: every read is strongly consistent (Store::get_item, query_partition), 1 read unit per
# item up to 4 KB, charged for a missing item too; a write is 1 unit per item up to 1 KB, 2
# inside TransactWriteItems, where the ConditionCheck on the caller's user item (every write
# re-checks its caller, shared/src/store/caller.rs) costs like a write too; each index that projects the item
# costs 1 more write unit (tasks: tasks-by-status always, the two assignee indexes when
# assigned; outbox markers: outbox-by-age), also when the marker is deleted.
#   read_units / write_units  DynamoDB units per request
#   sqs                       SQS requests the function makes itself (SendMessage of a job's next step)
#   events                    events it records and publishes to the topic (Publish; each one costs
#                             AUDIT_WRITER's part below as well, and reaches the mailer when it mails)
#   mails                     mails it causes (each one costs MAILER's part below as well)
#   aws_calls                 sequential AWS calls, for the duration estimate of an unmeasured function
#   work_ms                   time spent besides those calls, for the same estimate
#   measured_as               the function whose measured figures describe this kind (None: always estimated)
# Every authenticated request counts against its organization's budget (shared/src/store/
# rate_limits.rs), in leases: an instance leases a batch of the window's requests with one
# conditional UpdateItem of the organization's counter (under 1 KB, 1 write unit) and spends it
# from memory. The batch is a tenth of the quota, 1 to 100 (RateBudget::lease_size): 10 for the
# stack's default of 100, so a busy organization, which the budget is for, pays a tenth of a
# unit per request (`rate_counted`). An organization that sends one request per window leases
# each time, and the first lease of a window is two updates (a refused one, then the window's
# start): RATE_COUNTER_SPARSE is what it pays instead.
DEFAULT_LEASE = 10
RATE_COUNTER_WRITE_UNITS = 1 / DEFAULT_LEASE
RATE_COUNTER_SPARSE_WRITE_UNITS = 2
TASK_ITEM_KB = 0.5  # assumed size of a stored task
LIST_PAGE = 20  # tasks-list's default page; it reads one item more to know whether a next page exists
ARGON2_VERIFY_MS = 60.0  # assumed: argon2id m=19 MiB, t=2, p=1 at 1024 MB (about 0.6 vCPU); to be measured on Lambda

REQUESTS = {
    "tasks-list": dict(function="tasks-list", measured_as="tasks-list", aws_calls=2, work_ms=0.0, sqs=0, mails=0,
                       read_units=math.ceil((LIST_PAGE + 1) * TASK_ITEM_KB / 4), write_units=RATE_COUNTER_WRITE_UNITS, rate_counted=True),  # one Query
    "tasks-get": dict(function="tasks-get", measured_as="tasks-get", aws_calls=2, work_ms=0.0, sqs=0, mails=0,
                      read_units=1, write_units=RATE_COUNTER_WRITE_UNITS, rate_counted=True),  # GetItem
    # No assignee given: the creator is mailed. TransactWrite of the caller's check, the task
    # and its outbox marker (3 x 2) + tasks-by-status + outbox-by-age; Publish of task.created;
    # the marker's DeleteItem (1 + its outbox-by-age entry).
    "tasks-create": dict(function="tasks-create", measured_as="tasks-create", aws_calls=4, work_ms=0.0, sqs=0, events=1,
                         mails=1, read_units=0, write_units=3 * 2 + 2 + 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # GetItem of the task; TransactWrite of the conditional Put, the caller's check and the
    # task.updated marker (3 x 2) + tasks-by-status + outbox-by-age; Publish; the marker's
    # DeleteItem (1 + 1).
    "tasks-update": dict(function="tasks-update", measured_as="tasks-update", aws_calls=5, work_ms=0.0, sqs=0, events=1,
                         mails=0, read_units=1, write_units=3 * 2 + 1 + 1 + 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # GetItem of the new assignee and of the task; TransactWrite of task, the task.updated and
    # task.assigned markers and the caller's check (4 x 2) + tasks-by-status and the two
    # assignee indexes + two outbox-by-age entries; two Publishes; the markers' DeleteItems
    # (2 x (1 + 1)). A previous assignee's index entries, deleted too, are not counted.
    "tasks-update (new assignee)": dict(function="tasks-update", measured_as=None, aws_calls=8, work_ms=0.0, sqs=0,
                                       events=2, mails=1, read_units=2, write_units=4 * 2 + 3 + 2 + 2 * 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # The password throttle's three conditional increments (pair, address, email), GetItem of
    # the credentials and of the user, the reservation given back (a DeleteItem and two
    # UpdateItems, concurrent); TransactWrite of the session and its refresh token (2 x 2).
    # Plus argon2id.
    "auth-login": dict(function="auth-login", measured_as="auth-login", aws_calls=8, work_ms=ARGON2_VERIFY_MS, sqs=0, mails=0,
                       read_units=1 + 1, write_units=3 + 3 + 2 * 2),
    "auth-me": dict(function="auth-me", measured_as="auth-me", aws_calls=2, work_ms=0.0, sqs=0, mails=0,
                    read_units=1, write_units=RATE_COUNTER_WRITE_UNITS, rate_counted=True),  # GetItem
}

# Each mail, in notifications-mailer (shared/src/notifications/mailer.rs): the delivery claim (conditional
# PutItem) and mark_sent (UpdateItem); GetItem of organization, task and recipient; SendEmail.
# The SQS event source mapping receives and deletes the message (1 + 1 requests; fewer when it
# batches, up to 10 messages a request). One invocation per mail: the batch size at low traffic.
MAILER = dict(function="notifications-mailer", measured_as="notifications-mailer", aws_calls=6, work_ms=0.0,
              read_units=3, write_units=2, sqs=2, mails_per_invocation=1)

# Each event, in audit-writer (shared/src/lifecycle/audit.rs, shared/src/store/audit.rs): one
# TransactWrite of the organization's ConditionCheck and the entry's conditional Put (2 x 2;
# an entry is under 1 KB, no index projects it). The event source mapping receives and
# deletes the message (1 + 1). One invocation per event, as for the mailer.
AUDIT_WRITER = dict(function="audit-writer", measured_as=None, aws_calls=1, work_ms=0.0,
                    read_units=0, write_units=2 * 2, sqs=2, events_per_invocation=1)

# Account lifecycle requests: rare next to the mix above, so priced per 1,000 requests in a
# section of their own (read from shared/src/auth/account.rs and shared/src/store/account_tokens.rs).
LIFECYCLE = {
    # Two throttle counts (email, address: UpdateItem), GetItem of the credentials,
    # TransactWrite of the credentials' reset, the lookup and the outbox marker (3 x 2) +
    # the lookup's lookups-by-owner entry + outbox-by-age. No Publish: the re-publisher
    # publishes it (its Query, Publish, the marker's DeleteItem + outbox-by-age), and the mailer.
    "password reset request": dict(function="auth-password-reset", measured_as=None, aws_calls=4, work_ms=0.0, sqs=0,
                                   events=1, mails=1, read_units=1, write_units=2 + 3 * 2 + 1 + 1 + 2),
    # The address's password-throttle count, GetItem of the lookup, the credentials and the
    # user, argon2id, TransactWrite of the credentials (password and credential version),
    # the lookup delete (+ its index entry) and the user (verified, credential version):
    # 3 x 2 + 1. Every session ends by the version: no call per session.
    "password reset confirm": dict(function="auth-password-reset-confirm", measured_as=None, aws_calls=5,
                                   work_ms=ARGON2_VERIFY_MS, sqs=0, mails=0, read_units=3, write_units=1 + 3 * 2 + 1),
    # GetItem of the lookup and of the user; TransactWrite of the lookup delete and the user
    # (2 x 2) + the index entry.
    "email verification": dict(function="auth-verify-email", measured_as=None, aws_calls=3, work_ms=0.0, sqs=0, mails=0,
                               read_units=2, write_units=2 * 2 + 1),
    # GetItem of the user, two throttle counts, TransactWrite of the check, lookup and marker
    # (3 x 2) + two index entries; Publish; the marker's DeleteItem (1 + 1).
    "verification resend": dict(function="auth-verify-email-resend", measured_as=None, aws_calls=6, work_ms=0.0, sqs=0,
                                events=1, mails=1, read_units=1, write_units=2 + 3 * 2 + 2 + 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # GetItem of the requester; TransactWrite of the caller's check, the organization's mark
    # and the outbox marker (3 x 2) + outbox-by-age; Publish; the marker's DeleteItem.
    "organization deletion request": dict(function="organizations-delete", measured_as=None, aws_calls=5, work_ms=0.0,
                                          sqs=0, events=1, mails=0, read_units=1, write_units=3 * 2 + 1 + 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # TransactWrite of the caller's check, the organization's running slot, the export item
    # and the outbox marker (4 x 2) + outbox-by-age; Publish; the marker's DeleteItem.
    "organization export request": dict(function="organizations-export-create", measured_as=None, aws_calls=4, work_ms=0.0,
                                        sqs=0, events=1, mails=0, read_units=0, write_units=4 * 2 + 1 + 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # A poll that hands out a link: one BatchGetItem of the export, the caller and the
    # organization (strongly consistent, under 4 KB each); the link is signed locally, and
    # its export.downloaded event published (for the audit log) before the answer.
    "export poll": dict(function="organizations-export-status", measured_as=None, aws_calls=3, work_ms=0.0, sqs=0,
                        events=1, mails=0, read_units=3, write_units=RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # tasks-create with an Idempotency-Key: the claim's conditional Put (1) before it, and the
    # answer's Update inside the task's transaction (1 x 2).
    "task create with Idempotency-Key": dict(function="tasks-create", measured_as=None, aws_calls=5, work_ms=0.0,
                                             sqs=0, events=1, mails=1, read_units=0, write_units=3 * 2 + 2 + 2 + 1 + 2 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
    # A retry of it: the claim's Put fails its condition (still 1 write unit), then a
    # strongly consistent GetItem of the record; nothing else runs.
    "replayed POST (Idempotency-Key)": dict(function="tasks-create", measured_as=None, aws_calls=3, work_ms=0.0, sqs=0,
                                            mails=0, read_units=1, write_units=1 + RATE_COUNTER_WRITE_UNITS, rate_counted=True),
}

# An organization's deletion (shared/src/store/deletion.rs), per item it holds: one delete
# (1 write unit) and one more per index entry of the item (a task: tasks-by-status, and two
# more when assigned; a lookup: lookups-by-owner), read back first by a strongly consistent
# Query (4 KB per read unit). Per batch of DELETION_BATCH items: one invocation and three SQS
# requests (the mapping's receive and delete, the next batch's SendMessage).
DELETION_BATCH = 1000
DELETION_INDEX_ENTRIES_PER_ITEM = 1.5  # assumed: half of the tasks assigned
DELETION_BATCH_SECONDS = 2.0  # assumed: 1,000 deletes in 40 BatchWriteItems and 5 Queries
DELETION_MEMORY_MB = 128

# An organization's export (shared/src/lifecycle/exporter.rs), per task it holds: its share
# of strongly consistent 1 MB Query pages (4 KB per read unit), of 8 MiB upload parts, and of
# a day's storage; per export, one invocation of the exporter, three SQS requests, one
# GetItem each of the export and the organization, the recording transaction (2 x 2), and
# one download. The exporter's pace is assumed, not measured.
EXPORT_MEMORY_MB = 512
EXPORT_TASKS_PER_SECOND = 20_000  # assumed: a 1 MB page (about 2,000 tasks) per 100 ms
EXPORT_PART_MB = 8
EXPORT_TASK_JSON_KB = 0.6  # assumed: a task's JSON in the document, a little over its item

# Webhook deliveries (shared/src/lifecycle/webhooks.rs), per event of a type webhooks receive,
# each time its message is handed out: a share of one invocation per batch of WEBHOOK_BATCH
# messages (deliveries run concurrently, so a batch lasts about as long as its slowest
# endpoint: WEBHOOK_BATCH_SECONDS assumed) and of the mapping's receive and delete; one
# strongly consistent Query of the organization's webhooks (WEBHOOK_ITEM_KB each, 4 KB per
# read unit). Per webhook that wants it: a GetItem of its delivery record (1 read unit,
# charged when missing too) and the UpdateItem that appends the attempt (the record with up to
# 1 KB of the answer: WEBHOOK_RECORD_WRITE_UNITS). An attempt to try again comes back with
# its message, whose back-off is one ChangeMessageVisibility. `failing_since` is written
# only when it changes (the first failure, the next success): left out. The SNS Publish is
# the event's, counted where the event is.
WEBHOOK_BATCH = 10
WEBHOOK_BATCH_SECONDS = 0.5  # assumed: endpoints answering within 0.5 s
WEBHOOK_ITEM_KB = 0.7  # assumed: a webhook's item, URL, types and two sealed secrets
WEBHOOK_RECORD_WRITE_UNITS = 2
WEBHOOK_MEMORY_MB = 256

COLD_START_SHARE = 0.01  # assumed: 1 invocation in 100 starts a new execution environment
DEFAULT_CALL_MS = 5.0  # one AWS call in-region, when no measured function gives it
DEFAULT_COLD_EXTRA_MS = 20.0  # a cold start's extra time, when no measured function gives it
CALL_MS_FROM = "tasks-get"  # measured function that makes exactly one AWS call (GetItem)


def memory_sizes(template_text):
    """MemorySize in MB per function binary in a SAM template: Globals' value, or the
    function's own. A line-based read of the template's layout (two-space indent), which
    CloudFormation tags (!Ref, !GetAtt) do not disturb; test_cost.py checks it against YAML."""
    globals_match = re.search(r"^Globals:\n(?:[ \t].*\n|\n)*?    MemorySize: (\d+)", template_text, re.M)
    default = int(globals_match.group(1)) if globals_match else 128  # Lambda's own default
    resources = template_text.split("\nResources:\n", 1)[1] if "\nResources:\n" in template_text else ""
    resources = re.split(r"\n(?=\S)", resources, maxsplit=1)[0]  # up to the next top-level key
    sizes = {}
    for block in re.split(r"\n(?=  [A-Za-z0-9]+:)", resources):
        if not re.search(r"^    Type: AWS::Serverless::Function\s*$", block, re.M):
            continue
        binary = re.search(r"^        Binary: (\S+)", block, re.M)
        if not binary:
            continue
        own = re.search(r"^      MemorySize: (\d+)", block, re.M)
        sizes[binary.group(1)] = int(own.group(1)) if own else default
    return sizes


def _measured(functions, name, key):
    value = functions.get(name, {}).get(key)
    return value.get("median") if isinstance(value, dict) else None


def _call_ms(functions):
    measured = _measured(functions, CALL_MS_FROM, "warm_ms")
    if measured is not None:
        return measured, f"{CALL_MS_FROM}'s measured warm median"
    return DEFAULT_CALL_MS, "assumed"


def _cold_extra_ms(functions):
    """Median over the measured functions that call AWS of cold minus warm median."""
    extras = [
        f["cold_start_ms"]["median"] - f["warm_ms"]["median"]
        for name, f in functions.items()
        if name not in ("bench-hello", "health") and "median" in f.get("cold_start_ms", {}) and "median" in f.get("warm_ms", {})
    ]
    return statistics.median(extras) if extras else DEFAULT_COLD_EXTRA_MS


def _lambda_row(kind, spec, functions, memory_mb, call_ms, call_source, cold_extra, cold_share):
    function = spec["function"]
    measured_as = spec.get("measured_as")
    warm = _measured(functions, measured_as, "warm_ms") if measured_as else None
    cold = _measured(functions, measured_as, "cold_start_ms") if measured_as else None
    if warm is not None:
        source = "measured"
    else:
        warm = spec["aws_calls"] * call_ms + spec["work_ms"]
        parts = [f"{spec['aws_calls']} AWS calls x {call_ms:.1f} ms ({call_source})"]
        if spec["work_ms"]:
            parts.append(f"{spec['work_ms']:.0f} ms of work (a parameter)")
        source = "estimated: " + " + ".join(parts)
    if cold is None:
        cold = warm + cold_extra
    if function not in memory_mb:
        raise KeyError(f"{function} is not in the template's functions")
    billed_ms = (1 - cold_share) * math.ceil(warm) + cold_share * math.ceil(cold)
    memory = memory_mb[function]
    return {
        "kind": kind, "function": function, "memory_mb": memory, "warm_ms": warm, "cold_ms": cold,
        "billed_ms": billed_ms, "duration_source": source, "gb_seconds": memory / 1024 * billed_ms / 1000,
    }


def _units(spec, functions):
    measured = functions.get(spec.get("measured_as"), {}).get("dynamodb") if spec.get("measured_as") else None
    if isinstance(measured, dict) and "read_units" in measured and "write_units_base" in measured:
        writes = max(float(spec["write_units"]), float(measured["write_units_base"]))
        return float(measured["read_units"]), writes, "reads measured, writes code"
    return float(spec["read_units"]), float(spec["write_units"]), "code"


def breakdown(results, memory_mb, mix=None, requests=None, mailer=None, prices=None, cold_start_share=COLD_START_SHARE,
              audit_writer=None):
    """The cost of one million requests of `mix`, per component and per request kind, in USD.
    `results` is bench/results.json's content, `memory_mb` maps a function to its MemorySize."""
    mix = MIX if mix is None else mix
    requests = REQUESTS if requests is None else requests
    mailer = MAILER if mailer is None else mailer
    audit_writer = AUDIT_WRITER if audit_writer is None else audit_writer
    prices = PRICES if prices is None else prices
    if abs(sum(mix.values()) - 1) > 1e-9:
        raise ValueError(f"the workload's shares add up to {sum(mix.values())}, not 1")
    functions = results.get("functions", {})
    call_ms, call_source = _call_ms(functions)
    cold_extra = _cold_extra_ms(functions)
    million = 1e6

    rows = []
    for kind, share in mix.items():
        spec = requests[kind]
        row = _lambda_row(kind, spec, functions, memory_mb, call_ms, call_source, cold_extra, cold_start_share)
        read_units, write_units, units_source = _units(spec, functions)
        row.update({
            "share": share, "invocations": share, "read_units": read_units, "write_units": write_units,
            "units_source": units_source, "sqs": spec["sqs"], "events": spec.get("events", 0), "mails": spec["mails"],
            "http_api": share,
        })
        rows.append(row)
    events = sum(r["share"] * r["events"] for r in rows)
    mails = sum(r["share"] * r["mails"] for r in rows)
    if mails:
        row = _lambda_row("each mail (SQS-triggered)", mailer, functions, memory_mb, call_ms, call_source, cold_extra, cold_start_share)
        read_units, write_units, units_source = _units(mailer, functions)
        row.update({
            "share": mails, "invocations": mails / mailer["mails_per_invocation"], "read_units": read_units,
            "write_units": write_units, "units_source": units_source, "sqs": mailer["sqs"], "events": 0, "mails": 0,
            "http_api": 0.0,
        })
        rows.append(row)
    if events:
        row = _lambda_row("each event (audit writer)", audit_writer, functions, memory_mb, call_ms, call_source, cold_extra,
                          cold_start_share)
        read_units, write_units, units_source = _units(audit_writer, functions)
        row.update({
            "share": events, "invocations": events / audit_writer["events_per_invocation"], "read_units": read_units,
            "write_units": write_units, "units_source": units_source, "sqs": audit_writer["sqs"], "events": 0, "mails": 0,
            "http_api": 0.0,
        })
        rows.append(row)

    for r in rows:
        # Per million API requests of the mix; `share` counts this row's occurrences per request.
        r["usd"] = {
            "Lambda duration": r["invocations"] * r["gb_seconds"] * prices["lambda_gb_second"] * million,
            "Lambda requests": r["invocations"] * prices["lambda_request"] * million,
            "HTTP API": r["http_api"] * prices["http_api_request"] * million,
            "DynamoDB reads": r["share"] * r["read_units"] * prices["dynamodb_read_unit"] * million,
            "DynamoDB writes": r["share"] * r["write_units"] * prices["dynamodb_write_unit"] * million,
            "SQS": r["share"] * r["sqs"] * prices["sqs_request"] * million,
            "SNS": r["share"] * r["events"] * prices["sns_publish"] * million,
            "SES": r["share"] * r["mails"] * prices["ses_mail"] * million,
        }
        r["usd_total"] = sum(r["usd"].values())
    components = {name: sum(r["usd"][name] for r in rows) for name in rows[0]["usd"]}
    counted = sum(share for kind, share in mix.items() if requests[kind].get("rate_counted"))
    rate_counter = {
        "share": counted,
        "usd": counted * RATE_COUNTER_WRITE_UNITS * prices["dynamodb_write_unit"] * million,
        "sparse_usd": counted * RATE_COUNTER_SPARSE_WRITE_UNITS * prices["dynamodb_write_unit"] * million,
    }
    return {
        "rate_counter": rate_counter,
        "prices": dict(prices),
        "mix": dict(mix),
        "cold_start_share": cold_start_share,
        "call_ms": call_ms,
        "cold_extra_ms": cold_extra,
        "rows": rows,
        "components": components,
        "total": sum(components.values()),
    }


def lifecycle(results, memory_mb, prices=None, requests=None):
    """USD per 1,000 of each account lifecycle request, its mails included (the mailer's part
    as in the mix)."""
    prices = PRICES if prices is None else prices
    requests = LIFECYCLE if requests is None else requests
    functions = results.get("functions", {})
    call_ms, call_source = _call_ms(functions)
    cold_extra = _cold_extra_ms(functions)
    mailer = _lambda_row("mail", MAILER, functions, memory_mb, call_ms, call_source, cold_extra, COLD_START_SHARE)
    mailer_reads, mailer_writes, _ = _units(MAILER, functions)
    mail_usd = (
        mailer["gb_seconds"] * prices["lambda_gb_second"] + prices["lambda_request"]
        + mailer_reads * prices["dynamodb_read_unit"] + mailer_writes * prices["dynamodb_write_unit"]
        + MAILER["sqs"] * prices["sqs_request"] + prices["ses_mail"]
    )
    auditing = _lambda_row("event", AUDIT_WRITER, functions, memory_mb, call_ms, call_source, cold_extra, COLD_START_SHARE)
    audit_reads, audit_writes, _ = _units(AUDIT_WRITER, functions)
    event_usd = (
        prices["sns_publish"] + auditing["gb_seconds"] * prices["lambda_gb_second"] + prices["lambda_request"]
        + audit_reads * prices["dynamodb_read_unit"] + audit_writes * prices["dynamodb_write_unit"]
        + AUDIT_WRITER["sqs"] * prices["sqs_request"]
    )
    rows = []
    for kind, spec in requests.items():
        row = _lambda_row(kind, spec, functions, memory_mb, call_ms, call_source, cold_extra, COLD_START_SHARE)
        reads, writes, _ = _units(spec, functions)
        usd = (
            row["gb_seconds"] * prices["lambda_gb_second"] + prices["lambda_request"] + prices["http_api_request"]
            + reads * prices["dynamodb_read_unit"] + writes * prices["dynamodb_write_unit"]
            + spec["sqs"] * prices["sqs_request"] + spec.get("events", 0) * event_usd + spec["mails"] * mail_usd
        )
        rows.append({**row, "read_units": reads, "write_units": writes, "usd_per_1000": usd * 1000})
    return rows


def deletion(items, memory_mb=DELETION_MEMORY_MB, prices=None, item_kb=TASK_ITEM_KB, batch=DELETION_BATCH,
             index_entries=DELETION_INDEX_ENTRIES_PER_ITEM, batch_seconds=DELETION_BATCH_SECONDS):
    """What deleting an organization of `items` items costs, in USD, by component."""
    prices = PRICES if prices is None else prices
    batches = max(1, math.ceil(items / batch))
    usd = {
        "DynamoDB writes": items * (1 + index_entries) * prices["dynamodb_write_unit"],
        "DynamoDB reads": math.ceil(items * item_kb / 4) * prices["dynamodb_read_unit"],
        "Lambda": batches * (memory_mb / 1024 * batch_seconds * prices["lambda_gb_second"] + prices["lambda_request"]),
        "SQS": batches * 3 * prices["sqs_request"],
        "SES": prices["ses_mail"],
    }
    return {"items": items, "batches": batches, "usd": usd, "total": sum(usd.values())}


def export(tasks, memory_mb=EXPORT_MEMORY_MB, prices=None, item_kb=TASK_ITEM_KB, json_kb=EXPORT_TASK_JSON_KB,
           tasks_per_second=EXPORT_TASKS_PER_SECOND):
    """What exporting an organization of `tasks` tasks costs, in USD, by component."""
    prices = PRICES if prices is None else prices
    size_mb = tasks * json_kb / 1024
    parts = max(1, math.ceil(size_mb / EXPORT_PART_MB))
    # One PutObject, or the upload's creation, its parts and its completion.
    puts = 1 if parts == 1 else parts + 2
    seconds = 0.1 + tasks / tasks_per_second
    usd = {
        "DynamoDB": (math.ceil(tasks * item_kb / 4) + 2) * prices["dynamodb_read_unit"]
        + 2 * 2 * prices["dynamodb_write_unit"],
        "Lambda": memory_mb / 1024 * seconds * prices["lambda_gb_second"] + prices["lambda_request"],
        "S3": puts * prices["s3_put_request"] + prices["s3_get_request"]
        + size_mb / 1024 * prices["s3_gb_month"] / 30,
        "SQS": 3 * prices["sqs_request"],
    }
    return {"tasks": tasks, "size_mb": size_mb, "parts": parts, "usd": usd, "total": sum(usd.values())}


def lifecycle_markdown(rows, deletions, exports=()):
    lines = [
        "## Account lifecycle and integrations (estimate)",
        "",
        "Rare next to the mix above, so per 1,000 requests, mails included; estimated from the code (`LIFECYCLE` in",
        "`bench/cost.py`), not measured.",
        "",
        "| request | function | read units | write units | billed ms (mean) | $ per 1,000 |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['function']} | {r['read_units']:g} | {r['write_units']:g} | {r['billed_ms']:.2f} | "
            f"{_usd(r['usd_per_1000'])} |"
        )
    lines += [
        "",
        f"Deleting an organization, in batches of {DELETION_BATCH} items ({DELETION_INDEX_ENTRIES_PER_ITEM} index entries an",
        f"item and {DELETION_BATCH_SECONDS:.0f} s a batch assumed):",
        "",
        "| items | batches | $ DynamoDB | $ Lambda | $ SQS + SES | $ total |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in deletions:
        u = d["usd"]
        lines.append(
            f"| {d['items']:,} | {d['batches']} | {_usd(u['DynamoDB writes'] + u['DynamoDB reads'])} | {_usd(u['Lambda'])} | "
            f"{_usd(u['SQS'] + u['SES'])} | {_usd(d['total'])} |"
        )
    if exports:
        lines += [
            "",
            f"Exporting an organization ({EXPORT_TASK_JSON_KB} KB of JSON a task, {EXPORT_TASKS_PER_SECOND:,} tasks a second",
            f"and {EXPORT_MEMORY_MB} MB assumed; kept a day, downloaded once):",
            "",
            "| tasks | document MB | parts | $ DynamoDB | $ Lambda | $ S3 | $ total |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for e in exports:
            u = e["usd"]
            lines.append(
                f"| {e['tasks']:,} | {e['size_mb']:.1f} | {e['parts']} | {_usd(u['DynamoDB'])} | {_usd(u['Lambda'])} | "
                f"{_usd(u['S3'])} | {_usd(e['total'])} |"
            )
    return "\n".join(lines + [""])


def webhook_deliveries(events, webhooks=1, attempts=1.0, memory_mb=WEBHOOK_MEMORY_MB, prices=None,
                       batch=WEBHOOK_BATCH, batch_seconds=WEBHOOK_BATCH_SECONDS, item_kb=WEBHOOK_ITEM_KB):
    """What delivering `events` events to `webhooks` webhooks each costs, in USD, by
    component, when each delivery takes `attempts` attempts on average (every webhook of an
    event alike)."""
    prices = PRICES if prices is None else prices
    receives = events * attempts
    batches = receives / batch
    query_units = max(1, math.ceil(webhooks * item_kb / 4))
    usd = {
        "DynamoDB": receives * (query_units + webhooks) * prices["dynamodb_read_unit"]
        + receives * webhooks * WEBHOOK_RECORD_WRITE_UNITS * prices["dynamodb_write_unit"],
        "Lambda": batches * (memory_mb / 1024 * batch_seconds * prices["lambda_gb_second"] + prices["lambda_request"]),
        "SQS": batches * 2 * prices["sqs_request"] + events * (attempts - 1) * prices["sqs_request"],
    }
    return {"events": events, "webhooks": webhooks, "attempts": attempts, "usd": usd, "total": sum(usd.values())}


def webhooks_markdown(rows):
    lines = [
        "",
        f"Delivering webhooks, per million events ({WEBHOOK_BATCH} messages a batch lasting {WEBHOOK_BATCH_SECONDS} s, "
        f"{WEBHOOK_MEMORY_MB} MB assumed;",
        "the event's own Publish is counted with the request that made it):",
        "",
        "| webhooks an event | attempts a delivery | $ DynamoDB | $ Lambda | $ SQS | $ total |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in rows:
        u = w["usd"]
        lines.append(
            f"| {w['webhooks']} | {w['attempts']:g} | {_usd(u['DynamoDB'])} | {_usd(u['Lambda'])} | {_usd(u['SQS'])} | "
            f"{_usd(w['total'])} |"
        )
    return "\n".join(lines + [""])


def _usd(value):
    return f"{value:.2f}" if value >= 0.995 else f"{value:.3f}" if value >= 0.0995 else f"{value:.4f}"


def markdown(b):
    """The report's section for a breakdown()."""
    p = b["prices"]
    lines = [
        "## Cost per million requests (estimate)",
        "",
        "Prices: us-east-1, 2026, from the AWS pricing pages, to be checked: Lambda arm64 "
        f"${p['lambda_gb_second']:.10f} per GB-s and ${p['lambda_request'] * 1e6:.2f} per million requests, HTTP API "
        f"${p['http_api_request'] * 1e6:.2f} per million, DynamoDB on-demand ${p['dynamodb_read_unit'] * 1e6:.3f} per million "
        f"read units and ${p['dynamodb_write_unit'] * 1e6:.3f} per million write units, SQS ${p['sqs_request'] * 1e6:.2f} "
        f"per million requests, SNS ${p['sns_publish'] * 1e6:.2f} per million publishes, SES ${p['ses_mail'] * 1000:.2f} per"
        " 1,000 mails. First tier, no free tier.",
        "",
        "Workload: " + ", ".join(f"{kind} {share:.1%}" for kind, share in b["mix"].items()) + ".",
        "Every figure below is USD per million API requests of that mix; the events and mails they cause are counted with",
        "them (each event: a Publish and the audit writer's entry).",
        "DynamoDB read units are the measured ones (the table above) where a request kind was measured; write units,",
        "SQS requests and mails are counted from the code (`REQUESTS` in `bench/cost.py`), as the measured writes leave",
        "out the index entries each write adds.",
        "",
        "### Lambda",
        "",
        f"Billed duration: the warm median rounded up to 1 ms; {b['cold_start_share']:.0%} of invocations are cold and billed at",
        f"the cold-start median (init included). Unmeasured functions are estimated from their sequential AWS calls at",
        f"{b['call_ms']:.1f} ms each, plus {b['cold_extra_ms']:.1f} ms when cold. Measured figures come from this machine (x86_64, a",
        "local emulator), not from Lambda's arm64 at the configured memory.",
        "",
        "| request | function | per request | memory MB | warm ms | billed ms (mean) | duration | GB-s per invocation | $ duration | $ requests |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in b["rows"]:
        lines.append(
            f"| {r['kind']} | {r['function']} | {r['invocations']:.3f} | {r['memory_mb']} | {r['warm_ms']:.2f} | {r['billed_ms']:.2f} | "
            f"{r['duration_source']} | {r['gb_seconds']:.6f} | {_usd(r['usd']['Lambda duration'])} | {_usd(r['usd']['Lambda requests'])} |"
        )
    lines += [
        "",
        "### DynamoDB, SQS, SNS, SES, HTTP API",
        "",
        "| request | per request | read units | write units | units from | SQS requests | events | mails | $ DynamoDB | $ SQS | $ SNS | $ SES | $ HTTP API |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in b["rows"]:
        ddb = r["usd"]["DynamoDB reads"] + r["usd"]["DynamoDB writes"]
        lines.append(
            f"| {r['kind']} | {r['share']:.3f} | {r['read_units']:g} | {r['write_units']:g} | {r['units_source']} | {r['sqs']:g} | "
            f"{r['events']:g} | {r['mails']:g} | {_usd(ddb)} | {_usd(r['usd']['SQS'])} | {_usd(r['usd']['SNS'])} | "
            f"{_usd(r['usd']['SES'])} | {_usd(r['usd']['HTTP API'])} |"
        )
    lines += [
        "",
        "### Total",
        "",
        "| component | $ per million requests | share |",
        "| --- | ---: | ---: |",
    ]
    for name, usd in sorted(b["components"].items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {_usd(usd)} | {usd / b['total']:.1%} |")
    rc = b["rate_counter"]
    lines += [
        f"| **total** | **{_usd(b['total'])}** | |",
        "",
        f"Of which the organizations' request counters (rate limits): one lease (1 write unit) per {DEFAULT_LEASE} authenticated",
        f"requests ({rc['share']:.1%} of the mix), {_usd(rc['usd'])} per million requests; an organization that sends one request",
        f"per window leases each time and pays {RATE_COUNTER_SPARSE_WRITE_UNITS} units and a second call, {_usd(rc['sparse_usd'])}.",
        "",
        "Not counted: CloudWatch Logs ingestion and X-Ray traces (Tracing is Active), Secrets Manager calls at cold start,",
        "the SQS event source mapping's empty long polls (a fixed cost per month, not per request), data transfer, storage,",
        "point-in-time recovery, and the free tiers.",
        "",
    ]
    return "\n".join(lines)


def section(results, template_path):
    """The report's sections, from results and the template file."""
    memory_mb = memory_sizes(Path(template_path).read_text())
    deletions = [deletion(n, memory_mb.get("organizations-deleter", DELETION_MEMORY_MB)) for n in (1_000, 100_000)]
    exports = [export(n, memory_mb.get("organizations-exporter", EXPORT_MEMORY_MB)) for n in (10_000, 1_000_000)]
    dispatcher_mb = memory_mb.get("webhooks-dispatcher", WEBHOOK_MEMORY_MB)
    deliveries = [webhook_deliveries(1e6, w, a, dispatcher_mb) for w, a in ((1, 1.0), (5, 1.0), (1, 3.0))]
    return markdown(breakdown(results, memory_mb)) + "\n" + lifecycle_markdown(
        lifecycle(results, memory_mb), deletions, exports
    ) + webhooks_markdown(deliveries)


def main(argv):
    root = Path(__file__).resolve().parents[1]
    args = [a for a in argv if not a.startswith("--")]
    results_path = Path(args[0]) if args else root / "bench" / "results.json"
    template_path = Path(args[1]) if len(args) > 1 else root / "template.yaml"
    results = json.loads(results_path.read_text())
    if "--json" in argv:
        print(json.dumps(breakdown(results, memory_sizes(template_path.read_text())), indent=1))
    else:
        print(section(results, template_path))


if __name__ == "__main__":
    main(sys.argv[1:])
