"""Schemathesis hooks for TaskFlow's contract run (loaded through SCHEMATHESIS_HOOKS).

Request bodies that are not UTF-8 are left out. Locally `cargo lambda watch` stands in for
API Gateway and answers such a body with a 500 of its own before any function runs; API
Gateway hands the bytes to the function, which answers 400 (the unit test
`a_body_that_is_not_utf8_is_400` in shared/src/http/request.rs covers it). Every other
malformed body, including bytes that are not JSON, is still sent.
"""

import schemathesis


@schemathesis.hook
def filter_body(context, body):
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
