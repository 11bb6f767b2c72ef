"""The bootstrap stack: what the environment stacks assume exists, created once, before them."""

from __future__ import annotations

from typing import Mapping, Optional

from quantum_constructs.cdk import LocalBackend, TerraformOutput, TerraformStack, Token
from quantum_constructs.aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct
from quantum_constructs import AccessLogBucket, TerraformStateBucket, add_guardrails

from .config import BOOTSTRAP, BOOTSTRAP_STACK, ENVIRONMENTS, TERRAFORM_REQUIRED_VERSION, BootstrapConfig, EnvironmentConfig

BOOTSTRAP_OUTPUT_NAMES = (
    "state_bucket_name",
    "state_region",
    "state_kms_key_arn",
    "state_kms_key_alias",
    "access_log_bucket_names",
)


class BootstrapStack(TerraformStack):
    """The Terraform state bucket with its KMS key and alias, and the access-log buckets the
    environments log to (``BootstrapConfig``), in a stack with local state: it cannot keep its own
    state in the bucket it creates. Deployed once, first: ``make deploy ENV=bootstrap``.

    What config says exists already (``create_state_bucket=False``, ``existing_access_log_buckets``)
    is not created. Every resource that holds state or logs has ``prevent_destroy``.
    """

    def __init__(
        self,
        scope: Construct,
        bootstrap: BootstrapConfig = BOOTSTRAP,
        environments: Optional[Mapping[str, EnvironmentConfig]] = None,
    ) -> None:
        super().__init__(scope, BOOTSTRAP_STACK)
        environments = ENVIRONMENTS if environments is None else environments
        bootstrap.check(environments)
        self.node.set_context("@cdktf/disable_stack_trace_in_metadata", True)
        self.config = bootstrap
        self.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)
        tags = [AwsProviderDefaultTags(tags=bootstrap.default_tags)]
        AwsProvider(self, "aws", region=bootstrap.region, default_tags=tags)
        # Relative to cdktf.out/stacks/bootstrap/, as the dev stack's: no absolute checkout path in
        # the synthesized JSON. Keep ./terraform.bootstrap.tfstate (and a copy somewhere safe): it is
        # the only record of what the bootstrap created (terraform import rebuilds it otherwise).
        LocalBackend(self, path=f"../../../terraform.{BOOTSTRAP_STACK}.tfstate")

        providers: dict[str, AwsProvider] = {}
        self.access_logs: dict[str, AccessLogBucket] = {}
        for plan in bootstrap.access_log_buckets(environments):
            provider = None
            if plan.region != bootstrap.region:  # S3 delivers logs within a region: the bucket is in its sources'
                if plan.region not in providers:
                    alias = plan.region.replace("-", "_")
                    providers[plan.region] = AwsProvider(self, f"aws_{alias}", region=plan.region, alias=alias,
                                                         default_tags=tags)
                provider = providers[plan.region]
            self.access_logs[plan.name] = AccessLogBucket(
                self,
                f"AccessLogs-{plan.name}",
                bucket_name=plan.name,
                # The state bucket is added below, by object.
                source_buckets=[s for s in plan.sources if not (bootstrap.create_state_bucket and s == bootstrap.state.bucket)],
                expire_after_days=bootstrap.access_log_retention_days,
                provider=provider,
            )

        self.state = None
        if bootstrap.create_state_bucket:
            log_bucket = bootstrap.state_access_log_bucket
            self.state = TerraformStateBucket(
                self,
                "State",
                bucket_name=bootstrap.state.bucket,
                key_alias=bootstrap.state.kms_key_id,
                noncurrent_version_expiration_days=bootstrap.state_noncurrent_version_days,
                access_log_bucket=self.access_logs.get(log_bucket, log_bucket),
            )
        add_guardrails(self, production=True)
        self._outputs(bootstrap)

    def _outputs(self, bootstrap: BootstrapConfig) -> None:
        state = self.state
        outputs = {
            "state_bucket_name": state.bucket_name if state else bootstrap.state.bucket,
            "state_region": bootstrap.state.region,
            # An existing key's ARN is not known here (the backend may name it by alias).
            "state_kms_key_arn": state.kms_key_arn if state else Token.null_value(),
            "state_kms_key_alias": state.key_alias if state else bootstrap.state.kms_key_id,
            "access_log_bucket_names": [bucket.bucket_name for _, bucket in sorted(self.access_logs.items())],
        }
        assert tuple(outputs) == BOOTSTRAP_OUTPUT_NAMES
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value).override_logical_id(name)
