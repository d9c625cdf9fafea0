"""The bench's own calls to the emulator (moto_server on loopback, $AWS_ENDPOINT_URL), in the
AWS JSON protocol: to seed the scale case's items, to read an item's stored form, to give
the measured publishers a topic of their own and hand tasks-create's message to the mailer,
and to read the mails moto kept; and the task ids and SQS events those passes make for it.
Never a request path of TaskFlow; never anything but loopback."""

import json
import os
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlencode, urlparse

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "")
REGION = os.environ.get("AWS_REGION", "us-east-1")


def _loopback():
    host = urlparse(ENDPOINT).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"AWS_ENDPOINT_URL must be a loopback emulator, not {ENDPOINT!r}")


def call(service, target, body):
    """One JSON-protocol call; moto reads the region from the (unchecked) signature."""
    _loopback()
    request = urllib.request.Request(ENDPOINT, method="POST", data=json.dumps(body).encode())
    request.add_header("Content-Type", "application/x-amz-json-1.0")
    request.add_header("X-Amz-Target", target)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=test/20261128/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def dynamodb(action, body):
    return call("dynamodb", f"DynamoDB_20120810.{action}", body)


def sqs(action, body):
    return call("sqs", f"AmazonSQS.{action}", body)


def sns(action, params):
    """One SNS call, in its query protocol (form in, XML out): {tag: text} of the answer's leaves."""
    _loopback()
    body = urlencode({"Action": action, "Version": "2010-03-31", **params}).encode()
    request = urllib.request.Request(ENDPOINT, method="POST", data=body)
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=test/20261128/{REGION}/sns/aws4_request, SignedHeaders=host, Signature=0",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        root = ElementTree.fromstring(response.read())
    return {element.tag.rsplit("}", 1)[-1]: element.text for element in root.iter() if len(element) == 0}


def uuid7(ms):
    """A UUIDv7 for `ms` (task ids are v7, so a tenant's tasks sort by creation time): the
    id of a task the bench writes straight to the table."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | (((rand >> 62) & 0xFFF) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def sqs_event(messages, source="bench"):
    """The SQS event an event source mapping would hand a consumer for `messages` (as
    ReceiveMessage answered them), each received once."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"], "md5OfBody": m["MD5OfBody"],
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{source}", "awsRegion": REGION,
    } for m in messages]}


def write_items(table, items):
    """BatchWriteItem in batches of 25, re-sending what moto leaves unprocessed."""
    for start in range(0, len(items), 25):
        pending = {table: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
        while pending:
            pending = dynamodb("BatchWriteItem", {"RequestItems": pending}).get("UnprocessedItems") or None


def scan_all(table, filter_expression, values):
    """Every item of `table` the filter keeps (the bench's seeding only; never a request path)."""
    found, start = [], None
    while True:
        body = {"TableName": table, "FilterExpression": filter_expression, "ExpressionAttributeValues": values}
        if start:
            body["ExclusiveStartKey"] = start
        page = dynamodb("Scan", body)
        found += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def mails():
    _loopback()
    with urllib.request.urlopen(f"{ENDPOINT}/moto-api/data.json", timeout=30) as response:
        return json.loads(response.read()).get("ses", {}).get("Message", [])


VERIFICATION_SUBJECT = "Confirm your TaskFlow email address"


def mailed_token(to, subject=None, deadline_s=90):
    """The token in the newest mail to `to` (whose subject contains `subject`, if given), once
    the stack's mailer has sent one."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for mail in reversed(mails()):
            about = subject is None or subject in (mail.get("subject") or "")
            if about and to in (mail.get("destinations") or {}).get("ToAddresses", []) and "<code>" in (mail.get("body") or ""):
                body = mail["body"]
                return body.split("<code>", 1)[1].split("</code>", 1)[0]
        time.sleep(0.2)
    raise RuntimeError(f"no mail {('about ' + repr(subject) + ' ') if subject else ''}to {to} within {deadline_s} s")


def invitation_token(to, deadline_s=90):
    """The token in the invitation mail to `to`, once the stack's mailer has sent it."""
    return mailed_token(to, "invited", deadline_s)


def verification_token(to, deadline_s=90):
    """The token in the verification mail to `to`, once the stack's mailer has sent it."""
    return mailed_token(to, VERIFICATION_SUBJECT, deadline_s)
