#!/usr/bin/env python
"""Baseline for bench/synth.py: the seed document's main.tf as a plain, one-stack CDKTF (or CDK Terrain) app.

One bucket, the notebook role, the AmazonBraketFullAccess attachment and an
ml.t3.medium notebook, with the provider imported the ordinary way (which
imports every one of its resource modules).
"""

import importlib
import json
import os

# The family to measure (bench/synth.py --family sets it): its packages imported directly, the
# ordinary way, as a plain app does; never through quantum_constructs (which loads lazily).
FAMILY = os.environ.get("QUANTUM_CONSTRUCTS_FRAMEWORK", "cdktf")
core = importlib.import_module(FAMILY)
provider = importlib.import_module({"cdktf": "cdktf_cdktf_provider_aws", "cdktn": "cdktn_provider_aws"}[FAMILY])
App, TerraformStack = core.App, core.TerraformStack
IamRole = importlib.import_module(f"{provider.__name__}.iam_role").IamRole
IamRolePolicyAttachment = importlib.import_module(f"{provider.__name__}.iam_role_policy_attachment").IamRolePolicyAttachment
AwsProvider = importlib.import_module(f"{provider.__name__}.provider").AwsProvider
S3Bucket = importlib.import_module(f"{provider.__name__}.s3_bucket").S3Bucket
SagemakerNotebookInstance = importlib.import_module(f"{provider.__name__}.sagemaker_notebook_instance").SagemakerNotebookInstance

app = App()
stack = TerraformStack(app, "seed")
AwsProvider(stack, "aws", region="us-east-1")
S3Bucket(stack, "results", bucket="amazon-braket-seed-results")
role = IamRole(
    stack,
    "notebook_role",
    name="AmazonBraketServiceSageMakerNotebookRole-seed",
    path="/service-role/",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)
IamRolePolicyAttachment(
    stack, "braket_full_access", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonBraketFullAccess"
)
SagemakerNotebookInstance(
    stack, "notebook", name="amazon-braket-seed", role_arn=role.arn, instance_type="ml.t3.medium"
)
app.synth()
