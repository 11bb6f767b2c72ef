#!/bin/bash
# SageMaker lifecycle "on create": runs once, as root, when the notebook instance is first created.
# Rendered by quantum_constructs.notebook, which pins the SDK version below.
set -euo pipefail

BRAKET_SDK="amazon-braket-sdk==__BRAKET_SDK_VERSION__"
KERNEL_PYTHON=/home/ec2-user/anaconda3/envs/python3/bin/python
QUANTUM_DIR=/home/ec2-user/SageMaker/.quantum

if [ ! -x "$KERNEL_PYTHON" ]; then
  # A failing on-create script leaves the instance Failed; a missing SDK is easier to recover from.
  echo "on_create: $KERNEL_PYTHON not found, skipping amazon-braket-sdk install" >&2
  exit 0
fi

# Everything runs as ec2-user so the conda env and the log stay owned by the notebook user.
sudo -u ec2-user mkdir -p "$QUANTUM_DIR"

# Lifecycle scripts are killed after 5 minutes and pip can take longer, so install in the background.
# All three standard streams are detached, otherwise SageMaker waits for the background job.
# shellcheck disable=SC2016  # the inner script is expanded by the inner bash
sudo -H -u ec2-user nohup bash -c '
  {
    echo "$(date -u +%FT%TZ) installing $2"
    if "$3" -m pip install --no-input --disable-pip-version-check "$2"; then
      echo "$(date -u +%FT%TZ) installed $2"
    else
      echo "$(date -u +%FT%TZ) FAILED to install $2"
    fi
  } >>"$1/install.log" 2>&1
' install-braket-sdk "$QUANTUM_DIR" "$BRAKET_SDK" "$KERNEL_PYTHON" </dev/null >/dev/null 2>&1 &

echo "on_create: installing $BRAKET_SDK in the background, log: $QUANTUM_DIR/install.log"
