#!/usr/bin/env python
"""Baseline for bench/synth.py: the seed document's main.tf as a plain, one-stack CDKTF app.

One bucket, the notebook role, the AmazonBraketFullAccess attachment and an
ml.t3.medium notebook, with the provider imported the ordinary way (which
imports every one of its resource modules).
"""

import json

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.sagemaker_notebook_instance import SagemakerNotebookInstance

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
