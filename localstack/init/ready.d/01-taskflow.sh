#!/bin/bash
# LocalStack init hook: the same resources as the template and `xtask bootstrap`. The
# table's definition is table.json beside this file, and the consumers' queues and
# subscriptions are the blocks after the `# make gen:` lines, all written by `make gen`.
# (make dev also bootstraps idempotently, so this hook is for using LocalStack on its own.)
set -euo pipefail
here=$(dirname "$0")

awslocal dynamodb create-table --cli-input-json "file://$here/table.json"
awslocal dynamodb update-time-to-live --table-name taskflow \
  --time-to-live-specification Enabled=true,AttributeName=expires_at

queue_arn() {
  awslocal sqs get-queue-attributes --attribute-names QueueArn \
    --queue-url "$(awslocal sqs get-queue-url --queue-name "$1" --output text --query QueueUrl)" \
    --output text --query Attributes.QueueArn
}

# A queue with its dead-letter queue, as xtask bootstrap makes them.
queue_with_dead_letters() {
  local name=$1 dlq_arn
  awslocal sqs create-queue --queue-name "$name-dlq"
  dlq_arn=$(queue_arn "$name-dlq")
  awslocal sqs create-queue --queue-name "$name" --attributes \
    "{\"VisibilityTimeout\":\"2\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":3}\"}"
}
# make gen: the consumers' queues
queue_with_dead_letters taskflow-audit
queue_with_dead_letters taskflow-notifications
queue_with_dead_letters taskflow-deletions
queue_with_dead_letters taskflow-exports
queue_with_dead_letters taskflow-webhooks

# The event topic, each consumer's queue subscribed to the types it wants (as `Consumer` in
# shared/src/domain/events.rs says, and the template and xtask bootstrap subscribe them).
topic_arn=$(awslocal sns create-topic --name taskflow-events --output text --query TopicArn)
# What SNS cannot hand to the queue waits in the consumer's dead-letter queue.
subscribe() {
  local queue=$1 policy=${2:-} endpoint attributes
  endpoint=$(queue_arn "$queue")
  attributes=$(python3 -c 'import json, sys
attributes = {"RawMessageDelivery": "true", "RedrivePolicy": json.dumps({"deadLetterTargetArn": sys.argv[2]})}
if sys.argv[1]:
    attributes["FilterPolicy"] = sys.argv[1]
print(json.dumps(attributes))' "$policy" "$(queue_arn "$queue-dlq")")
  awslocal sns subscribe --topic-arn "$topic_arn" --protocol sqs --notification-endpoint "$endpoint" \
    --attributes "$attributes"
}
# make gen: the consumers' subscriptions
subscribe taskflow-audit
subscribe taskflow-notifications '{"type":["task.created","task.assigned","invitation.created","password_reset.requested","email_verification.requested","webhook.disabled"]}'
subscribe taskflow-deletions '{"type":["organization.deletion_requested"]}'
subscribe taskflow-exports '{"type":["organization.export_requested"]}'
subscribe taskflow-webhooks '{"type":["task.created","task.updated","task.assigned","task.deleted","member.joined","member.role_changed","member.removed","invitation.created","invitation.revoked","organization.updated","api_key.created","api_key.revoked","webhook.created","webhook.updated","webhook.disabled","webhook.deleted","webhook.ping"]}'

# The export bucket, encrypted, its documents gone after a day (as the template makes it).
awslocal s3api create-bucket --bucket taskflow-exports
awslocal s3api put-bucket-encryption --bucket taskflow-exports --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
awslocal s3api put-bucket-lifecycle-configuration --bucket taskflow-exports --lifecycle-configuration \
  '{"Rules":[{"ID":"expire-exports","Status":"Enabled","Filter":{"Prefix":"exports/"},"Expiration":{"Days":1},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}'
