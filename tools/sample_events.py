"""Writes events/<function>.json: one sample event per function, for `sam local invoke
<Function> -e events/<function>.json` and the local stack's Invoke API (README, Sample
events). The routes' events are API Gateway HTTP API payload 2.0, as API Gateway (and
`sam local generate-event apigateway http-api-proxy`) make them; the queue consumers get an
SQS batch of one TaskFlow event; the re-publisher its EventBridge schedule event.

What a sample cannot know is a `${NAME}` placeholder, to fill in with `envsubst` (the README
shows how) or by the test that hands every sample to its function (e2e/tests/api/samples.rs):
ACCESS_TOKEN, REFRESH_TOKEN, MAIL_TOKEN, EMAIL, PASSWORD, NEW_PASSWORD, TASK_ID, USER_ID,
INVITATION_ID, EXPORT_ID, EVENT_ID, ORGANIZATION_ID, ORGANIZATION_SLUG, API_KEY_ID, WEBHOOK_ID,
WEBHOOK_URL (a receiver of yours: the local stacks deliver only to loopback).

    python3 tools/sample_events.py          write them
    python3 tools/sample_events.py --check  fail when a committed one differs or is missing
"""

import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
# A fixed instant, so that the samples do not change on every run.
TIME, TIME_EPOCH_MS = "02/Dec/2026:09:00:00 +0000", 1796202000000
OCCURRED_AT = "2026-12-02T09:00:00Z"

# What each route's sample sends besides its path: query string and JSON body.
REQUESTS = {
    "auth-register": {"body": {"email": "${EMAIL}", "password": "${PASSWORD}",
                               "organization_name": "Sample Org", "organization_slug": "${ORGANIZATION_SLUG}"}},
    "auth-login": {"body": {"email": "${EMAIL}", "password": "${PASSWORD}"}},
    "auth-refresh": {"body": {"refresh_token": "${REFRESH_TOKEN}"}},
    "auth-password": {"body": {"current_password": "${PASSWORD}", "new_password": "${NEW_PASSWORD}"}},
    "auth-accept-invitation": {"body": {"token": "${MAIL_TOKEN}", "password": "${PASSWORD}"}},
    "auth-password-reset": {"body": {"email": "${EMAIL}"}},
    "auth-password-reset-confirm": {"body": {"token": "${MAIL_TOKEN}", "new_password": "${NEW_PASSWORD}"}},
    "auth-verify-email": {"body": {"token": "${MAIL_TOKEN}"}},
    "users-list": {"query": {"limit": "20"}},
    "users-update": {"body": {"role": "admin"}},
    "invitations-create": {"body": {"email": "${EMAIL}", "role": "member"}},
    "invitations-list": {"query": {"limit": "20"}},
    "tasks-create": {"body": {"title": "Write the quarterly report", "priority": "high"}},
    "tasks-list": {"query": {"limit": "20", "status": "todo"}},
    "tasks-update": {"body": {"status": "in_progress"}},
    "organizations-update": {"body": {"name": "Sample Org, renamed"}},
    "organizations-delete": {"body": {"confirm_slug": "${ORGANIZATION_SLUG}"}},
    "audit-list": {"query": {"limit": "20"}},
    "api-keys-create": {"body": {"name": "CI pipeline", "role": "member"}},
    "api-keys-list": {"query": {"limit": "20"}},
    "webhooks-create": {"body": {"url": "${WEBHOOK_URL}", "event_types": ["task.created"],
                                 "description": "Sample receiver"}},
    "webhooks-list": {"query": {"limit": "20"}},
    "webhooks-update": {"body": {"enabled": False}},
    "webhooks-deliveries": {"query": {"limit": "20"}},
}
# Routes anyone may call; every other route's sample carries the access token.
PUBLIC = {"health", "openapi", "docs", "auth-register", "auth-login", "auth-refresh", "auth-accept-invitation",
          "auth-password-reset", "auth-password-reset-confirm", "auth-verify-email"}
# Path parameters, by the function whose path has them.
PATH_IDS = {"id": {"users": "${USER_ID}", "tasks": "${TASK_ID}", "invitations": "${INVITATION_ID}",
                    "api": "${API_KEY_ID}", "webhooks": "${WEBHOOK_ID}"},
            "export_id": {"organizations": "${EXPORT_ID}"}}

