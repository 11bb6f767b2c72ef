"""App 10: a sovereign-cloud team composes the private network its own way: three zones in London,
a Transit Gateway to the premises, a CodeArtifact mirror, the bucket pinned to the S3 endpoints."""

from quantum_constructs import (  # noqa: I001  first
    DEFAULT_INTERFACE_ENDPOINTS,
    BraketNotebookRole,
    QuantumDevNotebook,
    QuantumPackageMirror,
    QuantumPrivateNetwork,
    QuantumResultsBucket,
    TransitGatewayLink,
    add_guardrails,
)

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

STACK = "sovereign-network"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="eu-west-2")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-sovereign-results")
    role = BraketNotebookRole(stack, "NotebookRole", allowed_device_arns=[SV1])
    mirror = QuantumPackageMirror(stack, "Mirror", domain_name="sovereign-quantum")
    network = QuantumPrivateNetwork(
        stack,
        "Network",
        availability_zones=["eu-west-2a", "eu-west-2b", "eu-west-2c"],
        cidr_block="10.80.0.0/20",
        interface_endpoints=DEFAULT_INTERFACE_ENDPOINTS + QuantumPackageMirror.INTERFACE_ENDPOINTS,
        premises_link=TransitGatewayLink("tgw-0123456789abcdef0", ("172.20.0.0/16",)),
    )
    network.grant_braket(role)
    network.grant_bucket(bucket)
    bucket.restrict_to_vpc_endpoints(network.s3_endpoint_ids)
    QuantumDevNotebook(
        stack,
        "Notebook",
        notebook_name="amazon-braket-sovereign",
        role=role,
        results_bucket=bucket,
        subnet_id=network.subnet_ids[2],
        security_group_ids=[network.workload_security_group_id],
        package_mirror=mirror,
    )
    add_guardrails(stack, production=True)
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
