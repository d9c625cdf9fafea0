#!/usr/bin/env bash
# Demo data through the public API (the seed's scripts/seed_data.py): two organizations,
# their admins, a member each (invited by mail: the token is read from the local
# emulator's sent mail), and a few tasks. Safe to run twice: existing accounts are reused.
set -euo pipefail
api=${1:-http://localhost:8000}
command -v jq >/dev/null || { echo "seed.sh needs jq (apt-get install jq)" >&2; exit 1; }

post() { curl -sS -X POST "$api$1" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} -d "$2"; }

endpoint=$(cat "$(dirname "$0")/../.local/endpoint" 2>/dev/null || true)

# The token of the newest mail to $1 whose subject contains $2, from the local emulator's
# sent mail (empty if none arrives within 10 s).
mailed_token() {
  local to=$1 subject=$2 token="" i
  for i in $(seq 1 50); do
    token=$(curl -fsS "$endpoint/moto-api/data.json" | jq -r --arg to "$to" --arg subject "$subject" \
      '[.ses.Message[]? | select((.destinations.ToAddresses | index($to)) and (.subject | contains($subject)))] | last | .body // empty' \
      | sed -n 's/.*<code>\([^<]*\)<\/code>.*/\1/p')
    [ -n "$token" ] && break
    sleep 0.2
  done
  echo "$token"
}

# Invites $2 into the organization of token $1 and accepts with password member123.
seed_member() {
  local token=$1 member=$2 invite_token
  if post /api/v1/auth/login "{\"email\":\"$member\",\"password\":\"member123\"}" | jq -e .access_token > /dev/null; then
    echo "$member already exists"
    return 0
  fi
  post /api/v1/invitations "{\"email\":\"$member\",\"role\":\"member\"}" "$token" > /dev/null
  invite_token=$(mailed_token "$member" "invited")
  [ -n "$invite_token" ] || { echo "no invitation mail reached $member" >&2; return 1; }
  local status
  status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$api/api/v1/auth/accept-invitation" \
    -H "Content-Type: application/json" -d "{\"token\":\"$invite_token\",\"password\":\"member123\"}")
  case "$status" in
    201) echo "invited and added $member (password member123)" ;;
    409) echo "$member already has an account" ;;
    *) echo "accepting the invitation of $member answered $status" >&2; return 1 ;;
  esac
}

seed_org() {
  local email=$1 name=$2 slug=$3 member=$4; shift 4
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
  local me verified
  me=$(curl -sS "$api/api/v1/auth/me" -H "Authorization: Bearer $token")
  verified=$(jq -r '.email_verified' <<< "$me")
  me=$(jq -r '.id' <<< "$me")
  # An admin verifies their address (the mailed token) before inviting anyone.
  if [ "$verified" != true ] && [ -n "$endpoint" ]; then
    local verification
    verification=$(mailed_token "$email" "Confirm your TaskFlow email address")
    [ -n "$verification" ] || { echo "no verification mail reached $email" >&2; exit 1; }
    post /api/v1/auth/verify-email "{\"token\":\"$verification\"}" > /dev/null
    echo "verified $email"
  fi
  [ -n "$endpoint" ] && seed_member "$token" "$member"
  for task in "$@"; do
    post /api/v1/tasks "${task//@ME@/$me}" "$token" | jq -c '{id, title, status, priority}'
  done
}

seed_org admin@acme.com "Acme Corp" acme-corp bob@acme.com \
  '{"title":"Set up CI pipeline","description":"GitHub Actions with cargo test","status":"in_progress","priority":"high","assignee_id":"@ME@"}' \
  '{"title":"Write onboarding guide","priority":"medium","due_date":"2026-12-15"}' \
  '{"title":"Quarterly planning","status":"done","priority":"low"}'
seed_org admin@techstart.com "TechStart Inc" techstart-inc carol@techstart.com \
  '{"title":"Launch landing page","priority":"high","assignee_id":"@ME@"}' \
  '{"title":"Customer interviews","description":"Five calls this week","status":"in_progress"}'
