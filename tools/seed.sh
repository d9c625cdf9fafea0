#!/usr/bin/env bash
# Demo data through the public API (the seed's scripts/seed_data.py): two organizations,
# their admins, and a few tasks each. Safe to run twice: existing accounts are reused.
set -euo pipefail
api=${1:-http://localhost:8000}
command -v jq >/dev/null || { echo "seed.sh needs jq (apt-get install jq)" >&2; exit 1; }

post() { curl -sS -X POST "$api$1" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} -d "$2"; }

seed_org() {
  local email=$1 name=$2 slug=$3; shift 3
  local status
  status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$api/api/v1/auth/register" -H "Content-Type: application/json" \
    -d "{\"email\":\"$email\",\"password\":\"admin123\",\"organization_name\":\"$name\",\"organization_slug\":\"$slug\"}")
  case "$status" in
    201) echo "registered $name ($email / admin123)" ;;
    409) echo "$name already exists; adding tasks to it" ;;
    *) echo "registering $name answered $status" >&2; exit 1 ;;
  esac
  local token
  token=$(post /api/v1/auth/login "{\"email\":\"$email\",\"password\":\"admin123\"}" | jq -r '.access_token')
  [ -n "$token" ] && [ "$token" != null ] || { echo "login as $email failed" >&2; exit 1; }
  local me
  me=$(curl -sS "$api/api/v1/auth/me" -H "Authorization: Bearer $token" | jq -r '.id')
  for task in "$@"; do
    post /api/v1/tasks "${task//@ME@/$me}" "$token" | jq -c '{id, title, status, priority}'
  done
}

seed_org admin@acme.com "Acme Corp" acme-corp \
  '{"title":"Set up CI pipeline","description":"GitHub Actions with cargo test","status":"in_progress","priority":"high","assignee_id":"@ME@"}' \
  '{"title":"Write onboarding guide","priority":"medium","due_date":"2026-12-15"}' \
  '{"title":"Quarterly planning","status":"done","priority":"low"}'
seed_org admin@techstart.com "TechStart Inc" techstart-inc \
  '{"title":"Launch landing page","priority":"high","assignee_id":"@ME@"}' \
  '{"title":"Customer interviews","description":"Five calls this week","status":"in_progress"}'
