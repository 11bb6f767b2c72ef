"""jobs.stack_outputs: synthesized outputs, overridden by every form of deployed outputs file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.errors import UsageError
from jobs.stack_outputs import GATEWAY_OUTPUTS, StackOutputs, resolve_outputs
from stacks.config import DM1, ENVIRONMENTS, OUTPUT_NAMES, SV1


BUCKET = "fake-results-dev"
NOTEBOOK = "fake-notebook-dev"
ROLE_ARN = "arn:aws:iam::123456789012:role/fake-notebook-role"
JOBS_ROLE_ARN = "arn:aws:iam::123456789012:role/service-role/AmazonBraketJobsExecutionRole-fake"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"


def synthesized_stack(**output_overrides: object) -> dict:
    """A minimal cdk.tf.json: literal outputs, references to literal arguments and to computed attributes."""
    outputs = {
        "environment": "dev",
        "region": "us-east-1",
        "results_prefix": "results",
        "allowed_devices": [DM1, SV1],
        "results_bucket_name": "${aws_s3_bucket.Results_Bucket_1.bucket}",
        "results_bucket_arn": "${aws_s3_bucket.Results_Bucket_1.arn}",
        "notebook_role_arn": "${aws_iam_role.NotebookRole_1.arn}",
        "notebook_name": "${aws_sagemaker_notebook_instance.Notebook_1.name}",
        "jobs_role_arn": "${aws_iam_role.JobsExecutionRole_1.arn}",
        "jobs_prefix": "jobs",
        "spending_limits": {},
        "submission": "direct",
        **dict.fromkeys(GATEWAY_OUTPUTS),  # null without a gateway, as QuantumStack synthesizes them
        **output_overrides,
    }
    return {
        "output": {name: {"value": value} for name, value in outputs.items()},
        "resource": {
            "aws_s3_bucket": {"Results_Bucket_1": {"bucket": BUCKET, "force_destroy": True}},
            "aws_iam_role": {
                "NotebookRole_1": {"name_prefix": "nb-", "assume_role_policy": "${data.x.y.json}"},
                "JobsExecutionRole_1": {"name": "AmazonBraketJobsExecutionRole-fake", "path": "/service-role/"},
            },
            "aws_sagemaker_notebook_instance": {
                "Notebook_1": {"name": NOTEBOOK, "role_arn": "${aws_iam_role.NotebookRole_1.arn}"}
            },
        },
    }


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_json(tmp_path / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json", synthesized_stack())
    return tmp_path


def deployed_values(env: str = "dev", role_arn: str = ROLE_ARN) -> dict:
    return {
        "environment": env,
        "region": "us-east-1",
        "results_bucket_name": "deployed-bucket",  # differs from the synthesized one: deployed wins
        "results_bucket_arn": BUCKET_ARN,
        "results_prefix": "results",
        "notebook_role_arn": role_arn,
        "notebook_name": NOTEBOOK,
        "allowed_devices": [SV1],
        "jobs_role_arn": JOBS_ROLE_ARN,
        "jobs_prefix": "jobs",
        "spending_limits": {QPU: "50"},
        "submission": "direct",
        # No gateway outputs: Terraform keeps no output whose value is null.
        "not_an_output_of_ours": "ignored",
    }


def cdktf_deploy(values: dict, env: str = "dev") -> dict:
    return {env: values}


def cdktf_output(values: dict, env: str = "dev") -> dict:
    return values


def terraform_output_json(values: dict, env: str = "dev") -> dict:
    return {
        name: {"value": value, "type": ["tuple", ["string"]] if isinstance(value, list) else "string", "sensitive": False}
        for name, value in values.items()
    }


def tfstate(values: dict, env: str = "dev") -> dict:
    return {
        "version": 4,
        "terraform_version": "1.10.0",
        "serial": 7,
        "lineage": "00000000-0000-0000-0000-000000000000",
        "outputs": {name: {"value": value, "type": "string"} for name, value in values.items()},
        "resources": [],
    }


# Each form and where auto-discovery finds it.
FORMS = {
    "cdktf deploy --outputs-file": (cdktf_deploy, "outputs/dev.json"),
    "cdktf output --outputs-file": (cdktf_output, "outputs.json"),
    "terraform output -json": (terraform_output_json, "outputs.json"),
    "terraform state": (tfstate, "terraform.dev.tfstate"),
}


def usage_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message, "a UsageError is one line"
    return message


# --- synthesized only -------------------------------------------------------------------------


def test_synthesized_literals_and_references_resolve_and_computed_attributes_are_unknown(root):
    outputs = resolve_outputs("dev", root=root)

    assert outputs.environment == "dev"
    assert outputs.region == "us-east-1"
    assert outputs.results_prefix == "results"
    assert outputs.allowed_devices == (DM1, SV1)
    assert outputs.results_bucket_name == BUCKET
    assert outputs.notebook_name == NOTEBOOK
    assert outputs.results_bucket_arn is None
    assert outputs.notebook_role_arn is None
    assert outputs.jobs_prefix == "jobs"  # a literal: known at synth
    assert outputs.jobs_role_arn is None  # computed by AWS: known after deploy
    assert dict(outputs.sources) == {name: "synthesized" for name in OUTPUT_NAMES}
    assert list(outputs.to_dict()) == list(OUTPUT_NAMES)
    assert outputs.to_dict()["results_bucket_name"] == BUCKET


def test_require_returns_known_values_and_tells_what_to_run_for_unknown_ones(root):
    outputs = resolve_outputs("dev", root=root)

    assert outputs.require("results_bucket_name") == BUCKET
    with pytest.raises(UsageError) as excinfo:
        outputs.require("notebook_role_arn")
    message = usage_error(excinfo)
    assert "notebook_role_arn" in message and "'dev'" in message and "deploy" in message
    assert "npx cdktf deploy dev --outputs-file outputs/dev.json" in message
    assert "--outputs FILE" in message


def test_the_jobs_prefix_is_known_at_synth_and_the_jobs_role_only_after_deploy(root):
    outputs = resolve_outputs("dev", root=root)
    assert outputs.require("jobs_prefix") == "jobs"
    with pytest.raises(UsageError) as excinfo:
        outputs.require("jobs_role_arn")
    assert "jobs_role_arn" in usage_error(excinfo) and "npx cdktf deploy dev" in usage_error(excinfo)
    deployed = write_json(root / "outputs/dev.json", cdktf_deploy(deployed_values()))
    assert resolve_outputs("dev", root=root).require("jobs_role_arn") == JOBS_ROLE_ARN
    assert resolve_outputs("dev", root=root).sources["jobs_role_arn"] == str(deployed)


@pytest.mark.parametrize(
    "value",
    [
        "nb-${aws_sagemaker_notebook_instance.Notebook_1.name}",  # literal text mixed with a reference
        "${aws_sagemaker_notebook_instance.Notebook_1.name}-${aws_s3_bucket.Results_Bucket_1.bucket}",
        "${data.aws_caller_identity.current.account_id}",  # data sources are known at plan
        "${aws_sagemaker_notebook_instance.Notebook_1.role_arn}",  # argument is itself a reference
        "${aws_sagemaker_notebook_instance.Missing_1.name}",  # no such resource
        "${aws_iam_role.NotebookRole_1.assume_role_policy}",
    ],
)
def test_values_that_are_not_a_lone_reference_to_a_literal_are_unknown(tmp_path, value):
    write_json(tmp_path / "cdktf.out/stacks/dev/cdk.tf.json", synthesized_stack(notebook_name=value))
    outputs = resolve_outputs("dev", root=tmp_path)
    assert outputs.notebook_name is None
    assert outputs.results_bucket_name == BUCKET  # the rest still resolves


# --- deployed outputs -------------------------------------------------------------------------


def assert_deployed(outputs: StackOutputs, path: Path) -> None:
    assert outputs.notebook_role_arn == ROLE_ARN
    assert outputs.results_bucket_arn == BUCKET_ARN
    assert outputs.results_bucket_name == "deployed-bucket"
    assert outputs.allowed_devices == (SV1,)
    assert outputs.jobs_role_arn == JOBS_ROLE_ARN and outputs.jobs_prefix == "jobs"
    assert "not_an_output_of_ours" not in outputs.to_dict()
    assert outputs.submission == "direct" and all(getattr(outputs, name) is None for name in GATEWAY_OUTPUTS)
    assert dict(outputs.sources) == {
        name: "synthesized" if name in GATEWAY_OUTPUTS else str(path) for name in OUTPUT_NAMES
    }


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_deployed_form_overrides_synthesized_values_when_given_explicitly(root, form):
    make, _ = FORMS[form]
    path = write_json(root / "elsewhere" / "deployed.json", make(deployed_values()))
    assert_deployed(resolve_outputs("dev", root=root, outputs_file=path), path)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_deployed_form_is_discovered_where_the_tools_write_it(root, form):
    make, location = FORMS[form]
    path = write_json(root / location, make(deployed_values()))
    assert_deployed(resolve_outputs("dev", root=root), path)


def test_a_partial_deployed_file_overrides_only_what_it_holds(root):
    path = write_json(root / "outputs.json", {"notebook_role_arn": ROLE_ARN})
    outputs = resolve_outputs("dev", root=root)
    assert outputs.notebook_role_arn == ROLE_ARN
    assert outputs.results_bucket_name == BUCKET
    assert outputs.results_bucket_arn is None
    assert outputs.sources["notebook_role_arn"] == str(path)
    assert outputs.sources["results_bucket_name"] == "synthesized"


def test_auto_discovery_order_is_outputs_env_json_then_outputs_json_then_state(root):
    per_env = write_json(root / "outputs/dev.json", cdktf_deploy(deployed_values(role_arn="arn:per-env")))
    shared = write_json(root / "outputs.json", cdktf_output(deployed_values(role_arn="arn:shared")))
    state = write_json(root / "terraform.dev.tfstate", tfstate(deployed_values(role_arn="arn:state")))

    first = resolve_outputs("dev", root=root)
    assert (first.notebook_role_arn, first.sources["notebook_role_arn"]) == ("arn:per-env", str(per_env))
    per_env.unlink()
    second = resolve_outputs("dev", root=root)
    assert (second.notebook_role_arn, second.sources["notebook_role_arn"]) == ("arn:shared", str(shared))
    shared.unlink()
    third = resolve_outputs("dev", root=root)
    assert (third.notebook_role_arn, third.sources["notebook_role_arn"]) == ("arn:state", str(state))
    state.unlink()
    assert resolve_outputs("dev", root=root).notebook_role_arn is None


def test_auto_discovery_skips_files_without_this_stacks_outputs(root):
    write_json(root / "outputs/dev.json", {})  # written before any output existed
    write_json(root / "outputs.json", cdktf_deploy(deployed_values(env="prod"), env="prod"))  # prod only
    state = write_json(root / "terraform.dev.tfstate", tfstate(deployed_values()))
    outputs = resolve_outputs("dev", root=root)
    assert outputs.notebook_role_arn == ROLE_ARN
    assert outputs.sources["notebook_role_arn"] == str(state)

    write_json(state, tfstate({}))  # a destroyed stack's state has no outputs
    outputs = resolve_outputs("dev", root=root)
    assert outputs.notebook_role_arn is None
    assert set(outputs.sources.values()) == {"synthesized"}


def test_a_nested_file_with_several_stacks_gives_this_stacks_outputs(root):
    path = write_json(
        root / "outputs.json",
        {"prod": deployed_values(env="prod", role_arn="arn:prod"), "dev": deployed_values(role_arn="arn:dev")},
    )
    outputs = resolve_outputs("dev", root=root, outputs_file=path)
    assert outputs.notebook_role_arn == "arn:dev"
    assert outputs.environment == "dev"


def test_explicit_outputs_file_wins_over_discovered_ones(root):
    write_json(root / "outputs/dev.json", cdktf_deploy(deployed_values(role_arn="arn:discovered")))
    path = write_json(root / "mine.json", cdktf_output(deployed_values(role_arn="arn:explicit")))
    outputs = resolve_outputs("dev", root=root, outputs_file=path)
    assert outputs.notebook_role_arn == "arn:explicit"
    assert outputs.sources["notebook_role_arn"] == str(path)


# --- refusals ---------------------------------------------------------------------------------


def test_explicit_outputs_file_that_does_not_exist(root):
    missing = root / "nope.json"
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("dev", root=root, outputs_file=missing)
    message = usage_error(excinfo)
    assert str(missing) in message and "does not exist" in message


def test_explicit_outputs_file_for_another_stack_names_the_stacks_it_has(root):
    path = write_json(root / "outputs.json", cdktf_deploy(deployed_values(env="prod"), env="prod"))
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("dev", root=root, outputs_file=path)
    message = usage_error(excinfo)
    assert str(path) in message
    assert "no outputs for stack 'dev'" in message and "'prod'" in message


def test_explicit_outputs_file_without_any_outputs(root):
    path = write_json(root / "outputs.json", {"something": "else"})
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("dev", root=root, outputs_file=path)
    assert "no outputs for stack 'dev'" in usage_error(excinfo)


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "discovered"])
def test_malformed_outputs_file_names_the_file_and_the_error_position(root, explicit):
    path = root / "outputs.json"
    path.write_text('{"dev": {"environment": "dev",}}')
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("dev", root=root, outputs_file=path if explicit else None)
    message = usage_error(excinfo)
    assert str(path) in message and "not valid JSON" in message
    assert "line 1 column 31" in message


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "discovered"])
def test_deployed_environment_that_differs_is_refused(root, explicit):
    path = write_json(root / "outputs.json", cdktf_output(deployed_values(env="prod")))
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("dev", root=root, outputs_file=path if explicit else None)
    message = usage_error(excinfo)
    assert str(path) in message and "'prod'" in message and "'dev'" in message


def test_unknown_environment_lists_the_allowed_ones(root):
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("qa", root=root)
    message = usage_error(excinfo)
    assert "'qa'" in message
    assert ", ".join(sorted(ENVIRONMENTS)) in message


def test_never_synthesized_stack_tells_how_to_synthesize(root):
    with pytest.raises(UsageError) as excinfo:
        resolve_outputs("staging", root=root)
    message = usage_error(excinfo)
    assert "'staging'" in message and "synthesized" in message
    assert "pipenv run python main.py" in message and "npx cdktf synth" in message


def test_root_defaults_to_the_current_directory(root, monkeypatch):
    monkeypatch.chdir(root)
    assert resolve_outputs("dev").results_bucket_name == BUCKET


# --- the real stack ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_root(main_synth) -> Path:
    """A root holding only main.py's real synthesis (no deployed outputs files)."""
    run, outdir = main_synth
    assert run.returncode == 0, run.stderr
    return outdir.parent


