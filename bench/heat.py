"""The heat model: where one large organization's requests land in DynamoDB, and the request
rate at which its hottest key would be throttled.

`make bench` runs the functions' own binaries with `AWS_ENDPOINT_URL` pointing at a recording
proxy (`Recorder`, on loopback, in front of the emulator). The proxy reads every DynamoDB
request and answer that passes and tallies, per key value, the capacity DynamoDB's on-demand
rules would charge:
- the table's partition key values, and each index's (an index partition has the same limits);
- reads: 1 unit per 4 KB read (rounded up, at least one), half when eventually consistent,
  twice in a transaction;
- writes: 1 unit per KB written (rounded up), twice in a transaction (a ConditionCheck too); a
  refused conditional write still consumes its units; a put also writes each index whose
  partition key the item carries (1 unit per KB), and removes the entry under the item's old
  index key when that changed (the proxy remembers the index keys of the items it saw).
What it cannot see: the index entries an UpdateItem moves (none of TaskFlow's hot writes moves
one with UpdateItem), items a Query's filter read but did not return.

The projection (`ceilings`) is the rate of requests at which the first key reaches
DynamoDB's limit for one partition key value: 1,000 write units and 3,000 read units a
second. No credit is given for split-for-heat: a key's load is never divided, whatever its
sort keys (an item is never split at all).

The pure part (sizes, touches, ceilings) is unit-tested in bench/test_heat.py; `measure`
drives the local stack.
"""

import concurrent.futures
import http.client
import json
import math
import random
import re
import threading
import time
import tomllib
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

WRITE_LIMIT = 1000.0  # write units a second, per partition key value
READ_LIMIT = 3000.0  # read units a second, per partition key value
TARGET_PREFIX = "DynamoDB_20120810."


# --- DynamoDB's item size ----------------------------------------------------------------

def _number_size(text):
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return 1 + math.ceil(len(digits) / 2) + (1 if text.startswith("-") else 0)


def value_size(value):
    """The bytes DynamoDB counts for one attribute value (its documented item-size rules)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return math.ceil(len(inner) * 3 / 4)  # base64 in the JSON protocol
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(math.ceil(len(b) * 3 / 4) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item):
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size, consistent):
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def write_units(size):
    return float(max(1, math.ceil(size / 1024)))


# --- what one call touches ---------------------------------------------------------------

class Schema:
    """The table's partition and sort key names and each index's partition key name."""

    def __init__(self, partition_key, sort_key, indexes):
        self.partition_key, self.sort_key, self.indexes = partition_key, sort_key, dict(indexes)

    @classmethod
    def of(cls, description):
        """From a DescribeTable answer's `Table`."""
        key = {k["KeyType"]: k["AttributeName"] for k in description["KeySchema"]}
        indexes = {
            index["IndexName"]: next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH")
            for index in description.get("GlobalSecondaryIndexes", [])
        }
        return cls(key["HASH"], key["RANGE"], indexes)

    def item_key(self, item):
        return (_text(item.get(self.partition_key)), _text(item.get(self.sort_key)))

    def index_keys(self, item):
        """{index: partition key value} of the indexes the item is in."""
        return {index: _text(item[attribute]) for index, attribute in self.indexes.items() if attribute in item}


def _text(value):
    if not value:
        return None
    (_, inner), = value.items()
    return inner


class Touch:
    """One partition key value's share of one call: `key` is ("table", pk) or (index, pk);
    `item` the (pk, sk) written, if one item was."""

    __slots__ = ("key", "item", "read", "write")

    def __init__(self, key, item=None, read=0.0, write=0.0):
        self.key, self.item, self.read, self.write = key, item, read, write

    def __eq__(self, other):
        return (self.key, self.item, self.read, self.write) == (other.key, other.item, other.read, other.write)

    def __repr__(self):
        return f"Touch({self.key!r}, {self.item!r}, read={self.read}, write={self.write})"


