"""App 2: a team's own wrapper construct (bucket + role + notebook), used twice in one stack."""

from quantum_constructs import BraketNotebookRole, QuantumDevNotebook, QuantumResultsBucket  # noqa: I001  first

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

STACK = "platform"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


class Team(Construct):
    """Everything one research team needs: results bucket, notebook role and notebook."""

    def __init__(self, scope: Construct, id: str, *, name: str) -> None:
        super().__init__(scope, id)
        self.results = QuantumResultsBucket(self, "Results", bucket_name=f"amazon-braket-{name}-results")
        self.role = BraketNotebookRole(self, "NotebookRole", allowed_device_arns=[SV1])
        self.notebook = QuantumDevNotebook(
            self, "Notebook", notebook_name=f"amazon-braket-{name}", role=self.role, results_bucket=self.results
        )


def build(app: App) -> TerraformStack:
    stack = TerraformStack(app, STACK)
    AwsProvider(stack, "aws", region="us-east-1")
    Team(stack, "Chemistry", name="chemistry")
    Team(stack, "Optimization", name="optimization")
    return stack


if __name__ == "__main__":
    main = App()
    build(main)
    main.synth()
