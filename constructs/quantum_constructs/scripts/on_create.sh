#!/bin/bash
# SageMaker lifecycle "on create": runs once, as root, when the notebook instance is first created.
# Rendered by quantum_constructs.notebook, which pins the SDK version and the package source below.
set -euo pipefail

BRAKET_SDK_VERSION="__BRAKET_SDK_VERSION__"    # empty: the install is skipped
PACKAGE_INDEX="__PIP_INDEX_URL__"              # empty: pip's own configuration (PyPI), or the mirror
MIRROR_DOMAIN="__CODEARTIFACT_DOMAIN__"        # empty: no CodeArtifact mirror
MIRROR_REPOSITORY="__CODEARTIFACT_REPOSITORY__"
KERNEL_PYTHON=/home/ec2-user/anaconda3/envs/python3/bin/python
QUANTUM_DIR=/home/ec2-user/SageMaker/.quantum
METADATA_FILE=/opt/ml/metadata/resource-metadata.json

if [ -z "$BRAKET_SDK_VERSION" ]; then
  echo "on_create: amazon-braket-sdk install skipped (braket_sdk_version=None): nothing is installed," \
    "the python3 kernel uses the platform image's amazon-braket-sdk, if the image has one"
  exit 0
fi
BRAKET_SDK="amazon-braket-sdk==$BRAKET_SDK_VERSION"

if [ ! -x "$KERNEL_PYTHON" ]; then
  # A failing on-create script leaves the instance Failed; a missing SDK is easier to recover from.
  echo "on_create: $KERNEL_PYTHON not found, skipping amazon-braket-sdk install" >&2
  exit 0
fi

# With a CodeArtifact mirror: the region from the instance's own ARN (as on_start.sh reads it) and the
# aws CLI found here, as root (sudo's secure_path may not have it). Errors are the background job's to report.
REGION=""
AWS_CLI=""
if [ -n "$MIRROR_DOMAIN" ]; then
  REGION="$(/usr/bin/python3 -c 'import json, re, sys
arn = json.load(open(sys.argv[1]))["ResourceArn"]
m = re.fullmatch(r"arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):[0-9]{12}:notebook-instance/.+", arn)
print(m.group(1) if m else "")' "$METADATA_FILE" 2>/dev/null || true)"
  AWS_CLI="$(command -v aws 2>/dev/null || true)"
  if [ -z "$AWS_CLI" ] && [ -x /home/ec2-user/anaconda3/bin/aws ]; then AWS_CLI=/home/ec2-user/anaconda3/bin/aws; fi
fi

# Writes its input with every occurrence of the environment's MASK replaced by ****: literal text, not a pattern.
# shellcheck disable=SC2016  # an awk program
MASK_AWK='{ m = ENVIRON["MASK"]; s = $0; out = ""
  while (m != "" && (i = index(s, m)) > 0) { out = out substr(s, 1, i - 1) "****"; s = substr(s, i + length(m)) }
  print out s; fflush() }'

# Everything runs as ec2-user so the conda env and the log stay owned by the notebook user.
sudo -u ec2-user mkdir -p "$QUANTUM_DIR"

# Lifecycle scripts are killed after 5 minutes and pip can take longer, so install in the background.
# All three standard streams are detached, otherwise SageMaker waits for the background job.
# A failure leaves INSTALL-FAILED next to the log, where a researcher sees it, not only a log line.
# The CodeArtifact token lives only in this job's variables and the environment of pip and its masking awk
# (never in an argument, a file or the log): pip's output is written with the token masked, whatever pip prints.
# shellcheck disable=SC2016  # the inner script is expanded by the inner bash
sudo -H -u ec2-user nohup bash -c '
  set -o pipefail
  dir=$1 sdk=$2 python=$3 index=$4 domain=$5 repository=$6 region=$7 aws=$8 mask_awk=$9
  token=""
  now() { date -u +%FT%TZ; }
  failed() {
    echo "$sdk could not be installed: $1; see $dir/install.log" >"$dir/INSTALL-FAILED"
    echo "$(now) FAILED to install $sdk: $1"
  }
  masked() { MASK="$token" awk "$mask_awk"; }
  install_sdk() {
    local shown="the default index"
    if [ -n "$domain" ]; then
      if [ -z "$region" ]; then
        failed "no region in the ResourceArn of the instance metadata"
        return
      fi
      if [ -z "$aws" ]; then
        failed "no aws CLI to get a CodeArtifact token with"
        return
      fi
      if ! token="$("$aws" codeartifact get-authorization-token --domain "$domain" --region "$region" \
        --duration-seconds 3600 --query authorizationToken --output text)" || [ -z "$token" ] || [ "$token" = None ]; then
        token=""
        failed "no CodeArtifact authorization token for domain $domain in $region"
        return
      fi
      local endpoint
      if ! endpoint="$("$aws" codeartifact get-repository-endpoint --domain "$domain" --repository "$repository" \
        --format pypi --region "$region" --query repositoryEndpoint --output text)"; then
        endpoint=""
      fi
      case "$endpoint" in
        https://?*) ;;
        *)
          failed "no pypi endpoint for CodeArtifact repository $repository of domain $domain in $region"
          return
          ;;
      esac
      # CodeArtifact User Guide, "Configure and use pip with CodeArtifact": the index is the repository
      # endpoint with aws:TOKEN@ after https:// and simple/ at the end (the URL must end with a slash).
      endpoint="$(printf "%s" "$endpoint" | sed -e "s|/*\$|/simple/|")"
      PIP_INDEX_URL="https://aws:$token@$(printf "%s" "$endpoint" | sed -e "s|^https://||")"
      export PIP_INDEX_URL
      shown="$endpoint (CodeArtifact repository $repository of domain $domain)"
    elif [ -n "$index" ]; then
      export PIP_INDEX_URL="$index"
      shown="$index"
    fi
    echo "$(now) installing $sdk from $shown"
    if "$python" -m pip install --no-input --disable-pip-version-check "$sdk" 2>&1 | masked; then
      rm -f "$dir/INSTALL-FAILED"
      echo "$(now) installed $sdk"
    else
      echo "$sdk could not be installed; see $dir/install.log" >"$dir/INSTALL-FAILED"
      echo "$(now) FAILED to install $sdk"
    fi
  }
  install_sdk >>"$dir/install.log" 2>&1
' install-braket-sdk "$QUANTUM_DIR" "$BRAKET_SDK" "$KERNEL_PYTHON" "$PACKAGE_INDEX" \
  "$MIRROR_DOMAIN" "$MIRROR_REPOSITORY" "$REGION" "$AWS_CLI" "$MASK_AWK" </dev/null >/dev/null 2>&1 &

if [ -n "$MIRROR_DOMAIN" ]; then
  echo "on_create: installing $BRAKET_SDK from CodeArtifact ($MIRROR_DOMAIN/$MIRROR_REPOSITORY) in the background," \
    "log: $QUANTUM_DIR/install.log"
else
  echo "on_create: installing $BRAKET_SDK in the background, log: $QUANTUM_DIR/install.log"
fi
