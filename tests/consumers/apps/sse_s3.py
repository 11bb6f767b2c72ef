"""App 5: a team on SSE-S3 (no customer-managed key) and without a budget."""

from quantum_constructs import (  # noqa: I001  first
    BraketNotebookRole,
    BucketEncryption,
    QuantumDevNotebook,
    QuantumResultsBucket,
)

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "sse-s3-team"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-west-2")
    bucket = QuantumResultsBucket(
        stack, "Results", bucket_name="amazon-braket-sse-s3-team", encryption=BucketEncryption.S3_MANAGED
    )
    role = BraketNotebookRole(stack, "NotebookRole", allowed_device_arns=[SV1])
    QuantumDevNotebook(stack, "Notebook", notebook_name="amazon-braket-sse-s3-team", role=role, results_bucket=bucket)
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
