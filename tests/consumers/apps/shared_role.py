"""App 3: one notebook role shared by two notebooks, each writing to its own bucket."""

from quantum_constructs import BraketNotebookRole, QuantumDevNotebook, QuantumResultsBucket  # noqa: I001  first

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "shared-role"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    role = BraketNotebookRole(stack, "SharedRole", allowed_device_arns=[SV1])
    for name in ("circuits", "annealing"):
        prefix = name.capitalize()
        bucket = QuantumResultsBucket(stack, f"{prefix}Results", bucket_name=f"amazon-braket-{name}-results")
        QuantumDevNotebook(
            stack, f"{prefix}Notebook", notebook_name=f"amazon-braket-{name}", role=role, results_bucket=bucket
        )
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
