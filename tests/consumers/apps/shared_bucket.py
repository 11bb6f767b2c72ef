"""App 4: one results bucket granted to two roles, one of them granted twice."""

from quantum_constructs import BraketNotebookRole, QuantumResultsBucket  # noqa: I001  first

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "shared-bucket"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-shared-results")
    analysts = BraketNotebookRole(stack, "AnalystsRole", allowed_device_arns=[SV1])
    researchers = BraketNotebookRole(stack, "ResearchersRole", allowed_device_arns=[SV1])
    bucket.grant_read_write(analysts)
    bucket.grant_read_write(researchers)
    bucket.grant_read_write(analysts)  # again, e.g. from a second module of the app: a no-op
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
