"""template.yaml against the code: routes, table, permissions; and the offline checks
(sam validate, cfn-lint with the serverless rules, on the template and on its expansion)."""

import copy
import json
import re
import subprocess
import tomllib

import pytest
from conftest import ROOT, tool
from expand import expand

# Findings the expanded template raises that are accepted, and why.
EXPANDED_LINT_ACCEPTED = [
    # Offline expansion resolves parameters to their defaults, so they look unused.
    "W2001",
    # Every function logs to the FunctionLogs group (with retention), not to a group of its own;
    # see the template's Metadata.
    "WS1004",
    # An SQS event source fails over to the queue's redrive policy (its DLQ), not to an
    # on-failure destination, which only stream sources use.
    "ES1001",
    # The scheduled re-publisher needs no DLQ: the next run finds the same outbox markers.
    "ES4000",
    "ES1007",
]

# The one SES identity mail may be sent as: the SenderIdentity parameter, or MailFrom itself when
# it is empty (README, Deploy).
SENDER_IDENTITY = {
    "Fn::If": [
        "SenderIdentityGiven",
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderIdentity}"},
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailFrom}"},
    ]
}


def plain(value):
    """The template's node types (str/dict subclasses with line numbers) as plain JSON."""
    return json.loads(json.dumps(value))


def workspace_resources() -> dict:
    """Resource names in the functions' declared permissions and how the template writes them
    ([workspace.metadata.taskflow.resources] in Cargo.toml, which `make gen` writes from)."""
    from cfnlint.decode.cfn_yaml import loads

    table = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["metadata"]["taskflow"]["resources"]
    return {name: plain(loads(f"value: {expression}\n")["value"]) for name, expression in table.items()}


RESOURCES = workspace_resources()


def key_schema(partition_key: str, sort_key: str) -> list:
    return [{"AttributeName": partition_key, "KeyType": "HASH"}, {"AttributeName": sort_key, "KeyType": "RANGE"}]


def cloudformation_table(schema: dict) -> dict:
    """The code's table definition in CloudFormation's (and the DynamoDB API's) shape."""
    return {
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in schema["key_attributes"]],
        "KeySchema": key_schema(schema["partition_key"], schema["sort_key"]),
        "GlobalSecondaryIndexes": [
            {
                "IndexName": i["name"],
                "KeySchema": key_schema(i["partition_key"], i["sort_key"]),
                "Projection": {"ProjectionType": "ALL"},
            }
            for i in schema["indexes"]
        ],
    }


def functions(template):
    return {
        name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }


def binary(resource) -> str:
    return resource["Metadata"]["BuildProperties"]["Binary"]


def lint(path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("cfn-lint"), "--append-rules", "cfn_lint_serverless.rules", *extra, "-t", str(path)],
        capture_output=True, text=True,
    )


