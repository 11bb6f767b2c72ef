"""App 9: a bank's notebook: in its VPC without direct internet, the SDK from an internal mirror,
its own KMS key, a permissions boundary, and a centrally managed role next to one of ours."""

from quantum_constructs import (  # noqa: I001  first
    BraketNotebookRole,
    ExistingNotebookRole,
    QuantumDevNotebook,
    QuantumResultsBucket,
    add_guardrails,
)

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "private-bank"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
KEY = "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BOUNDARY = "arn:aws:iam::123456789012:policy/QuantumBoundary"
CENTRAL_ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonBraketServiceSageMakerNotebookRole-central"
MIRROR = "https://pypi.bank.internal/simple"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="eu-west-2")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-private-bank", kms_key_arn=KEY)
    ours = BraketNotebookRole(stack, "NotebookRole", allowed_device_arns=[SV1], permissions_boundary=BOUNDARY)
    central = ExistingNotebookRole(stack, "CentralRole", role_arn=CENTRAL_ROLE, allowed_device_arns=[SV1])
    for id, role in (("Notebook", ours), ("CentralNotebook", central)):
        QuantumDevNotebook(
            stack,
            id,
            notebook_name=f"amazon-braket-private-bank-{id.lower()}",
            role=role,
            results_bucket=bucket,
            subnet_id="subnet-0private",
            security_group_ids=["sg-0notebooks"],
            pip_index_url=MIRROR,
        )
    add_guardrails(stack, production=True)
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
