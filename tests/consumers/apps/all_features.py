"""App 8: every construct with every optional feature on, with the API that every release has.

It is the app the provider lower bound is checked with: whatever the constructs can emit
(KMS keys, lifecycle rules, access logging, EventBridge notifications, a notebook in a VPC
with IMDSv2 and platform notebook-al2023-v1, a budget with its kill switch action) is here.
"""

from quantum_constructs import (  # noqa: I001  first
    BraketBudget,
    BraketNotebookRole,
    QuantumDevNotebook,
    QuantumResultsBucket,
    add_guardrails,
)

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "all-features"
DEVICES = [
    "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
    "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1",
]


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    bucket = QuantumResultsBucket(
        stack,
        "Results",
        bucket_name="amazon-braket-all-features",
        transition_to_ia_days=30,
        expire_after_days=365,
        access_log_bucket="central-access-logs",
    )
    role = BraketNotebookRole(stack, "NotebookRole", allowed_device_arns=DEVICES, attach_braket_full_access=True)
    QuantumDevNotebook(
        stack,
        "Notebook",
        notebook_name="amazon-braket-all-features",
        role=role,
        results_bucket=bucket,
        instance_type="ml.m5.xlarge",
        volume_size_gb=20,
        subnet_id="subnet-0123456789abcdef0",
        security_group_ids=["sg-0123456789abcdef0"],
        idle_stop_minutes=30,
    )
    BraketBudget(
        stack,
        "Budget",
        budget_name="braket-all-features",
        monthly_limit_usd=250,
        role=role,
        alert_emails=["quantum-team@example.com"],
    )
    add_guardrails(stack, production=True)
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
