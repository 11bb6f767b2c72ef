"""App 6: one stack, two regions: constructs on an aliased provider next to the default one."""

from quantum_constructs import BraketBudget, BraketNotebookRole, QuantumDevNotebook, QuantumResultsBucket  # noqa: I001

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "two-regions"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def team(stack: TerraformStack, prefix: str, name: str, provider=None) -> None:
    """A team's constructs, all on ``provider`` when given (else the stack's default provider)."""
    on = {} if provider is None else {"provider": provider}
    bucket = QuantumResultsBucket(stack, f"{prefix}Results", bucket_name=f"amazon-braket-{name}-results", **on)
    role = BraketNotebookRole(stack, f"{prefix}NotebookRole", allowed_device_arns=[SV1], **on)
    QuantumDevNotebook(
        stack, f"{prefix}Notebook", notebook_name=f"amazon-braket-{name}", role=role, results_bucket=bucket, **on
    )
    BraketBudget(stack, f"{prefix}Budget", budget_name=f"braket-{name}", monthly_limit_usd=100, role=role, **on)


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    eu = AwsProvider(stack, "eu", region="eu-west-2", alias="eu")
    team(stack, "Us", "us-team")
    team(stack, "Eu", "eu-team", provider=eu)
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