class Shadow:
    """The index keys of the items the proxy has seen, so a put that moves an item from one
    index key to another, or a delete, is charged on the old key too."""

    def __init__(self, schema):
        self.schema, self.known, self.lock = schema, {}, threading.Lock()

    def saw(self, item):
        with self.lock:
            self.known[self.schema.item_key(item)] = self.schema.index_keys(item)

    def replaced(self, key, item):
        """The index touches of writing `item` (None: deleting) at `key`, and remembers it."""
        new = self.schema.index_keys(item) if item is not None else {}
        with self.lock:
            old = self.known.pop(key, {})
            if item is not None:
                self.known[key] = new
        units = write_units(item_size(item)) if item is not None else 1.0
        touches = [Touch((index, value), write=units) for index, value in new.items()]
        touches += [Touch((index, value), write=1.0) for index, value in old.items() if new.get(index) != value]
        return touches


def _partition_value(request, schema):
    """The partition key value a Query names: the `=` term on the partition key attribute."""
    attribute = schema.indexes.get(request.get("IndexName"), schema.partition_key)
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    for term in request.get("KeyConditionExpression", "").split(" AND "):
        left, _, right = (part.strip() for part in term.partition("="))
        if names.get(left, left) == attribute and right in values:
            return _text(values[right])
    raise ValueError(f"no partition key in {request.get('KeyConditionExpression')!r}")


def touches(action, request, answer, schema, shadow):
    """What one DynamoDB call charged, per key: a list of Touch. `answer` is the parsed
    answer, None when the call was refused: a refused write still consumes its units on the
    table, but writes no index entry (and the items stay as they were)."""
    refused = answer is None
    answer = answer or {}
    table = schema.partition_key

    def write_of(kind, body, factor):
        if kind == "Put":
            item = body["Item"]
            key = schema.item_key(item)
            units = write_units(item_size(item))
            indexes = [] if refused else shadow.replaced(key, item)
            return [Touch(("table", key[0]), key, write=units * factor)] + indexes
        key = schema.item_key(body["Key"])
        if kind == "Delete":
            indexes = [] if refused else shadow.replaced(key, None)
            return [Touch(("table", key[0]), key, write=factor)] + indexes
        return [Touch(("table", key[0]), key, write=factor)]  # Update, ConditionCheck

    if action == "GetItem":
        item = answer.get("Item")
        if item:
            shadow.saw(item)
        key = schema.item_key(request["Key"])
        return [Touch(("table", key[0]), read=read_units(item_size(item or {}), request.get("ConsistentRead", False)))]
    if action == "Query":
        items = answer.get("Items", [])
        for item in items:
            shadow.saw(item)
        index = request.get("IndexName", "table")
        size = sum(item_size(i) for i in items)
        return [Touch((index, _partition_value(request, schema)), read=read_units(size, request.get("ConsistentRead", False)))]
    if action == "BatchGetItem":
        found = []
        for name, wanted in request.get("RequestItems", {}).items():
            consistent = wanted.get("ConsistentRead", False)
            by_key = {schema.item_key(i): i for i in answer.get("Responses", {}).get(name, [])}
            for key in wanted["Keys"]:
                item = by_key.get(schema.item_key(key))
                found.append(Touch(("table", _text(key[table])), read=read_units(item_size(item or {}), consistent)))
        return found
    if action == "TransactGetItems":
        responses = answer.get("Responses", [])
        found = []
        for n, entry in enumerate(request.get("TransactItems", [])):
            item = responses[n].get("Item") if n < len(responses) else None
            found.append(Touch(("table", _text(entry["Get"]["Key"][table])), read=2 * read_units(item_size(item or {}), True)))
        return found
    if action in ("PutItem", "DeleteItem", "UpdateItem"):
        return write_of(action[:-4], request, 1.0)
    if action == "TransactWriteItems":
        found = []
        for entry in request.get("TransactItems", []):
            (kind, body), = entry.items()
            found += write_of(kind, body, 2.0)
        return found
    if action == "BatchWriteItem":
        found = []
        for entries in request.get("RequestItems", {}).values():
            for entry in entries:
                if "PutRequest" in entry:
                    found += write_of("Put", entry["PutRequest"], 1.0)
                else:
                    found += write_of("Delete", entry["DeleteRequest"], 1.0)
        return found
    if action in ("DescribeTable", "DescribeTimeToLive", "ListTables"):
        return []
    raise ValueError(f"the heat model does not know what {action} costs")


