"""Expands template.yaml with the SAM translator, offline, as CloudFormation's transform
would: the expanded template shows what `sam validate --lint` checks only loosely (runtimes,
event source settings, the roles SAM writes).

    python deploy/expand.py template.yaml expanded.json
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicyNames:
    """The template names no managed policy by name, so nothing needs looking up in IAM."""

    def load(self):
        return {}


def expand(template_text: str) -> dict:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse(template_text)
    for name, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            # What `sam package` does: local code becomes an S3 artifact.
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
    return transform(template, {}, NoManagedPolicyNames())


if __name__ == "__main__":
    source, target = sys.argv[1:3]
    with open(source) as f:
        expanded = expand(f.read())
    with open(target, "w") as f:
        json.dump(expanded, f, indent=1)
