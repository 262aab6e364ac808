"""Malformed policy documents answered with IAM's own messages, through boto3 and the AWS CLI.

Every case names where the message was reported from real AWS (the issue or page quoting
IAM's answer), and each document reproduces the fault the reporter had."""

import json

import pytest

from tests.e2e.test_iam import TRUST, cli, error

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"
V = "2012-10-17"


def policy(*statements, **top) -> str:
    return json.dumps({"Version": V, "Statement": list(statements), **top})


def allow(**extra) -> dict:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **extra}


ASSUME = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
GHOST_ROLE = "arn:aws:iam::123456789012:role/asa-iam-key-rotation-account-inventory-lambda-execution-role"

# (operation, document, IAM's message, where it was reported)
SOURCED = [
    # CloudTrail record of a CreatePolicy whose statement had "Resource": null
    ("create_policy", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":null}]}',
     SYNTAX, "https://github.com/checkr/s3-sync/issues/1"),
    # `aws iam create-policy ... --policy-document null`
    ("create_policy", "null", SYNTAX, "https://github.com/99designs/iamy/issues/74"),
    # an extra comma in the JSON
    ("create_policy", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",}]}',
     SYNTAX, "https://github.com/aws-samples/amazon-ecs-firelens-examples/pull/50"),
    # a Condition without an operator: {"servicecatalog:accountLevel": "self"}
    ("create_policy", policy({"Effect": "Allow", "Action": ["servicecatalog:*"], "Resource": "*",
                              "Condition": {"servicecatalog:accountLevel": "self"}}),
     SYNTAX, "https://github.com/aws-cloudformation/cfn-lint/issues/3751"),
    # statements nested inside a Resource list
    ("create_policy", policy({"Effect": "Allow", "Action": ["dynamodb:Query"],
                              "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/t",
                                           {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": ["*"]}]}),
     SYNTAX, "https://github.com/aws-cloudformation/cfn-lint/issues/2021"),
    # a blank line before the opening brace
    ("put_role_policy", "\n" + policy(allow()), LEGACY, "https://github.com/dan-v/awslambdaproxy/pull/3"),
    ("create_policy", " " + policy(allow()), LEGACY, "https://htnosm.hatenablog.com/entry/2023/07/30/090000"),
    # a managed policy without a Version
    ("create_policy", json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:ListBucket"],
                                                 "Resource": "arn:aws:s3:::*"}]}),
     "Policy document must be version 2012-10-17 or greater.",
     "https://github.com/Meteor-Community-Packages/Meteor-CollectionFS/issues/630"),
    # identity policy naming the principal it is for
    ("create_policy", policy({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::dummy-bucket/*"],
                              "Principal": {"AWS": ["arn:aws:iam::123456789012:user/dummy-user"]}}),
     "Policy document should not specify a principal.",
     "https://github.com/hashicorp/terraform-provider-aws/issues/10419"),
    # a trust policy put as an inline role policy: no Resource either, the principal is named first
    ("put_role_policy", policy({"Effect": "Allow", "Action": ["sts:AssumeRole"],
                                "Principal": {"Service": ["ec2.amazonaws.com"],
                                              "AWS": ["arn:aws:iam::123456789012:root"]}}),
     "Policy document should not specify a principal.", "https://github.com/hashicorp/terraform/issues/13449"),
    # a statement with resources only
    ("create_policy", policy({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions.",
     "https://github.com/aws/aws-cdk/issues/7615"),
    # a statement whose resource list came out empty
    ("put_role_policy", policy(allow(), {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": []}),
     "Policy statement must contain resources.", "https://github.com/trussworks/terraform-aws-s3-anti-virus/issues/28"),
    ("create_policy", policy({"Effect": "Allow", "Action": ["aps:QueryMetrics"]}),
     "Policy statement must contain resources.", "https://github.com/terraform-aws-modules/terraform-aws-iam/issues/603"),
    # a bucket name where its ARN belongs
    ("create_policy", policy(allow(Resource="s3-bucket-ukcloud-replica20220511075839843300000001")),
     'Resource s3-bucket-ukcloud-replica20220511075839843300000001 must be in ARN format or "*".',
     "https://github.com/ministryofjustice/modernisation-platform-environments/pull/590"),
    # an IAM ARN with a region (the report quotes the message with the ARN elided)
    ("create_policy", policy(allow(Action="iam:GetRole", Resource="arn:aws:iam:us-east-1:123456789012:role/x")),
     "IAM resource arn:aws:iam:us-east-1:123456789012:role/x cannot contain region information.",
     "https://github.com/cloud-gov/terraform-provision/pull/1838"),
    # an unexpanded template variable as the partition
    ("create_policy", policy(allow(Resource="arn:${ARN_PARTITION}:s3:::XYZ-ABC-DEFG")),
     'Partition "${ARN_PARTITION}" is not valid for resource "arn:${ARN_PARTITION}:s3:::XYZ-ABC-DEFG".',
     "https://github.com/cloudera-labs/cloudera.exe/issues/112"),
    # Sids both duplicated and not alpha-numeric: the characters are named first
    ("create_policy", policy(allow(Sid="autogenerated-id"), allow(Sid="autogenerated-id", Action="s3:PutObject")),
     "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
     "https://github.com/Wolox/carthage_cache/issues/22"),
    ("put_user_policy", policy(allow(Sid="Allow use of KMS key in Operations Production Account")),
     "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
     "https://github.com/aws-cloudformation/cfn-lint/issues/708"),
    ("put_role_policy", policy(allow(Sid="kopsK8sS3NodeBucketSelectiveGet"),
                               allow(Sid="kopsK8sS3NodeBucketSelectiveGet", Action="s3:Get*")),
     "Statement IDs (SID) in a single policy must be unique.", "https://github.com/kubernetes/kops/issues/4951"),
    ("create_policy", policy(allow(Sid="codebuild"), allow(Sid="codebuild", Action="codebuild:*")),
     "Statement IDs (SID) in a single policy must be unique.",
     "https://github.com/magenx/Magento-2-aws-cluster-terraform/pull/18"),
    # a wildcard as the service prefix of an action
    ("create_policy", policy(allow(Action=["*:Untag*", "s3:GetObject"])),
     "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards",
     "https://github.com/boogy/iam-policy-validator/pull/172"),
    # an action with two colons
    ("create_policy", policy(allow(Action=["codebuild:StartBuild", "logs:CreateLogGroup:x"])),
     "Actions/Condition can contain only one colon.", "https://github.com/garnaat/kappa/issues/111"),
    # an identity policy given as a trust policy: no Principal, but the Resource is named
    ("create_role", policy({"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
                            "Resource": ["arn:aws:route53:::hostedzone/*"]}),
     "Has prohibited field Resource", "https://github.com/kubernetes-sigs/external-dns/issues/3085"),
    ("update_assume_role_policy", policy({"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:PutLogEvents"],
                                          "Resource": ["*"]}),
     "Has prohibited field Resource", "https://github.com/hashicorp/terraform/issues/34231"),
    # a trust policy naming a role that does not exist
    ("create_role", policy({**ASSUME, "Principal": {"AWS": GHOST_ROLE}}),
     f'Invalid principal in policy: "AWS":"{GHOST_ROLE}"',
     "https://github.com/aws-samples/aws-iam-access-key-auto-rotation/issues/26"),
    ("update_assume_role_policy", policy({**ASSUME, "Principal": {"AWS": "arn:aws:iam::332745928618:role/UC_ROLE"}}),
     'Invalid principal in policy: "AWS":"arn:aws:iam::332745928618:role/UC_ROLE"',
     "https://github.com/databrickslabs/ucx/issues/2269"),
    # a service principal without the service
    ("create_role", policy({**ASSUME, "Principal": {"Service": "amazonaws.com"}}),
     'Invalid principal in policy: "SERVICE":"amazonaws.com"', "https://github.com/aws-samples/aws-cdk-examples/issues/801"),
    # a principals list that came out empty
    ("create_role", policy({**ASSUME, "Principal": {"AWS": []}}),
     "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
     "The passed in policy has a statement with no principals!",
     "https://github.com/skyscrapers/terraform-concourse/issues/25"),
]

# Messages kept from the validator's earlier cases for which no report from real AWS was
# found: IAM's exact wording for these is not confirmed.
UNSOURCED = [
    ("create_policy", policy(allow(Effect="allow")), LEGACY),
    ("create_policy", policy(allow(Action="GetObject")),
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("create_policy", policy(allow(Condition={"StringEqualz": {"a:b": "c"}})), SYNTAX),
    ("create_role", policy(allow()), "Has prohibited field Resource"),
    ("create_role", policy({"Effect": "Allow", "Action": "sts:AssumeRole"}), "Missing required field Principal"),
]


@pytest.fixture
def iam(aws_client):
    return aws_client("iam")


def attempt(iam, operation: str, document: str) -> dict:
    if operation == "create_policy":
        return error(iam.create_policy, PolicyName="bad", PolicyDocument=document)
    if operation == "create_role":
        return error(iam.create_role, RoleName="bad", AssumeRolePolicyDocument=document)
    if operation in ("put_role_policy", "update_assume_role_policy"):
        iam.create_role(RoleName="holder", AssumeRolePolicyDocument=json.dumps(TRUST))
        if operation == "update_assume_role_policy":
            return error(iam.update_assume_role_policy, RoleName="holder", PolicyDocument=document)
        return error(iam.put_role_policy, RoleName="holder", PolicyName="bad", PolicyDocument=document)
    if operation == "put_user_policy":
        iam.create_user(UserName="holder")
        return error(iam.put_user_policy, UserName="holder", PolicyName="bad", PolicyDocument=document)
    if operation == "put_group_policy":
        iam.create_group(GroupName="holder")
        return error(iam.put_group_policy, GroupName="holder", PolicyName="bad", PolicyDocument=document)
    raise AssertionError(operation)


@pytest.mark.parametrize("operation,document,message,source", SOURCED, ids=[c[3].split("/", 3)[-1] for c in SOURCED])
def test_sourced_malformed_policies(iam, operation, document, message, source):
    assert attempt(iam, operation, document) == {"Type": "Sender", "Code": "MalformedPolicyDocument",
                                                 "Message": message}


@pytest.mark.parametrize("operation,document,message", UNSOURCED)
def test_unsourced_malformed_policies(iam, operation, document, message):
    assert attempt(iam, operation, document)["Message"] == message


def _resources(count: int) -> list[str]:
    return [f"arn:aws:s3:::bucket-number-{i:05d}/*" for i in range(count)]


def test_size_limits(iam):
    # https://github.com/ministryofjustice/cloud-platform-environments/pull/14473
    big = policy(allow(Resource=_resources(200)))
    assert error(iam.create_policy, PolicyName="big", PolicyDocument=big) == {
        "Type": "Sender", "Code": "LimitExceeded", "Message": "Cannot exceed quota for PolicySize: 6144"}
    # white space does not count: the same document pretty-printed fits when it is small enough
    fits = json.dumps(json.loads(policy(allow(Resource=_resources(150)))), indent=8)
    assert len(fits) > 6144
    iam.create_policy(PolicyName="fits", PolicyDocument=fits)
    # https://github.com/apache/airflow/pull/27331 (UpdateAssumeRolePolicy), https://github.com/kubeflow/kubeflow/issues/6687
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    trust = policy({**ASSUME, "Condition": {"StringEquals": {"sts:ExternalId": [f"id-{i:04d}" for i in range(200)]}}})
    assert error(iam.update_assume_role_policy, RoleName="r", PolicyDocument=trust)["Message"] == \
        "Cannot exceed quota for ACLSizePerRole: 2048"
    # https://github.com/serverless/serverless/issues/7643: the inline policies of a role together
    iam.put_role_policy(RoleName="r", PolicyName="a", PolicyDocument=policy(allow(Resource=_resources(150))))
    err = error(iam.put_role_policy, RoleName="r", PolicyName="b", PolicyDocument=policy(allow(Resource=_resources(150))))
    assert (err["Code"], err["Message"]) == ("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role r")
    # https://github.com/ministryofjustice/cloud-platform-environments/pull/5303
    iam.create_user(UserName="u")
    err = error(iam.put_user_policy, UserName="u", PolicyName="a", PolicyDocument=policy(allow(Resource=_resources(60))))
    assert err["Message"] == "Maximum policy size of 2048 bytes exceeded for user u"
    # https://github.com/HumanCellAtlas/data-store/issues/1963
    iam.create_group(GroupName="travis-ci")
    err = error(iam.put_group_policy, GroupName="travis-ci", PolicyName="a",
                PolicyDocument=policy(allow(Resource=_resources(150))))
    assert err["Message"] == "Maximum policy size of 5120 bytes exceeded for group travis-ci"


def _cli_error(haneul_server, aws_account, *args) -> str:
    out = cli(haneul_server, aws_account, *args)
    assert out.returncode != 0
    return out.stderr.strip()


def test_aws_cli_malformed_policies(haneul_server, aws_account):
    # https://github.com/99designs/iamy/issues/74
    assert _cli_error(haneul_server, aws_account, "create-policy", "--policy-name", "EngDataPolicy", "--path", "/",
                      "--policy-document", "null").endswith(
        "An error occurred (MalformedPolicyDocument) when calling the CreatePolicy operation: Syntax errors in policy.")
    # https://github.com/kubernetes-sigs/external-dns/issues/3085
    identity = policy({"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
                       "Resource": ["arn:aws:route53:::hostedzone/*"]})
    assert _cli_error(haneul_server, aws_account, "create-role", "--role-name", "externaldns",
                      "--assume-role-policy-document", identity).endswith(
        "An error occurred (MalformedPolicyDocument) when calling the CreateRole operation: Has prohibited field Resource")
    # https://github.com/databrickslabs/ucx/issues/2269
    assert cli(haneul_server, aws_account, "create-role", "--role-name", "uc", "--assume-role-policy-document",
               json.dumps(TRUST)).returncode == 0
    ghost = policy({**ASSUME, "Principal": {"AWS": "arn:aws:iam::332745928618:role/UC_ROLE"}})
    assert _cli_error(haneul_server, aws_account, "update-assume-role-policy", "--role-name", "uc",
                      "--policy-document", ghost).endswith(
        "An error occurred (MalformedPolicyDocument) when calling the UpdateAssumeRolePolicy operation: "
        'Invalid principal in policy: "AWS":"arn:aws:iam::332745928618:role/UC_ROLE"')
    # https://github.com/kubernetes/kops/issues/4951
    dup = policy(allow(Sid="kopsK8sS3NodeBucketSelectiveGet"), allow(Sid="kopsK8sS3NodeBucketSelectiveGet"))
    assert _cli_error(haneul_server, aws_account, "put-role-policy", "--role-name", "uc", "--policy-name", "p",
                      "--policy-document", dup).endswith(
        "An error occurred (MalformedPolicyDocument) when calling the PutRolePolicy operation: "
        "Statement IDs (SID) in a single policy must be unique.")
