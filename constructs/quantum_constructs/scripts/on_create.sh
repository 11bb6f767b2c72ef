#!/bin/bash
# SageMaker lifecycle "on create": runs once, as root, when the notebook instance is first created.
# Rendered by quantum_constructs.notebook, which pins the SDK version and the package index below.
set -euo pipefail

BRAKET_SDK_VERSION="__BRAKET_SDK_VERSION__" # empty: the install is skipped
PACKAGE_INDEX="__PIP_INDEX_URL__"           # empty: pip's own configuration (PyPI)
KERNEL_PYTHON=/home/ec2-user/anaconda3/envs/python3/bin/python
QUANTUM_DIR=/home/ec2-user/SageMaker/.quantum

if [ -z "$BRAKET_SDK_VERSION" ]; then
  echo "on_create: amazon-braket-sdk install skipped (braket_sdk_version=None)"
  exit 0
fi
BRAKET_SDK="amazon-braket-sdk==$BRAKET_SDK_VERSION"

if [ ! -x "$KERNEL_PYTHON" ]; then
  # A failing on-create script leaves the instance Failed; a missing SDK is easier to recover from.
  echo "on_create: $KERNEL_PYTHON not found, skipping amazon-braket-sdk install" >&2
  exit 0
fi

# Everything runs as ec2-user so the conda env and the log stay owned by the notebook user.
sudo -u ec2-user mkdir -p "$QUANTUM_DIR"

# Lifecycle scripts are killed after 5 minutes and pip can take longer, so install in the background.
# All three standard streams are detached, otherwise SageMaker waits for the background job.
# A failure leaves INSTALL-FAILED next to the log, where a researcher sees it, not only a log line.
# shellcheck disable=SC2016  # the inner script is expanded by the inner bash
sudo -H -u ec2-user nohup bash -c '
  index="the default index"
  if [ -n "$4" ]; then export PIP_INDEX_URL="$4" && index="$4"; fi
  {
    echo "$(date -u +%FT%TZ) installing $2 from $index"
    if "$3" -m pip install --no-input --disable-pip-version-check "$2"; then
      rm -f "$1/INSTALL-FAILED"
      echo "$(date -u +%FT%TZ) installed $2"
    else
      echo "$2 could not be installed; see $1/install.log" >"$1/INSTALL-FAILED"
      echo "$(date -u +%FT%TZ) FAILED to install $2"
    fi
  } >>"$1/install.log" 2>&1
' install-braket-sdk "$QUANTUM_DIR" "$BRAKET_SDK" "$KERNEL_PYTHON" "$PACKAGE_INDEX" </dev/null >/dev/null 2>&1 &

echo "on_create: installing $BRAKET_SDK in the background, log: $QUANTUM_DIR/install.log"
