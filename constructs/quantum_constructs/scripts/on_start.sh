#!/bin/bash
# SageMaker lifecycle "on start": runs as root on every start of the notebook instance, including the first.
# Rendered by quantum_constructs.notebook, which fills in the placeholder values below.
set -euo pipefail

QUANTUM_DIR=/home/ec2-user/SageMaker/.quantum
OUTPUTS_FILE=$QUANTUM_DIR/stack-outputs.json
IDLE_STOP_MINUTES="__IDLE_STOP_MINUTES__"
# Root-owned location: root's timer or cron must not run a file ec2-user can edit.
AUTOSTOP_PY=/usr/local/bin/quantum-autostop.py
AUTOSTOP_LOG=/var/log/quantum-autostop.log
SERVICE=/etc/systemd/system/quantum-autostop.service
TIMER=/etc/systemd/system/quantum-autostop.timer
CRON_DIR=/etc/cron.d
CRON_FILE=$CRON_DIR/quantum-autostop
METADATA_FILE=/opt/ml/metadata/resource-metadata.json

case "$IDLE_STOP_MINUTES" in
  '' | *[!0-9]*)
    echo "on_start: idle stop minutes must be a non-negative integer, got '$IDLE_STOP_MINUTES'" >&2
    exit 1
    ;;
esac

# The construct only knows literal values at synth time, so the partition, region and account come from the
# instance's own ARN (arn:PARTITION:sagemaker:REGION:ACCOUNT:notebook-instance/NAME).
read -r PARTITION REGION ACCOUNT <<<"$(/usr/bin/python3 -c 'import json, re, sys
arn = json.load(open(sys.argv[1]))["ResourceArn"]
m = re.fullmatch(r"arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):([0-9]{12}):notebook-instance/.+", arn)
print(*m.groups() if m else "")' "$METADATA_FILE" 2>/dev/null || true)"
if [ -z "$ACCOUNT" ]; then
  echo "on_start: no partition, region and account in the ResourceArn of $METADATA_FILE" >&2
  exit 1
fi

# Stack outputs (results bucket, prefix, region, allowed devices, jobs role), so researchers never type a bucket name.
# Written as ec2-user: the directory is theirs, so root must not follow links placed in it.
sudo -u ec2-user mkdir -p "$QUANTUM_DIR"
# shellcheck disable=SC2016  # expanded by the inner bash
sudo -u ec2-user bash -c 'sed -e "s/__RUNTIME_REGION__/$2/g" -e "s/__RUNTIME_ACCOUNT__/$3/g" -e "s/__RUNTIME_PARTITION__/$4/g" \
  >"$1.tmp" && chmod 0644 "$1.tmp" && mv -f "$1.tmp" "$1"' write-outputs "$OUTPUTS_FILE" "$REGION" "$ACCOUNT" "$PARTITION" <<'JSON'
__QUANTUM_CONFIG_JSON__
JSON
echo "on_start: wrote $OUTPUTS_FILE"

# Idle auto-stop: a systemd timer (AL2023 has no cron), else cron, else none. The checker runs on the system
# python: it needs only the standard library (boto3 is optional).
has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null; } # as sd_booted(3)
has_cron() { [ -d "$CRON_DIR" ] && { command -v crond || command -v cron || [ -x /usr/sbin/crond ]; } >/dev/null; }
sctl() { timeout 60 systemctl "$@"; } # SageMaker kills this script after 5 minutes

# autostop.py, gzipped: SageMaker takes at most 16384 base64 characters of this script.
install_checker() {
  base64 -d <<'B64' | gunzip >"$AUTOSTOP_PY.tmp"
__AUTOSTOP_PY_GZIP_BASE64__
B64
  chmod 0755 "$AUTOSTOP_PY.tmp"
  mv -f "$AUTOSTOP_PY.tmp" "$AUTOSTOP_PY"
}

autostop() {
  local scheduled="on_start: auto-stop after $IDLE_STOP_MINUTES idle minutes, log: $AUTOSTOP_LOG, via"
  if [ "$IDLE_STOP_MINUTES" -eq 0 ]; then
    if [ -e "$TIMER" ] && has_systemd; then
      sctl stop quantum-autostop.timer || true
      sctl disable quantum-autostop.timer || true
      rm -f "$SERVICE" "$TIMER"
      sctl daemon-reload || true
    fi
    rm -f "$SERVICE" "$TIMER" "$CRON_FILE"
    echo "on_start: auto-stop disabled"
  elif has_systemd; then
    install_checker
    cat >"$SERVICE" <<UNIT
[Unit]
Description=Stop this notebook instance after $IDLE_STOP_MINUTES idle minutes

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 $AUTOSTOP_PY --idle-minutes $IDLE_STOP_MINUTES
StandardOutput=append:$AUTOSTOP_LOG
StandardError=append:$AUTOSTOP_LOG
UNIT
    # No Persistent=: it applies to OnCalendar= only. An OnBootSec= already past elapses when the timer starts.
    cat >"$TIMER" <<UNIT
[Unit]
Description=Check every 5 minutes whether this notebook instance is idle

[Timer]
OnBootSec=5min
OnUnitActiveSec=5min

[Install]
WantedBy=timers.target
UNIT
    chmod 0644 "$SERVICE" "$TIMER"
    rm -f "$CRON_FILE" # an earlier on_start may have used cron
    # Not enable --now: AL2's systemd 219 predates it (and append:, so there the log goes to the journal).
    sctl daemon-reload
    sctl enable quantum-autostop.timer
    sctl start --no-block quantum-autostop.timer
    echo "$scheduled systemd quantum-autostop.timer"
  elif has_cron; then
    install_checker
    cat >"$CRON_FILE" <<CRON
# Managed by the notebook on-start script: stop this instance after $IDLE_STOP_MINUTES idle minutes.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
*/5 * * * * root /usr/bin/python3 $AUTOSTOP_PY --idle-minutes $IDLE_STOP_MINUTES >>$AUTOSTOP_LOG 2>&1
CRON
    chmod 0644 "$CRON_FILE"
    echo "$scheduled cron"
  else
    echo "on_start: auto-stop not scheduled: neither systemd nor cron found" >&2
  fi
}

# Auto-stop never keeps the notebook from starting. The subshell needs its own -e and must not be the
# condition of an if, || or &&: bash ignores -e inside such a subshell.
set +e
(
  set -e
  autostop
)
AUTOSTOP_STATUS=$?
set -e
if [ "$AUTOSTOP_STATUS" -ne 0 ]; then
  rm -f "$AUTOSTOP_PY.tmp" || true
  echo "on_start: auto-stop setup failed (exit $AUTOSTOP_STATUS); the notebook starts without idle auto-stop" >&2
fi