# --- the projection ----------------------------------------------------------------------

class Tally:
    """Per route: the requests made, the DynamoDB calls, and the units per key and per item."""

    def __init__(self):
        self.requests = 0
        self.calls = 0
        self.read = defaultdict(float)
        self.write = defaultdict(float)
        self.items = defaultdict(float)

    def add(self, found):
        self.calls += 1
        for touch in found:
            self.read[touch.key] += touch.read
            self.write[touch.key] += touch.write
            if touch.item and touch.write:
                self.items[touch.item] += touch.write


def per_request(tally):
    """{key: (read units, write units)} of one request of the route, on average."""
    n = max(tally.requests, 1)
    keys = set(tally.read) | set(tally.write)
    return {k: (tally.read.get(k, 0.0) / n, tally.write.get(k, 0.0) / n) for k in keys}


def ceiling(load):
    """Requests a second before the first key of `load` ({key: (read, write) per request})
    reaches its limit, and that key; (inf, None) for a load on no key."""
    best, hottest = math.inf, None
    for key, (read, write) in load.items():
        for units, limit in ((read, READ_LIMIT), (write, WRITE_LIMIT)):
            if units > 0 and limit / units < best:
                best, hottest = limit / units, key
    return best, hottest


def mix_load(tallies, weights):
    """The per-request load of a mix: each route's per-request load weighted by its share."""
    total = sum(weights.values())
    load = defaultdict(lambda: (0.0, 0.0))
    for route, weight in weights.items():
        for key, (read, write) in per_request(tallies[route]).items():
            r, w = load[key]
            load[key] = (r + read * weight / total, w + write * weight / total)
    return dict(load)


def item_kind(sk):
    """An item's kind, from its sort key: `TASK#<id>` is `TASK`, `RATE_LIMIT` itself."""
    return (sk or "").split("#", 1)[0]


def write_breakdown(tallies, weights, key):
    """{item kind: write units per request of the mix} on the table partition `key`."""
    total = sum(weights.values())
    kinds = defaultdict(float)
    for route, weight in weights.items():
        tally = tallies[route]
        for (pk, sk), units in tally.items.items():
            if ("table", pk) == key:
                kinds[item_kind(sk)] += units / max(tally.requests, 1) * weight / total
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def unowned_keys(tallies, org_id):
    """{key: write units per request} of the keys the organization's requests wrote whose
    value does not name the organization: keys it shares with others (how many others is the
    key's design: `OUTBOX` was every organization's, each `OUTBOX#nn` about one in eight's)."""
    found = defaultdict(float)
    for tally in tallies.values():
        for key, units in tally.write.items():
            if units > 0 and org_id not in (key[1] or ""):
                found[key] += units / max(tally.requests, 1)
    return dict(found)


def shared_keys(first, second):
    """The keys two organizations' runs both wrote: with two unrelated organizations, a key
    every organization writes (nothing of either's own)."""
    written = lambda tallies: {k for t in tallies.values() for k, units in t.write.items() if units > 0}  # noqa: E731
    return sorted(written(first) & written(second))


def label(key, org_id):
    """A key for the report, the organization's id shortened to `{org}`."""
    index, value = key
    value = value.replace(org_id, "{org}") if value else value
    return f"{value}" if index == "table" else f"{index}: {value}"


# --- the recording proxy -----------------------------------------------------------------