# The queue consumers: the event their sample carries (a TaskFlow event, schema version 2).
QUEUED = {
    "notifications-mailer": {"type": "task.created", "task_id": "${TASK_ID}", "recipient_id": "${USER_ID}"},
    "audit-writer": {"type": "task.created", "task_id": "${TASK_ID}", "recipient_id": "${USER_ID}"},
    "webhooks-dispatcher": {"type": "task.created", "task_id": "${TASK_ID}", "recipient_id": "${USER_ID}"},
    "organizations-deleter": {"type": "organization.deletion_requested", "requested_by": "${USER_ID}"},
    "organizations-exporter": {"type": "organization.export_requested", "export_id": "${EXPORT_ID}",
                               "requested_by": "${USER_ID}"},
}
QUEUES = {"notifications-mailer": "taskflow-notifications", "audit-writer": "taskflow-audit",
          "webhooks-dispatcher": "taskflow-webhooks",
          "organizations-deleter": "taskflow-deletions", "organizations-exporter": "taskflow-exports"}


def routes():
    """{function: (method, path)} from the workspace's router table (Cargo.toml)."""
    metadata = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return {r["function"]: (r["method"], path) for path, rs in metadata.items() for r in rs}


def http_event(function, method, path):
    request = REQUESTS.get(function, {})
    group = function.split("-", 1)[0]
    parameters = {name: PATH_IDS.get(name, {}).get(group, "${" + name.upper() + "}")
                  for name in re.findall(r"\{(\w+)\}", path)}
    raw_path = path
    for name, value in parameters.items():
        raw_path = raw_path.replace(f"{{{name}}}", value)
    query = request.get("query", {})
    headers = {"accept": "application/json", "host": "localhost:8000", "user-agent": "taskflow-sample-event"}
    if function not in PUBLIC:
        headers["authorization"] = "Bearer ${ACCESS_TOKEN}"
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": raw_path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": headers,
    }
    if query:
        event["queryStringParameters"] = query
    if parameters:
        event["pathParameters"] = parameters
    event["requestContext"] = {
        "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
        "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": "taskflow-sample-event"},
        "requestId": f"sample-{function}", "routeKey": f"{method} {path}", "stage": "$default",
        "time": TIME, "timeEpoch": TIME_EPOCH_MS,
    }
    if "body" in request:
        headers["content-type"] = "application/json"
        event["body"] = json.dumps(request["body"])
    event["isBase64Encoded"] = False
    return event


def sqs_event(function):
    kind = QUEUED[function]
    body = {"schema_version": 2, "event_id": "${EVENT_ID}", "organization_id": "${ORGANIZATION_ID}",
            "occurred_at": OCCURRED_AT, "actor": {"type": "user", "id": "${USER_ID}"}, **kind}
    queue = QUEUES[function]
    return {"Records": [{
        "messageId": f"sample-{function}", "receiptHandle": f"sample-{function}", "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(TIME_EPOCH_MS)},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}", "awsRegion": "us-east-1",
    }]}


def schedule_event():
    return {"version": "0", "id": "sample-schedule", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": OCCURRED_AT, "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/taskflow-republisher"], "detail": {}}


def samples():
    """{file name: JSON text} for every function crate."""
    by_route = routes()
    found = {}
    for crate in sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists()):
        if crate in by_route:
            event = http_event(crate, *by_route[crate])
        elif crate in QUEUED:
            event = sqs_event(crate)
        elif crate == "notifications-republisher":
            event = schedule_event()
        else:
            raise SystemExit(f"sample_events.py: no sample for function {crate}: add it here")
        found[f"{crate}.json"] = json.dumps(event, indent=2) + "\n"
    return found


def main(argv):
    wanted = samples()
    if "--check" in argv:
        present = {p.name for p in EVENTS.glob("*.json")}
        stale = sorted(n for n, text in wanted.items() if not (EVENTS / n).exists() or (EVENTS / n).read_text() != text)
        extra = sorted(present - set(wanted))
        if stale or extra:
            print(f"events/ is out of date (stale or missing: {stale}; no such function: {extra}); "
                  "run python3 tools/sample_events.py", file=sys.stderr)
            return 1
        return 0
    EVENTS.mkdir(exist_ok=True)
    for name, text in wanted.items():
        (EVENTS / name).write_text(text)
    for stale in {p.name for p in EVENTS.glob("*.json")} - set(wanted):
        (EVENTS / stale).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