def test_real_synthesized_dev_stack(real_root):
    dev = ENVIRONMENTS["dev"]
    outputs = resolve_outputs("dev", root=real_root)

    assert outputs.environment == "dev"
    assert outputs.region == dev.region
    assert outputs.results_prefix == dev.results_prefix
    assert outputs.results_bucket_name == "amazon-braket-quantum-cloud-results-dev" == dev.results_bucket_name
    assert outputs.notebook_name == "amazon-braket-quantum-cloud-dev" == dev.notebook_name
    assert isinstance(outputs.allowed_devices, tuple)
    assert sorted(outputs.allowed_devices) == sorted(dev.allowed_devices)
    assert outputs.notebook_role_arn is None
    assert outputs.results_bucket_arn is None
    assert outputs.jobs_prefix == "jobs"
    assert outputs.jobs_role_arn is None
    assert set(outputs.sources.values()) == {"synthesized"}


def test_spending_limits_are_an_object_of_amount_texts(root):
    """The synthesized value (a literal) is read, and a deployed one must be device ARN -> text."""
    write_json(root / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json", synthesized_stack(spending_limits={QPU: "0"}))
    assert resolve_outputs("dev", root=root).spending_limits == {QPU: "0"}
    for bad in ([QPU], {QPU: 50}, "50"):
        path = write_json(root / "bad.json", {**deployed_values(), "spending_limits": bad})
        with pytest.raises(UsageError, match="output spending_limits is .*: expected an object of device ARNs to amounts"):
            resolve_outputs("dev", root=root, outputs_file=path)


# --- the DMZ gateway's outputs ------------------------------------------------------------------

GATEWAY_ROLE_ARN = "arn:aws:iam::123456789012:role/QuantumGateway-prod-Gateway"
TRUST_ANCHOR_ARN = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
PROFILE_ARN = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"


def gateway_stack() -> dict:
    """A prod-like stack with a gateway: the audit bucket's name is a literal, the ARNs are computed."""
    doc = synthesized_stack(
        environment="prod",
        submission="gateway",
        gateway_role_arn="${aws_iam_role.Gateway_Role_1.arn}",
        gateway_trust_anchor_arn="${aws_rolesanywhere_trust_anchor.Gateway_TrustAnchor_1.arn}",
        gateway_profile_arn="${aws_rolesanywhere_profile.Gateway_Profile_1.arn}",
        audit_bucket_name="${aws_s3_bucket.Audit_Bucket_1.bucket}",
    )
    doc["resource"]["aws_s3_bucket"]["Audit_Bucket_1"] = {"bucket": "quantum-cloud-gateway-audit-prod", "object_lock_enabled": True}
    return doc


def test_gateway_outputs_resolve_at_synth_and_after_deploy(tmp_path):
    write_json(tmp_path / "cdktf.out/stacks/prod/cdk.tf.json", gateway_stack())
    synthesized = resolve_outputs("prod", root=tmp_path)
    assert synthesized.submission == "gateway"
    assert synthesized.audit_bucket_name == "quantum-cloud-gateway-audit-prod"  # a literal argument: known at synth
    with pytest.raises(UsageError) as excinfo:
        synthesized.require("gateway_role_arn")  # computed by AWS
    assert "only known after deploy" in usage_error(excinfo) and "npx cdktf deploy prod" in usage_error(excinfo)

    deployed = {
        **deployed_values(env="prod"),
        "submission": "gateway",
        "gateway_role_arn": GATEWAY_ROLE_ARN,
        "gateway_trust_anchor_arn": TRUST_ANCHOR_ARN,
        "gateway_profile_arn": PROFILE_ARN,
        "audit_bucket_name": "quantum-cloud-gateway-audit-prod",
    }
    for make, _ in FORMS.values():
        path = write_json(tmp_path / "deployed.json", make(deployed, env="prod"))
        outputs = resolve_outputs("prod", root=tmp_path, outputs_file=path)
        assert (outputs.require("gateway_role_arn"), outputs.require("gateway_trust_anchor_arn"),
                outputs.require("gateway_profile_arn")) == (GATEWAY_ROLE_ARN, TRUST_ANCHOR_ARN, PROFILE_ARN)
        assert outputs.sources["gateway_profile_arn"] == str(path)
        assert outputs.to_dict()["audit_bucket_name"] == "quantum-cloud-gateway-audit-prod"


def test_a_stack_without_gateway_says_so_instead_of_asking_for_a_deploy(root):
    outputs = resolve_outputs("dev", root=root)
    assert outputs.submission == "direct"
    for name in GATEWAY_OUTPUTS:
        assert getattr(outputs, name) is None
        with pytest.raises(UsageError) as excinfo:
            outputs.require(name)
        message = usage_error(excinfo)
        assert "has no DMZ gateway" in message and "'dev'" in message and name in message and "deploy" not in message


def test_gateway_outputs_must_be_text(root):
    for bad in ([GATEWAY_ROLE_ARN], {"arn": GATEWAY_ROLE_ARN}, 12):
        path = write_json(root / "bad.json", {**deployed_values(), "gateway_role_arn": bad})
        with pytest.raises(UsageError, match="output gateway_role_arn is .*: expected text"):
            resolve_outputs("dev", root=root, outputs_file=path)


def test_real_synthesized_gateway_outputs(project_root):
    """prod synthesizes with a gateway: its audit bucket's name is known before any deploy, the role and
    the Roles Anywhere ARNs only after; dev's gateway outputs are null."""
    prod = ENVIRONMENTS["prod"]
    outputs = resolve_outputs("prod", root=project_root)
    assert outputs.submission == "gateway" == prod.submission
    assert outputs.audit_bucket_name == prod.audit_bucket_name
    assert (outputs.gateway_role_arn, outputs.gateway_trust_anchor_arn, outputs.gateway_profile_arn) == (None, None, None)
    dev = resolve_outputs("dev", root=project_root)
    assert dev.submission == "direct" and all(getattr(dev, name) is None for name in GATEWAY_OUTPUTS)
