"""DynamoDB work per request, read from the functions' own capacity log.

Every function's store asks DynamoDB for the consumed capacity of each call and, with
`RUST_LOG=taskflow::dynamodb=debug`, logs one JSON line per call (shared/src/store/capacity.rs):
the operation, whether a read was strongly consistent, how many items a batch or transaction
named, the capacity DynamoDB reported, and for reads the items read and their size in bytes.
This module turns those lines into a per-request summary, with the capacity units counted
both as the emulator reported them and by DynamoDB's published rules. Pure: no I/O.
"""

import json
import math

CALL_MESSAGE = "dynamodb call"
LOG_DIRECTIVE = "taskflow::dynamodb=debug"

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def calls(log_text):
    """The capacity log's calls in a function's stdout, in order."""
    found = []
    for line in log_text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        fields = event.get("fields", {}) if isinstance(event, dict) else {}
        if fields.get("message") == CALL_MESSAGE:
            found.append(fields)
    return found


def rule_units(call):
    """(read, write) units of one call by DynamoDB's on-demand rules: a read is 1 unit per
    4 KB read (rounded up, at least one), half that when eventually consistent, twice in a
    transaction; a write 1 unit per item of up to 1 KB, twice in a transaction. A refused
    conditional write still consumes its write. Index entries a write adds are not in the
    log; `write` here is the base table's share."""
    operation, actions = call["operation"], int(call.get("actions", 1))
    consistency = 1.0 if call.get("consistent") else 0.5
    if operation in ("GetItem", "Query", "Scan"):
        if call.get("failed"):
            return 0.0, 0.0
        return max(1, math.ceil(int(call.get("bytes_read", 0)) / 4096)) * consistency, 0.0
    if operation == "BatchGetItem":
        return actions * consistency, 0.0
    if operation == "TransactGetItems":
        return 2.0 * actions, 0.0
    if operation == "TransactWriteItems":
        return 0.0, 2.0 * actions
    if operation == "BatchWriteItem":
        return 0.0, float(actions)
    return 0.0, 1.0  # PutItem, UpdateItem, DeleteItem


def items_read(call):
    """Items a call read: a Query's ScannedCount, a GetItem's item if there was one, the keys
    a batch or transaction named."""
    operation = call["operation"]
    if call.get("failed") or operation not in READS:
        return 0
    if operation in ("Query", "Scan"):
        return int(call.get("scanned") or 0)
    if operation == "GetItem":
        return 1 if int(call.get("bytes_read") or 0) else 0
    return int(call.get("actions", 1))


def runs_of(operations):
    """Consecutive repeats folded: ["Query", "UpdateItem", "UpdateItem"] -> ["Query", "UpdateItem (2 calls)"]."""
    folded = []
    for operation in operations:
        if folded and folded[-1][0] == operation:
            folded[-1][1] += 1
        else:
            folded.append([operation, 1])
    return [op if n == 1 else f"{op} ({n} calls)" for op, n in folded]


def summary(found):
    """What one request did: its calls, items and bytes read, and capacity units."""
    by_rule = [rule_units(c) for c in found]
    return {
        "calls": len(found),
        "operations": runs_of([c["operation"] + (f" x{c['actions']}" if int(c.get("actions", 1)) > 1 else "") for c in found]),
        "scans": sum(c["operation"] == "Scan" for c in found),
        "items_read": sum(items_read(c) for c in found),
        "bytes_read": sum(int(c.get("bytes_read") or 0) for c in found),
        "read_units": sum(r for r, _ in by_rule),
        "write_units_base": sum(w for _, w in by_rule),
        "emulator_units": {
            "read": sum(float(c.get("read_units") or 0) for c in found),
            "write": sum(float(c.get("write_units") or 0) for c in found),
        },
        "failed": sum(bool(c.get("failed")) for c in found),
    }


