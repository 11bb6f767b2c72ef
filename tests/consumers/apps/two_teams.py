"""App 1: two research teams in one stack, each with its own bucket, role and notebook."""

from quantum_constructs import BraketNotebookRole, QuantumDevNotebook, QuantumResultsBucket  # noqa: I001  first

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "quantum-research-teams"
TEAMS = ("alpha", "beta")
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    for team in TEAMS:
        prefix = team.capitalize()
        bucket = QuantumResultsBucket(stack, f"{prefix}Results", bucket_name=f"amazon-braket-{team}-results")
        role = BraketNotebookRole(stack, f"{prefix}NotebookRole", allowed_device_arns=[SV1])
        QuantumDevNotebook(
            stack, f"{prefix}Notebook", notebook_name=f"amazon-braket-{team}", role=role, results_bucket=bucket
        )
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
