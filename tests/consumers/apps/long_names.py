"""App 7: a long stack name: every default role name is longer than IAM's 64 characters."""

from quantum_constructs import BraketNotebookRole  # noqa: I001  first

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "quantum-chemistry-and-materials-simulation-research"
ROLE_IDS = ("AlgorithmsTeamNotebookRole", "MaterialsTeamNotebookRole")
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    for role_id in ROLE_IDS:
        BraketNotebookRole(stack, role_id, allowed_device_arns=[SV1])
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