def section(functions):
    """The report's table of DynamoDB work per request."""
    rows = [(name, f["dynamodb"]) for name, f in sorted(functions.items()) if "dynamodb" in f]
    lines = [
        "## DynamoDB work per request",
        "",
        "One request of each function, run as a cold start against the emulator with the store's capacity log on",
        "(`RUST_LOG=taskflow::dynamodb=debug`, shared/src/store/capacity.rs): each call asks for `ReturnConsumedCapacity: TOTAL`.",
        "moto answers a flat figure per call (0.5 for GetItem, 1 for PutItem, DeleteItem and Query whatever their size) and",
        "none for UpdateItem and TransactWriteItems, so the units are also counted by DynamoDB's rules from what each call",
        "read (consistency, bytes) and wrote (items): reads exactly; writes for the base table only, as the index entries",
        "a write adds are not in the log (the cost estimate below adds them from the schema).",
        "",
        "| function | calls | operations | items read | bytes read | read units (rules) | write units, base table (rules) | moto reported read / write | Scan |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for name, d in rows:
        ops = ", ".join(d["operations"]) or "none"
        if d.get("failed"):
            ops += f" ({d['failed']} refused)"
        e = d["emulator_units"]
        lines.append(
            f"| {name} | {d['calls']} | {ops} | {d['items_read']} | {d['bytes_read']} | {d['read_units']:g} | "
            f"{d['write_units_base']:g} | {e['read']:g} / {e['write']:g} | {d['scans']} |"
        )
    reads = [name for name, d in rows if d["operations"] and all(o.split(" ")[0] in READS for o in d["operations"])]
    single = [name for name in reads if dict(rows)[name]["calls"] == 1]
    lines += [
        "",
        f"No request scans (Scan calls in all: {sum(d['scans'] for _, d in rows)}). Read-only requests: {len(reads)}, of which "
        f"{len(single)} make one call ({', '.join(single)}); "
        + (", ".join(f"{n} {dict(rows)[n]['calls']}" for n in reads if n not in single) or "none")
        + " make more (the calls above say which).",
        "",
    ]
    return lines


RATE_COUNTER_ITEM = "RATE_LIMIT"


def is_rate_counter(call):
    """A call on the organization's request counter (shared/src/store/rate_limits.rs), told by
    the kind of item the capacity log names."""
    return call.get("item") == RATE_COUNTER_ITEM


API_KEY_ITEM = "APIKEY"  # shared/src/store/keys.rs, API_KEY_SK_PREFIX


def is_key_lookup(call):
    """The read of an API key with its creator (shared/src/store/api_keys.rs): the one
    TransactGetItems of a request path."""
    return call.get("operation") == "TransactGetItems"


def is_key_touch(call):
    """The write of an API key's last use, at most once a minute per key."""
    return call.get("item") == API_KEY_ITEM and call.get("operation") == "UpdateItem"


def _is_preamble(call):
    """A call an authenticated request makes before its own work."""
    return is_key_lookup(call) or is_key_touch(call) or is_rate_counter(call)


def requests_of(found):
    """The calls of warm requests one process served in a row, one list per request: an
    authenticated request reads its API key (when it came with one, maybe writing its last
    use), then counts itself, before anything else. So a key lookup begins the next request,
    and so does a counter call once the current request made a call that is none of those."""
    requests = []
    for call in found:
        begins = is_key_lookup(call) or (
            is_rate_counter(call) and bool(requests) and not all(_is_preamble(c) for c in requests[-1])
        )
        if not requests or begins:
            requests.append([])
        requests[-1].append(call)
    return requests


def rate_counter_share(request):
    """(milliseconds in the counter's calls, milliseconds in the other calls, counter calls,
    counter write units by the rules) of one request."""
    counter = [c for c in request if is_rate_counter(c)]
    rest = [c for c in request if not is_rate_counter(c)]
    return _elapsed_ms(counter), _elapsed_ms(rest), len(counter), sum(rule_units(c)[1] for c in counter)


def key_lookup_share(request):
    """(milliseconds in the API key's lookup, its calls, its read units by the rules) of one
    request."""
    lookups = [c for c in request if is_key_lookup(c)]
    return _elapsed_ms(lookups), len(lookups), sum(rule_units(c)[0] for c in lookups)


def _elapsed_ms(calls):
    return sum(float(c.get("elapsed_ms") or 0) for c in calls)
