"""Another team's CDKTF app: its own App and stack, the constructs from the installed library."""

import importlib.metadata
import re
from pathlib import Path

from quantum_constructs.cdk import App, TerraformStack
from quantum_constructs.aws.provider import AwsProvider

import quantum_constructs
from quantum_constructs import BraketNotebookRole, QuantumDevNotebook, QuantumResultsBucket
from tests.synth_helpers import only, resources, synth_json

REPO = Path(__file__).resolve().parents[1]


def test_library_is_an_installed_distribution_not_the_repo_root():
    dist = importlib.metadata.distribution("quantum-constructs")
    assert dist.metadata["Name"] == "quantum-constructs"
    assert Path(quantum_constructs.__file__).parent == REPO / "constructs" / "quantum_constructs"
    assert not (REPO / "constructs" / "__init__.py").exists()  # it would shadow the CDK `constructs` library


def test_a_separate_app_synthesizes_the_three_constructs(tmp_path):
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "research-team")
    AwsProvider(stack, "aws", region="eu-north-1")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-research-team")
    role = BraketNotebookRole(
        stack, "NotebookRole", allowed_device_arns=["arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"]
    )
    QuantumDevNotebook(stack, "Notebook", notebook_name="amazon-braket-research-team", role=role, results_bucket=bucket)
    app.synth()

    written = tmp_path / "stacks" / "research-team" / "cdk.tf.json"
    assert written.is_file()
    doc = synth_json(stack)
    assert only(resources(doc, "aws_s3_bucket"))["bucket"] == "amazon-braket-research-team"
    assert only(resources(doc, "aws_sagemaker_notebook_instance"))["name"] == "amazon-braket-research-team"
    # The default role name is cut to IAM's 64-character limit, with a hash of the whole name.
    name = only(resources(doc, "aws_iam_role"))["name"]
    assert name.startswith("AmazonBraketServiceSageMakerNotebookRole-research-team-") and len(name) <= 64
    assert re.fullmatch(r".*-[0-9a-f]{8}", name)


def test_the_library_describes_itself_to_ides_and_type_checkers():
    import inspect

    from quantum_constructs import BraketBudget, ExistingNotebookRole

    package = Path(quantum_constructs.__file__).parent
    assert (package / "py.typed").is_file()
    assert quantum_constructs.__version__ == importlib.metadata.version("quantum-constructs")
    for cls in (QuantumResultsBucket, BraketNotebookRole, ExistingNotebookRole, QuantumDevNotebook, BraketBudget):
        parameters = inspect.signature(cls).parameters
        assert list(parameters)[:2] == ["scope", "id"] and "provider" in parameters, cls  # not jsii's (*args, **kwargs)
        assert "Attributes:" in cls.__doc__ or cls is ExistingNotebookRole, cls
        for name, member in inspect.getmembers(cls, lambda m: isinstance(m, property)):
            if not name.startswith("_") and name not in ("node",):
                assert member.__doc__, f"{cls.__name__}.{name} has no docstring"
