#!/bin/sh
# One-shot job (temporalio/admin-tools): creates the payments namespace and the payment search attributes
# (workflows/definitions.ts SEARCH_ATTRIBUTE). Idempotent, so it runs on every `docker compose up`.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${TEMPORAL_NAMESPACE_RETENTION:=30d}"
export TEMPORAL_ADDRESS

attempt=0
until temporal operator cluster health; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not healthy after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done

if ! temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_NAMESPACE_RETENTION"
  echo "namespace $TEMPORAL_NAMESPACE created"
fi

# Keep in step with SEARCH_ATTRIBUTE in workflows/definitions.ts (test/deploy checks it).
for spec in PaymentStatus:Keyword MerchantOrderReference:Keyword PluralOrderId:Keyword PaymentParkedOperation:Keyword \
  MerchantId:Keyword PaymentUpdatedAt:Datetime PaymentCreatedAt:Datetime; do
  name="${spec%%:*}"
  type="${spec#*:}"
  if temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
  fi
done
echo "namespace $TEMPORAL_NAMESPACE is ready"
