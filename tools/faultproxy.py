#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between TaskFlow's functions and the AWS emulator, for the
fault-injection tests (e2e/tests/api/faults.rs). Loopback only: it listens on 127.0.0.1 and
forwards only to the emulator's loopback address.

    faultproxy.py --port PORT --upstream http://127.0.0.1:MOTO_PORT

Every request is forwarded unchanged unless a rule matches it. A rule names an operation
(`DynamoDB_20120810.TransactWriteItems`, `AmazonSQS.SendMessage`, `SESv2.SendEmail`, ...: the
`X-Amz-Target` of JSON protocols, or SES v2's REST path; for S3, the method and the object's
path, which may end in `*` to name every path it starts), a text the request body must contain
(a test's own organization id, title or address, so that tests running in parallel never hit
each other's faults), a fault, and how many matching calls it applies to:

    throttle   answer the service's throttling error without forwarding
    error      answer 500 without forwarding
    conflict   answer a TransactionCanceledException with reason TransactionConflict
    lose       forward (the call takes effect), then drop the connection unanswered
    delay      wait `delay_ms`, then forward

Rules are managed over HTTP on the proxy itself: `POST /__faults` with a JSON rule adds it
(answers its id), `GET /__faults/<id>` shows how many calls it hit, `DELETE /__faults/<id>`
removes it.
"""

import argparse
import http.client
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RULES = {}
LOCK = threading.Lock()
# moto 5.2.5's TransactWriteItems deep-copies the whole table for each of its items, while
# other requests' threads may write to it: "dictionary changed size during iteration", an
# HTML 500 that DynamoDB itself never answers. The proxy hands moto one DynamoDB write at a
# time; reads, which change nothing, pass freely.
DYNAMODB_WRITES = threading.Lock()
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
# moto ignores TransactWriteItems' ClientRequestToken; DynamoDB answers a repeat of a token
# that succeeded (within 10 minutes) with that success, without applying it again, and one
# whose first use is still running with TransactionInProgressException. The proxy does the
# same, so that the SDK's retry of a slow or lost transaction behaves here as in AWS.
TOKENS = {}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
# The proxy reads a whole body before it forwards: an `Expect: 100-continue` was answered by
# this server already and must not make the emulator wait for a body it then has.
NOT_FORWARDED = HOP_BY_HOP | {"expect"}


def operation(method, path, headers, body=b""):
    target = headers.get("X-Amz-Target")
    if target:
        return target
    if method == "POST" and path.startswith("/v2/email/outbound-emails"):
        return "SESv2.SendEmail"
    # SNS speaks the query protocol: the operation is the form's Action (`SNS.Publish`).
    if method == "POST" and "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return f"SNS.{action[0]}"
    return f"{method} {path.split('?')[0]}"


def names(pattern, op):
    """Whether a rule's operation names `op`: exactly, or by prefix when it ends in `*` (an S3
    object path whose last part the test cannot know: `PUT /bucket/exports/<org>/*`)."""
    return op.startswith(pattern[:-1]) if pattern.endswith("*") else op == pattern


def take_rule(op, body):
    """The first rule that matches and has calls left, with one call counted against it."""
    with LOCK:
        for rule in RULES.values():
            if names(rule["operation"], op) and rule["match"].encode() in body and rule["remaining"] > 0:
                rule["remaining"] -= 1
                rule["hits"] += 1
                return dict(rule)
    return None


def error_answer(op, fault, body):
    """Status, headers and body of an injected error, in the protocol of the service."""
    if op.startswith("SESv2."):
        kind = {"throttle": (429, "TooManyRequestsException"), "error": (500, "InternalFailure")}[fault]
        return kind[0], {"Content-Type": "application/json", "x-amzn-ErrorType": kind[1]}, {"message": f"injected {fault}"}
    if op.startswith("SNS."):
        status, code = {"throttle": (400, "Throttling"), "error": (500, "InternalError")}[fault]
        xml = f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected {fault}</Message></Error></ErrorResponse>"
        return status, {"Content-Type": "text/xml"}, xml
    content = {"Content-Type": "application/x-amz-json-1.0"}
    if fault == "throttle":
        return 400, content, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "injected throttling"}
    if fault == "conflict":
        items = len(json.loads(body or b"{}").get("TransactItems", [])) or 1
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
        reasons += [{"Code": "None"}] * (items - 1)
        message = "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]"
        return 400, content, {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": message,
            "CancellationReasons": reasons,
        }
    return 500, content, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected error"}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None  # (host, port)

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status, headers, payload):
        data = payload if isinstance(payload, bytes) else payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _control(self, method, body):
        parts = self.path.strip("/").split("/")
        with LOCK:
            if method == "POST" and len(parts) == 1:
                rule = json.loads(body)
                rule_id = uuid.uuid4().hex
                RULES[rule_id] = {
                    "operation": rule["operation"],
                    "match": rule["match"],
                    "fault": rule["fault"],
                    "remaining": int(rule.get("times", 1)),
                    "delay_ms": int(rule.get("delay_ms", 0)),
                    "hits": 0,
                }
                return self._answer(201, {"Content-Type": "application/json"}, {"id": rule_id})
            if len(parts) == 2 and parts[1] in RULES:
                if method == "GET":
                    return self._answer(200, {"Content-Type": "application/json"}, RULES[parts[1]])
                if method == "DELETE":
                    del RULES[parts[1]]
                    return self._answer(204, {}, b"")
        return self._answer(404, {"Content-Type": "application/json"}, {"error": "no such rule"})

    def _forward(self, method, body):
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED}
        connection.request(method, self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        answer = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        connection.close()
        return response.status, answer, data

    def _handle(self):
        method = self.command
        body = self._body()
        if self.path.startswith("/__faults"):
            return self._control(method, body)
        op = operation(method, self.path, self.headers, body)
        rule = take_rule(op, body)
        fault = rule["fault"] if rule else None
        if fault in ("throttle", "error", "conflict"):
            return self._answer(*error_answer(op, fault, body))
        if fault == "delay":
            time.sleep(rule["delay_ms"] / 1000)
        token = json.loads(body or b"{}").get("ClientRequestToken") if op.endswith(".TransactWriteItems") else None
        if token:
            with LOCK:
                seen = TOKENS.get(token, "new")
                if seen == "new":
                    TOKENS[token] = None
            if seen is None:
                return self._answer(400, {"Content-Type": "application/x-amz-json-1.0"}, {
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionInProgressException",
                    "message": "a transaction with this client request token is in progress",
                })
            if seen != "new":
                return self._answer(*seen)
        try:
            if op.startswith("DynamoDB_") and op.split(".")[-1] in WRITES:
                with DYNAMODB_WRITES:
                    status, headers, data = self._forward(method, body)
            else:
                status, headers, data = self._forward(method, body)
        except Exception:
            if token:
                TOKENS.pop(token, None)
            raise
        if token:
            with LOCK:
                if status == 200:
                    TOKENS[token] = (status, headers, data)
                else:
                    TOKENS.pop(token, None)
        if fault == "lose":
            # The call took effect upstream; its caller never hears of it.
            self.close_connection = True
            return
        self._answer(status, headers, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("faultproxy forwards to a loopback emulator only")
    Proxy.upstream = (upstream.hostname, upstream.port)
    # Every function instance of the stack connects here at once: the standard library's
    # backlog of 5 would refuse connections under that load.
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Proxy)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