class Recorder:
    """A loopback proxy in front of the emulator that tallies every DynamoDB call under the
    current `route` (set by the driver between runs). Everything else passes untouched."""

    def __init__(self, endpoint, schema):
        target = urlparse(endpoint)
        if target.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise RuntimeError(f"the emulator must be on loopback, not {endpoint!r}")
        self.route = None
        self.tallies = defaultdict(Tally)
        self.errors = []
        self.shadow = Shadow(schema)
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold the second back for tens of milliseconds.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _forward(self):
                route = recorder.route  # the route whose request this call serves, as it arrives
                if self.headers.get("Transfer-Encoding"):
                    recorder.errors.append("a chunked request body (the SDK sends Content-Length)")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                answer = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                upstream.close()
                target_header = self.headers.get("X-Amz-Target", "")
                if target_header.startswith(TARGET_PREFIX):
                    try:
                        recorder.record(route, target_header[len(TARGET_PREFIX):], body, response.status, answer)
                    except Exception as e:  # noqa: BLE001 - a call the model cannot price fails the pass
                        recorder.errors.append(f"{target_header}: {type(e).__name__}: {e}")

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def record(self, route, action, body, status, answer):
        request = json.loads(body or b"{}")
        parsed = json.loads(answer or b"{}") if status == 200 else None
        if parsed is None and action in ("GetItem", "Query", "BatchGetItem", "TransactGetItems"):
            return  # a refused read reads nothing
        found = touches(action, request, parsed, self.shadow.schema, self.shadow)
        with self.lock:
            if route is not None:
                self.tallies[route].add(found)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- the request mix ---------------------------------------------------------------------

# A request mix of an organization whose members work on their tasks: per 100 requests.
MIX = {
    "tasks-get": 35, "tasks-list": 25, "tasks-create": 10, "tasks-update": 10,
    "auth-me": 10, "users-list": 5, "organizations-get": 5,
}
STATUSES = ("todo", "in_progress", "done")


def mix_events(route, n, users, task_ids, api_event, rng):
    """`n` requests of `route` over the organization's `users` ({id: token}) and tasks."""
    ids = list(users)
    events = []
    for _ in range(n):
        user = rng.choice(ids)
        token = users[user]
        if route == "tasks-get":
            task = rng.choice(task_ids)
            events.append(api_event("GET", f"/api/v1/tasks/{task}", token, {"id": task}))
        elif route == "tasks-list":
            query = rng.choice(["limit=20", f"limit=20&status={rng.choice(STATUSES)}",
                                f"limit=20&assignee_id={rng.choice(ids)}",
                                f"limit=20&status={rng.choice(STATUSES)}&assignee_id={rng.choice(ids)}"])
            events.append(api_event("GET", "/api/v1/tasks", token, query=query))
        elif route == "tasks-create":
            events.append(api_event("POST", "/api/v1/tasks", token, body={
                "title": "heat", "status": rng.choice(STATUSES), "assignee_id": rng.choice(ids + [None]),
            }))
        elif route == "tasks-update":
            task = rng.choice(task_ids)
            events.append(api_event("PATCH", f"/api/v1/tasks/{task}", token, {"id": task},
                                    body={"status": rng.choice(STATUSES), "priority": rng.choice(["low", "high"])}))
        elif route == "auth-me":
            events.append(api_event("GET", "/api/v1/auth/me", token))
        elif route == "users-list":
            events.append(api_event("GET", "/api/v1/users", token))
        elif route == "organizations-get":
            events.append(api_event("GET", "/api/v1/organizations/me", token))
        else:
            raise ValueError(route)
    return events


# The queue consumers a task's events reach.
CONSUMERS = ("audit-writer", "notifications-mailer", "webhooks-dispatcher")


def consumer_filters(root=None):
    """{consumer: the event types its subscription takes, or None for all}, read from
    template.yaml (generated from the manifests): the subscription whose endpoint is the
    queue the consumer's manifest names."""
    root = root or Path(__file__).resolve().parents[1]
    template = (root / "template.yaml").read_text()
    filters = {}
    for consumer in CONSUMERS:
        manifest = tomllib.loads((root / "functions" / consumer / "Cargo.toml").read_text())
        queue_id = manifest["package"]["metadata"]["taskflow"]["queue"]["id"]
        found = re.search(r"Endpoint: !GetAtt " + re.escape(queue_id) + r"\.Arn\n(?:(?!\n  \S).)*", template, re.S)
        if not found:
            raise RuntimeError(f"template.yaml has no subscription for {queue_id} ({consumer})")
        types = re.search(r"FilterPolicy:\n\s+type: \[([^\]]*)\]", found.group(0))
        filters[consumer] = [t.strip() for t in types.group(1).split(",")] if types else None
    return filters


