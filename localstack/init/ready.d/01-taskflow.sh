#!/bin/bash
# LocalStack init hook: the same resources as the template and `devstack bootstrap`. The
# table's definition is table.json beside this file, which a test keeps equal to the code's.
# (make dev also bootstraps idempotently, so this hook is for using LocalStack on its own.)
set -euo pipefail
here=$(dirname "$0")

awslocal dynamodb create-table --cli-input-json "file://$here/table.json"
awslocal dynamodb update-time-to-live --table-name taskflow \
  --time-to-live-specification Enabled=true,AttributeName=expires_at

awslocal sqs create-queue --queue-name taskflow-notifications-dlq
dlq_arn=$(awslocal sqs get-queue-attributes --attribute-names QueueArn \
  --queue-url "$(awslocal sqs get-queue-url --queue-name taskflow-notifications-dlq --output text --query QueueUrl)" \
  --output text --query Attributes.QueueArn)
awslocal sqs create-queue --queue-name taskflow-notifications --attributes \
  "{\"VisibilityTimeout\":\"2\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":3}\"}"