def test_sam_validate_passes():
    out = subprocess.run(
        [tool("sam"), "validate", "--template", str(ROOT / "template.yaml"), "--region", "us-east-1"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "SAM_CLI_TELEMETRY": "0", "HOME": "/tmp"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "is a valid SAM Template" in out.stdout + out.stderr


def test_cfn_lint_with_serverless_rules_passes():
    out = lint(ROOT / "template.yaml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_expanded_template_lints_clean(template_text, tmp_path):
    path = tmp_path / "expanded.json"
    path.write_text(json.dumps(expand(template_text)))
    out = lint(path, "--ignore-checks", *EXPANDED_LINT_ACCEPTED)
    assert out.returncode == 0, out.stdout + out.stderr


BREAKAGES = {
    "wrong runtime": ("provided.al2023", "provided.al2099"),
    "misspelt batch failure reporting": ("- ReportBatchItemFailures", "- ReportBatchItemFailure"),
    "unknown architecture": ("Architectures: [arm64]", "Architectures: [arm65]"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_copy_fails_the_expanded_checks(template_text, tmp_path, breakage):
    good, bad = BREAKAGES[breakage]
    assert good in template_text, f"the template no longer contains {good!r}: update this test"
    broken = template_text.replace(good, bad)
    try:
        expanded = expand(broken)
    except Exception:  # the translator itself refused it: caught, as it should be
        return
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(expanded))
    out = lint(path, "--ignore-checks", *EXPANDED_LINT_ACCEPTED)
    assert out.returncode != 0, f"{breakage} passed the checks"


def test_the_deployed_resources_keep_their_logical_ids_and_types(template, root):
    """A deploy over an existing stack must not replace or delete its tables, queues or
    functions: every resource the template had before it was generated (recorded then) is
    still there under the same logical id and type. New ones may be added."""
    before = json.loads((root / "deploy" / "tests" / "resources-before-generation.json").read_text())
    now = {name: resource["Type"] for name, resource in template["Resources"].items()}
    assert {name: now.get(name) for name in before} == before


def test_the_sender_identity_in_the_resource_table_is_the_expected_one():
    assert RESOURCES["mail-identity"] == SENDER_IDENTITY


def test_routes_match_the_function_crates_and_the_local_router(template, cargo_metadata, root):
    in_template = {}
    for resource in functions(template).values():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                in_template[(p["Method"], p["Path"])] = binary(resource)
    workspace = cargo_metadata["metadata"]["lambda"]["watch"]["router"]
    local = {(r["method"], path): r["function"] for path, routes in workspace.items() for r in routes}
    assert in_template == local

    crates = {p.name for p in (root / "functions").iterdir() if (p / "Cargo.toml").exists()}
    assert {binary(r) for r in functions(template).values()} == crates, "every crate is deployed, and only those"


def test_the_readme_route_table_lists_every_route_and_its_function(cargo_metadata, root):
    rows = re.findall(r"^\| `([A-Z]+) (/\S*)` \| `([a-z0-9-]+)`", (root / "README.md").read_text(), re.M)
    router = cargo_metadata["metadata"]["lambda"]["watch"]["router"]
    local = {(r["method"], path): r["function"] for path, routes in router.items() for r in routes}
    assert {(method, path): function for method, path, function in rows} == local
    assert len(rows) == len(local), "a route is listed twice"


def test_every_route_is_in_the_openapi_document_and_nothing_else_is(template, cargo_metadata, root):
    # The committed openapi.json is what the code generates (the Rust drift test checks it).
    spec = json.loads((root / "openapi.json").read_text())
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    documented = {(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in methods}
    in_template = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for resource in functions(template).values()
        for e in resource["Properties"].get("Events", {}).values()
        if e["Type"] == "HttpApi"
    }
    router = cargo_metadata["metadata"]["lambda"]["watch"]["router"]
    local = {(r["method"], path) for path, routes in router.items() for r in routes}
    assert in_template - documented == set(), "deployed routes missing from openapi.json"
    assert documented - in_template == set(), "documented operations that are not deployed"
    assert local == documented, "the local router and openapi.json differ"


def test_the_table_is_the_one_the_code_defines(template, table_schema):
    table = plain(template["Resources"]["Table"]["Properties"])
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    expected = cloudformation_table(table_schema)
    assert {k: table[k] for k in expected} == expected
    assert table["TimeToLiveSpecification"] == {"AttributeName": table_schema["ttl_attribute"], "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def granted(resource) -> set:
    names = {json.dumps(v, sort_keys=True): k for k, v in RESOURCES.items()}
    grants = set()
    for policy in resource["Properties"].get("Policies", []):
        for statement in plain(policy)["Statement"]:
            assert statement["Effect"] == "Allow"
            target = names.get(json.dumps(statement["Resource"], sort_keys=True))
            assert target, f"unknown resource {statement['Resource']}"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            grants |= {f"{a} {target}" for a in actions}
    return grants


def test_each_role_grants_exactly_what_its_function_declares(template, cargo_metadata):
    declared = {
        p["name"]: set((p["metadata"] or {}).get("taskflow", {}).get("permissions", []))
        for p in cargo_metadata["packages"]
        if p["manifest_path"].startswith(str(ROOT / "functions"))
    }
    for name, resource in functions(template).items():
        assert granted(resource) == declared[binary(resource)], name


def test_every_function_that_authenticates_may_count_the_request_and_read_an_api_key(cargo_metadata, root):
    """A function that builds the App with the token settings, as every one that authenticates
    does, counts the request against its organization's budget and, for a request with an API
    key, reads the key with its creator (TransactGetItems, which IAM grants as GetItem). The
    local stack does not enforce IAM, so only this test finds a role that lacks them."""
    needed = {"dynamodb:GetItem table", "dynamodb:UpdateItem table", "dynamodb:PutItem table",
              "dynamodb:ConditionCheckItem table"}
    authenticating = 0
    for p in cargo_metadata["packages"]:
        own = (p["metadata"] or {}).get("taskflow", {})
        if not p["manifest_path"].startswith(str(root / "functions")) or "TASKFLOW_JWT_ISSUER" not in own.get("tuning", []):
            continue
        main = (root / "functions" / p["name"] / "src" / "main.rs").read_text()
        if "App::from_env" not in main:
            continue
        authenticating += 1
        assert needed <= set(own["permissions"]), f"{p['name']} lacks {sorted(needed - set(own['permissions']))}"
    assert authenticating >= 20, "the authenticated functions were found"


def test_each_function_gets_exactly_the_environment_it_declares(template, cargo_metadata):
    workspace = cargo_metadata["metadata"]["taskflow"]
    globals_env = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert globals_env == set(workspace["globals"])
    declared = {
        p["name"]: (p["metadata"] or {}).get("taskflow", {})
        for p in cargo_metadata["packages"]
        if p["manifest_path"].startswith(str(ROOT / "functions"))
    }
    for name, resource in functions(template).items():
        own = declared[binary(resource)]
        given = set(resource["Properties"].get("Environment", {}).get("Variables", {}))
        required, tuning = set(own["environment"]), set(own["tuning"]) | set(workspace["tuning"])
        assert required <= given, f"{name} lacks {sorted(required - given)}"
        assert given <= required | tuning, f"{name} is given {sorted(given - required - tuning)}, which it does not read"


def test_expanded_inline_policies_name_no_wildcard_resource(template_text):
    expanded = expand(template_text)
    for name, resource in expanded["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement["Resource"] != "*", f"{name} grants {statement['Action']} on *"


def ses_grants(expanded: dict) -> dict:
    """{role: SES actions} of every role or policy in an expanded template that grants any; fails
    on one that grants an SES action (or `*`) on anything but the configured sender identity."""
    found = {}
    for name, resource in expanded["Resources"].items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
            managed = json.dumps(properties.get("ManagedPolicyArns", []))
            assert "SES" not in managed.upper(), f"{name} has a managed SES policy: {managed}"
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        else:
            continue
        for document in documents:
            for statement in document["Statement"]:
                actions = statement.get("Action", [])
                actions = actions if isinstance(actions, list) else [actions]
                ses = [a for a in actions if a == "*" or a.lower().startswith("ses:")]
                if not ses:
                    continue
                assert "NotResource" not in statement and "NotAction" not in statement, name
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                assert resources == [SENDER_IDENTITY], f"{name} grants {ses} on {resources}, not only on the sender identity"
                found.setdefault(name, set()).update(ses)
    return found


def test_only_the_mailer_and_the_deleter_may_send_mail_and_only_as_the_sender_identity(template_text):
    grants = ses_grants(expand(template_text))
    assert grants == {
        "NotificationsMailerFunctionRole": {"ses:SendEmail"},
        "OrganizationsDeleterFunctionRole": {"ses:SendEmail"},
    }


@pytest.mark.parametrize("wider", [
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*",
    "*",
])
def test_a_copy_that_lets_the_mailer_send_as_any_identity_fails_the_check(template_text, wider):
    narrow = 'identity/${MailFrom}"'
    assert template_text.count(narrow) == 2, "the template no longer names MailFrom's identity: update this test"
    broken = template_text.replace(
        '!Sub "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:' + narrow, f'!Sub "{wider}"', 1,
    )
    with pytest.raises(AssertionError, match="NotificationsMailerFunctionRole grants"):
        ses_grants(expand(broken))


def resolve(node, parameters: dict):
    """The few intrinsic functions the sender identity is written with, given parameter values."""
    if isinstance(node, str):
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        return parameters[argument]
    if function == "Fn::Sub":
        return re.sub(r"\$\{([^}!]+)\}", lambda m: parameters[m.group(1)], argument)
    if function == "Fn::Equals":
        return resolve(argument[0], parameters) == resolve(argument[1], parameters)
    if function == "Fn::Not":
        return not resolve(argument[0], parameters)
    if function == "Condition":
        return resolve(parameters["Conditions"][argument], parameters)
    if function == "Fn::If":
        given = resolve({"Condition": argument[0]}, parameters)
        return resolve(argument[1] if given else argument[2], parameters)
    raise AssertionError(f"unexpected {function}")


@pytest.mark.parametrize("sender_identity, arn", [
    ("", "arn:aws:ses:us-east-1:123456789012:identity/notifications@example.com"),
    ("example.com", "arn:aws:ses:us-east-1:123456789012:identity/example.com"),
    ("notifications@example.com", "arn:aws:ses:us-east-1:123456789012:identity/notifications@example.com"),
])
def test_the_sender_identity_is_the_given_one_or_else_the_mail_from_address(template, sender_identity, arn):
    parameter = template["Parameters"]["SenderIdentity"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], sender_identity)
    parameters = {
        "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
        "MailFrom": "notifications@example.com", "SenderIdentity": sender_identity,
        "Conditions": plain(template["Conditions"]),
    }
    assert resolve(SENDER_IDENTITY, parameters) == arn
    for name in ("NotificationsMailerFunction", "OrganizationsDeleterFunction"):
        statements = [s for p in template["Resources"][name]["Properties"]["Policies"] for s in plain(p)["Statement"]]
        sending = [s["Resource"] for s in statements if any(a.startswith("ses:") for a in s["Action"])]
        assert sending == [SENDER_IDENTITY], name


@pytest.mark.parametrize("wildcard", ["*", "*.example.com", "notifications@*", "exa?ple.com", "example.com notifications@example.com"])
def test_the_sender_identity_parameter_refuses_wildcards(template, wildcard):
    assert not re.fullmatch(template["Parameters"]["SenderIdentity"]["AllowedPattern"], wildcard)


def test_the_queue_outlasts_six_mailer_timeouts_and_redrives_to_the_dlq(template):
    resources = template["Resources"]
    mailer = resources["NotificationsMailerFunction"]["Properties"]
    queue = resources["NotificationQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * mailer["Timeout"]
    assert plain(queue["RedrivePolicy"]["deadLetterTargetArn"]) == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}
    event = mailer["Events"]["Queue"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["MaximumBatchingWindowInSeconds"] > 0


def test_only_the_token_issuers_may_read_the_signing_key(template):
    readers = {name for name, r in functions(template).items() if any("signing-key" in g for g in granted(r))}
    assert readers == {
        "AuthLoginFunction",
        "AuthRegisterFunction",
        "AuthRefreshFunction",
        "AuthAcceptInvitationFunction",
    }
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert "TASKFLOW_JWT_PRIVATE_KEY" not in globals_env


def test_only_the_functions_that_issue_mailed_tokens_and_the_mailer_may_read_their_secret(template):
    readers = {name for name, r in functions(template).items() if any("mail-token-secret" in g for g in granted(r))}
    assert readers == {
        "InvitationsCreateFunction",
        "AuthRegisterFunction",
        "AuthPasswordResetFunction",
        "AuthVerifyEmailResendFunction",
        "NotificationsMailerFunction",
    }
    for name, resource in functions(template).items():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert ("TASKFLOW_MAIL_TOKEN_KEY_SECRET_ARN" in variables) == (name in readers), name


def test_the_functions_that_start_or_refresh_sessions_may_check_the_credential_version(template):
    # A session is written, and rotated, in a transaction that checks the user's credential
    # version (a ConditionCheck); each login trims the user's oldest sessions (a Query, then
    # DeleteItems). The local stack does not enforce IAM: without these, every login would
    # fail in AWS only.
    grants = {name: granted(resource) for name, resource in functions(template).items()}
    for name in ["AuthLoginFunction", "AuthRegisterFunction", "AuthAcceptInvitationFunction"]:
        for action in ["dynamodb:ConditionCheckItem table", "dynamodb:Query table", "dynamodb:DeleteItem table"]:
            assert action in grants[name], (name, action)
    assert "dynamodb:ConditionCheckItem table" in grants["AuthRefreshFunction"]
    # A webhook's creation and deletion read the organization's webhooks (the count's start).
    for name in ["WebhooksCreateFunction", "WebhooksDeleteFunction"]:
        assert "dynamodb:Query table" in grants[name], name


# Publishes straight to the topic, with no outbox marker: the event of a download link it
# hands out (a read, which writes nothing to the table; see api::organizations::export_status).
PUBLISH_WITHOUT_OUTBOX = {"OrganizationsExportStatusFunction"}


def test_every_function_that_publishes_events_may_clear_their_outbox_markers(template):
    # notifications::dispatch deletes an event's outbox marker once it is published; without
    # DeleteItem the marker stays and the re-publisher sends the event a second time.
    for name, resource in functions(template).items():
        grants = granted(resource)
        if "sns:Publish topic" in grants and name not in PUBLISH_WITHOUT_OUTBOX:
            assert "dynamodb:DeleteItem table" in grants, name


def test_only_the_functions_that_seal_or_sign_may_read_the_sealing_key(template):
    readers = {name for name, r in functions(template).items() if any("webhook-sealing-secret" in g for g in granted(r))}
    assert readers == {"WebhooksCreateFunction", "WebhooksRotateSecretFunction", "WebhooksDispatcherFunction"}
    for name, resource in functions(template).items():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert ("TASKFLOW_WEBHOOK_SEALING_KEY_SECRET_ARN" in variables) == (name in readers), name


def test_a_deployed_stack_never_lets_webhooks_reach_loopback(template, template_text):
    # The code's default is `public`; only the local stacks set public-and-loopback.
    assert "TASKFLOW_WEBHOOK_REACH" not in template_text
    assert "public-and-loopback" not in template_text
    assert "TASKFLOW_WEBHOOK_RETRY_BASE_SECONDS" not in template_text


def test_the_webhook_queue_retries_for_about_a_day_and_outlasts_six_dispatcher_timeouts(template):
    resources = template["Resources"]
    dispatcher = resources["WebhooksDispatcherFunction"]["Properties"]
    queue = resources["WebhookQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * dispatcher["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 13, "12 back-offs of 30 s doubling to 8 h: about a day"
    assert plain(queue["RedrivePolicy"]["deadLetterTargetArn"]) == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    assert dispatcher["Events"]["Queue"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert dispatcher["Events"]["Queue"]["Properties"]["BatchSize"] == 10


def test_the_localstack_init_hook_creates_the_table_the_code_defines(root, table_schema):
    committed = json.loads((root / "localstack" / "init" / "ready.d" / "table.json").read_text())
    assert committed == {"TableName": "taskflow", "BillingMode": "PAY_PER_REQUEST", **cloudformation_table(table_schema)}
    hook = (root / "localstack" / "init" / "ready.d" / "01-taskflow.sh").read_text()
    assert f"AttributeName={table_schema['ttl_attribute']}" in hook


def subscriptions(template) -> dict:
    """{queue logical id: subscription properties} of the event topic's subscriptions."""
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SNS::Subscription":
            properties = resource["Properties"]
            assert plain(properties["TopicArn"]) == {"Ref": "EventTopic"}
            endpoint = plain(properties["Endpoint"])["Fn::GetAtt"]
            assert endpoint[1] == "Arn"
            found[endpoint[0]] = properties
    return found


def test_each_consumer_queue_is_subscribed_to_exactly_the_types_the_code_gives_it(template, event_consumers):
    subscribed = subscriptions(template)
    consumers = event_consumers["consumers"]
    assert set(subscribed) == {c["template_queue"] for c in consumers}
    for consumer in consumers:
        properties = subscribed[consumer["template_queue"]]
        assert properties["Protocol"] == "sqs" and properties["RawMessageDelivery"] is True
        assert plain(properties["RedrivePolicy"]["deadLetterTargetArn"])["Fn::GetAtt"][0].endswith("DeadLetterQueue")
        if consumer["event_types"] is None:
            assert "FilterPolicy" not in properties, consumer
        else:
            assert properties["FilterPolicy"] == {"type": consumer["event_types"]}, consumer
            assert set(consumer["event_types"]) <= set(event_consumers["event_types"]), consumer
    wanted = {t for c in consumers for t in (c["event_types"] or event_consumers["event_types"])}
    assert wanted == set(event_consumers["event_types"]), "every event type reaches some consumer"


def test_the_localstack_init_hook_subscribes_the_same_queues_to_the_same_types(root, event_consumers):
    hook = (root / "localstack" / "init" / "ready.d" / "01-taskflow.sh").read_text()
    lines = re.findall(r"^subscribe (\S+)(?: '(.*)')?$", hook, re.MULTILINE)
    found = {queue: json.loads(policy)["type"] if policy else None for queue, policy in lines}
    assert found == {c["local_queue"]: c["event_types"] for c in event_consumers["consumers"]}
    for queue in found:
        assert f"queue_with_dead_letters {queue}\n" in hook


def test_the_uncertain_mail_alarm_counts_the_lines_the_mailer_logs(template, root):
    import re
    sources = [root / "shared" / "src" / "notifications" / "mailer.rs", root / "shared" / "src" / "lifecycle" / "deleter.rs"]
    metrics = {m for path in sources for m in re.findall(r'pub const \w+_METRIC: &str = "(\w+)";', path.read_text())}
    assert metrics == {"MailUnconfirmed", "MailClaimAbandoned", "DeletionMailFailed"}
    pattern = template["Resources"]["UncertainMailFilter"]["Properties"]["FilterPattern"]
    assert set(re.findall(r'\$\.fields\.metric = "(\w+)"', pattern)) == metrics
    alarm = template["Resources"]["UncertainMailAlarm"]["Properties"]
    transformation = template["Resources"]["UncertainMailFilter"]["Properties"]["MetricTransformations"][0]
    assert (alarm["Namespace"], alarm["MetricName"]) == (transformation["MetricNamespace"], transformation["MetricName"])


def test_the_dashboard_and_metric_alarms_name_only_what_the_functions_write(template, root):
    import re
    source = (root / "shared" / "src" / "metrics.rs").read_text()
    naming = re.search(r"impl Metric \{.*?pub fn name\(self\) -> &'static str \{(.*?)\n    \}", source, re.S).group(1)
    named_as = dict(re.findall(r'Metric::(\w+) => "(\w+)"', naming))
    metrics = set(named_as.values())
    listed = re.search(r"PER_FUNCTION: \[Metric; \d+\] = \[([^\]]*)\]", source).group(1)
    per_function = {named_as[variant] for variant in re.findall(r"Metric::(\w+)", listed)}
    assert per_function and per_function < metrics
    kinds = set(re.findall(r'Kind::\w+ => "(\w+)"', source))
    assert {"Requests", "Status5xx", "Latency", "ColdStart", "WriteCapacityUnits", "MailsFailed"} <= metrics
    assert kinds == {"api", "queue", "schedule"}
    namespace = {"Fn::Sub": "TaskFlow/${AWS::StackName}"}
    assert plain(template["Globals"]["Function"]["Environment"]["Variables"]["TASKFLOW_METRICS_NAMESPACE"]) == namespace

    alarms = {name: r["Properties"] for name, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and plain(r["Properties"].get("Namespace")) == namespace}
    assert set(alarms) == {"ApiLatencyAlarm", "ThrottledRequestsAlarm", "MailsFailedAlarm", "ConsumerFailuresAlarm"}
    for name, alarm in alarms.items():
        assert alarm["MetricName"] in metrics, name
        assert [(d["Name"], d["Value"]) for d in alarm["Dimensions"]] in [[("Kind", k)] for k in kinds], name
        assert plain(alarm["AlarmActions"]) == [{"Ref": "AlarmTopicArn"}], name

    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert set(re.findall(r"\$\{([^}!]+)\}", body)) == {"AWS::Region", "AWS::StackName"}
    dashboard = json.loads(body.replace("${AWS::Region}", "us-east-1").replace("${AWS::StackName}", "stack"))
    named, searched = set(), set()
    for widget in dashboard["widgets"]:
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                expression = line[0]["expression"]
                assert expression.startswith("SEARCH('{TaskFlow/stack,Kind,Function} "), expression
                searched |= set(re.findall(r'MetricName="(\w+)"', expression))
            else:
                assert (line[0], line[2], line[3] in kinds) == ("TaskFlow/stack", "Kind", True), line
                named.add(line[1])
    assert searched <= per_function, "a search by function finds only what is kept per function"
    assert named | searched == metrics, "the dashboard shows every metric the functions write, and only those"