def _drain(emulator, queue):
    """Every message on `queue`, in batches of ten (raw SQS messages)."""
    batches = []
    while True:
        got = emulator.sqs("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                                              "VisibilityTimeout": 3600}).get("Messages", [])
        if not got:
            return batches
        batches.append(got)


def report(org_id, tallies, second_org_tallies, weights=MIX):
    """The figures `make bench` keeps: per route and for the mix, the ceiling, its key, the
    calls per request and the hottest keys; the keys both organizations wrote."""
    routes = {}
    for route, tally in sorted(tallies.items()):
        rate, key = ceiling(per_request(tally))
        hottest = sorted(tally.items.items(), key=lambda kv: -kv[1])[:1]
        routes[route] = {
            "requests": tally.requests, "calls_per_request": tally.calls / max(tally.requests, 1),
            "ceiling_per_second": rate, "hottest_key": label(key, org_id) if key else None,
            "hottest_item": [f"{pk.replace(org_id, '{org}')} {sk}" for (pk, sk), _ in hottest][0] if hottest else None,
        }
    load = mix_load(tallies, weights)
    rate, key = ceiling(load)
    top = sorted(load.items(), key=lambda kv: -max(kv[1][0] / READ_LIMIT, kv[1][1] / WRITE_LIMIT))[:8]
    return {
        "mix": weights, "routes": routes,
        "mix_ceiling_per_second": rate, "mix_hottest_key": label(key, org_id) if key else None,
        "mix_calls_per_request": sum(routes[r]["calls_per_request"] * w for r, w in weights.items()) / sum(weights.values()),
        "hottest_keys": [{"key": label(k, org_id), "read_per_request": r, "write_per_request": w} for k, (r, w) in top],
        "mix_hottest_key_writes_by_item": write_breakdown(tallies, weights, key) if key else {},
        "shared_by_organizations": [label(k, org_id) for k in shared_keys(tallies, second_org_tallies)],
        "keys_not_of_the_organization": {label(k, org_id): w for k, w in sorted(unowned_keys(tallies, org_id).items())},
    }


def measure(native, env, http, emulator, api_event, run_function, logs_dir, users=10, tasks=10_000, per_route=200, seed=7):
    """Seeds one organization of `users` users and `tasks` tasks through the running stack,
    then runs each route of the mix `per_route` times in its function's binary through the
    recorder, and the same mix briefly for a second organization; answers `report(...)`."""
    rng = random.Random(seed)
    table = env.get("TASKFLOW_TABLE_NAME", "taskflow")
    schema = Schema.of(emulator.dynamodb("DescribeTable", {"TableName": table})["Table"])

    def organization(n_users, n_tasks, through_api):
        """An organization of `n_users` users with `n_tasks` tasks: `through_api` of them made
        through the API (the ones the mix reads and updates), the rest copies of those written
        straight to the emulator (moto takes minutes for 10,000 creations with their mail),
        found by their organization, not their keys, so the seeding knows no layout."""
        suffix = f"{time.time_ns()}"
        admin_email = f"heat-{suffix}@example.com"
        registered = http("POST", "/api/v1/auth/register", {
            "email": admin_email, "password": "heat-pass-1", "organization_name": "Heat", "organization_slug": f"heat-{suffix}",
        })
        http("POST", "/api/v1/auth/verify-email", {"token": emulator.verification_token(admin_email)})
        tokens = {registered["user"]["id"]: registered["access_token"]}
        org_id = registered["organization"]["id"]
        admin = registered["access_token"]
        for n in range(n_users - 1):
            email = f"heat-{suffix}-{n}@example.com"
            http("POST", "/api/v1/invitations", {"email": email, "role": "member"}, admin)
            accepted = http("POST", "/api/v1/auth/accept-invitation", {"token": emulator.invitation_token(email), "password": "heat-pass-1"})
            tokens[accepted["user"]["id"]] = accepted["access_token"]
        ids = list(tokens)

        def create(i):
            assignee = ids[i % (len(ids) + 1)] if i % (len(ids) + 1) < len(ids) else None
            body = {"title": f"heat {i}", "status": STATUSES[i % 3], "assignee_id": assignee}
            return http("POST", "/api/v1/tasks", body, tokens[ids[i % len(ids)]])["id"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            task_ids = list(pool.map(create, range(through_api)))
        if n_tasks > through_api:
            stored = emulator.scan_all(table, "organization_id = :org AND attribute_exists(title)", {":org": {"S": org_id}})
            copies = []
            for n in range(n_tasks - through_api):
                template = stored[n % len(stored)]
                text = json.dumps(template).replace(template["id"]["S"], emulator.uuid7(int(time.time() * 1000)))
                copies.append(json.loads(text))
            emulator.write_items(table, copies)
        return org_id, tokens, task_ids

    org_id, tokens, task_ids = organization(users, tasks, min(tasks, 200))
    other_id, other_tokens, other_tasks = organization(2, 20, 20)
    recorder = Recorder(env["AWS_ENDPOINT_URL"], schema)
    try:
        # The events the routes cause go to a topic of the pass's own, so the stack's consumers
        # do not run them (outside the recorder); the mix measures the request path.
        topic = emulator.sns("CreateTopic", {"Name": f"heat-{time.time_ns()}"})["TopicArn"]
        # A queue per consumer, with its subscription's filter (as the template has it).
        queues = {}
        for consumer, types in consumer_filters().items():
            queue = emulator.sqs("CreateQueue", {"QueueName": f"heat-{consumer}-{time.time_ns()}"})["QueueUrl"]
            queue_arn = emulator.sqs("GetQueueAttributes", {"QueueUrl": queue, "AttributeNames": ["QueueArn"]})["Attributes"]["QueueArn"]
            attributes = {"Attributes.entry.1.key": "RawMessageDelivery", "Attributes.entry.1.value": "true"}
            if types is not None:
                attributes.update({"Attributes.entry.2.key": "FilterPolicy", "Attributes.entry.2.value": json.dumps({"type": types})})
            emulator.sns("Subscribe", {"TopicArn": topic, "Protocol": "sqs", "Endpoint": queue_arn, **attributes})
            queues[consumer] = queue
        heat_env = {**env, "AWS_ENDPOINT_URL": recorder.endpoint, "TASKFLOW_EVENT_TOPIC_ARN": topic}
        tallies = {}
        # A consumer's failed messages are counted (their work up to the failure is in the
        # tally), with its log kept for a look: the pass measures where the load lands.
        failed = {}
        logs = logs_dir
        logs.mkdir(parents=True, exist_ok=True)
        def check_recorder(what):
            if recorder.errors:
                raise RuntimeError(f"{what}: the recorder could not price {len(recorder.errors)} calls: {recorder.errors[:3]}")

        for who, people, ids, n in ((org_id, tokens, task_ids, per_route), (other_id, other_tokens, other_tasks, 10)):
            recorder.tallies = defaultdict(Tally)
            for route in MIX:
                events = mix_events(route, n, people, ids, api_event, rng)
                recorder.route = route
                run = run_function(native / route / "bootstrap", events, heat_env, timeout=900)
                recorder.route = None
                recorder.tallies[route].requests += len(events)
                check_recorder(route)
                refused = [s for s in run["statuses"] if not 200 <= (s or 0) < 300]
                if refused:
                    raise RuntimeError(f"{route}: {len(refused)} of {len(events)} answered {sorted(set(refused))}")
                # What the route's events cost downstream is the route's too: each consumer
                # takes them as its event source mapping would (batches of ten).
                recorder.route = route
                for consumer, queue in queues.items():
                    batches = _drain(emulator, queue)
                    if batches:
                        with (logs / f"{consumer}-{route}.log").open("w") as log:
                            run = run_function(native / consumer / "bootstrap", [emulator.sqs_event(b, "heat") for b in batches],
                                               {**heat_env, "AWS_LAMBDA_LOG_LEVEL": "warn"}, log, timeout=900)
                        failed[f"{consumer} ({route})"] = failed.get(f"{consumer} ({route})", 0) + sum(
                            len(a.get("batchItemFailures") or []) for a in run["answers"])
                recorder.route = None
                check_recorder(f"{route}'s consumers")
            tallies[who] = recorder.tallies
    finally:
        recorder.close()
    figures = report(org_id, tallies[org_id], tallies[other_id])
    figures.update({"users": users, "tasks": tasks, "requests_per_route": per_route,
                    "consumer_failures": {k: v for k, v in failed.items() if v}})
    return figures
