"""Checks webhook deliveries with the Standard Webhooks reference library (pinned in the
Makefile's tools venv), an implementation independent of ours.

Reads one JSON object from stdin: {"secrets": ["whsec_…", …], "headers": {…}, "body": "…"}.
Writes {"verified": [bool per secret], "payload": <the body as the library parsed it>}.
A secret verifies when one of the delivery's signatures is its own and the timestamp is
within the library's tolerance (5 minutes) of now.
"""

import json
import sys

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def verify(secrets, headers, body):
    verified, payload = [], None
    for secret in secrets:
        try:
            payload = Webhook(secret).verify(body, headers)
            verified.append(True)
        except WebhookVerificationError:
            verified.append(False)
    return {"verified": verified, "payload": payload}


if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(verify(request["secrets"], request["headers"], request["body"]), sys.stdout)
