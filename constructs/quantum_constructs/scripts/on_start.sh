#!/bin/bash
# SageMaker lifecycle "on start": runs as root on every start of the notebook instance, including the first.
# Rendered by quantum_constructs.notebook, which fills in the placeholder values below.
set -euo pipefail

QUANTUM_DIR=/home/ec2-user/SageMaker/.quantum
OUTPUTS_FILE=$QUANTUM_DIR/stack-outputs.json
IDLE_STOP_MINUTES="__IDLE_STOP_MINUTES__"
# Root-owned location: root's cron must not run a file ec2-user can edit.
AUTOSTOP_PY=/usr/local/bin/quantum-autostop.py
AUTOSTOP_LOG=/var/log/quantum-autostop.log
CRON_FILE=/etc/cron.d/quantum-autostop
METADATA_FILE=/opt/ml/metadata/resource-metadata.json

case "$IDLE_STOP_MINUTES" in
  '' | *[!0-9]*)
    echo "on_start: idle stop minutes must be a non-negative integer, got '$IDLE_STOP_MINUTES'" >&2
    exit 1
    ;;
esac

# The construct only knows literal values at synth time, so the region comes from the instance itself.
REGION=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ResourceArn"].split(":")[3])' \
  "$METADATA_FILE")
case "$REGION" in
  '' | *[!a-z0-9-]*)
    echo "on_start: no region in $METADATA_FILE, got '$REGION'" >&2
    exit 1
    ;;
esac

# Stack outputs (results bucket, prefix, region, allowed devices), so researchers never type a bucket name.
# Written as ec2-user: the directory is theirs, so root must not follow links placed in it.
sudo -u ec2-user mkdir -p "$QUANTUM_DIR"
# shellcheck disable=SC2016  # expanded by the inner bash
sudo -u ec2-user bash -c 'sed "s/__RUNTIME_REGION__/$2/g" >"$1.tmp" && chmod 0644 "$1.tmp" && mv -f "$1.tmp" "$1"' \
  write-outputs "$OUTPUTS_FILE" "$REGION" <<'JSON'
__QUANTUM_CONFIG_JSON__
JSON
echo "on_start: wrote $OUTPUTS_FILE"

if [ "$IDLE_STOP_MINUTES" -gt 0 ]; then
  base64 -d >"$AUTOSTOP_PY" <<'B64'
__AUTOSTOP_PY_BASE64__
B64
  chmod 0755 "$AUTOSTOP_PY"
  # The system python is used because the script needs only the standard library (boto3 is optional).
  cat >"$CRON_FILE" <<CRON
# Managed by the notebook on-start script: stop this instance after $IDLE_STOP_MINUTES idle minutes.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
*/5 * * * * root /usr/bin/python3 $AUTOSTOP_PY --idle-minutes $IDLE_STOP_MINUTES >>$AUTOSTOP_LOG 2>&1
CRON
  chmod 0644 "$CRON_FILE"
  echo "on_start: auto-stop after $IDLE_STOP_MINUTES idle minutes, log: $AUTOSTOP_LOG"
else
  rm -f "$CRON_FILE"
  echo "on_start: auto-stop disabled"
fi
