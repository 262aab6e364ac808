"""Builds aws_managed_policies.json from AWS's own documents (see README.md).

Two kinds of entry.  Each `Page` below is one page of the AWS Managed Policy Reference,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<Name>.html, read on
2026-11-27 through a stored copy of docs.aws.amazon.com: the policy's path (from its ARN),
its default version, its "Creation time" and "Edited time" (the pages give minutes, UTC),
and its "JSON policy document" exactly as the page prints it.  Each `Archived` entry is a
policy whose reference page could not be read whole (ReadOnlyAccess and SecurityAudit are
tens of kilobytes): archive/<Name>.json is IAM's own GetPolicyVersion answer for the default
version (Document, VersionId, CreateDate), as kept by the public MAMIP archive
(github.com/zoph-io/MAMIP, policies/<Name>) at the commit named in the entry, re-serialised
compactly; its `source` names that file.  Nothing here comes from another emulator's data.

Run `python -m haneul.services.iam.data.build_managed_policies` to rewrite the JSON; the
test suite checks that the committed JSON equals what this script writes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import NamedTuple

REFERENCE = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/{name}.html"
ARCHIVE = "https://github.com/zoph-io/MAMIP/blob/{commit}/policies/{name}"
HERE = os.path.dirname(__file__)
OUT = os.path.join(HERE, "aws_managed_policies.json")


class Page(NamedTuple):
    name: str
    path: str
    version: str
    created: str | None     # "YYYY-MM-DD HH:MM[:SS]" UTC (pages print minutes); None: not published
    edited: str | None
    document: str           # the page's JSON policy document, verbatim
    source: str = ""        # where the document came from when not the reference page


PAGES = [
    Page('PowerUserAccess', '/', 'v12', '2015-02-06 18:39', '2026-02-12 17:59',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "NotAction" : [ "iam:*", "organizations:*", "account:*" ], "Resource" : "*" }, { "Effect" : "Allow", "Action" : [ "account:GetAccountInformation", "account:GetGovCloudAccountInformation", "account:GetPrimaryEmail", "account:ListRegions", "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles", "organizations:DescribeEffectivePolicy", "organizations:DescribeOrganization" ], "Resource" : "*" } ] }'),
    Page('IAMFullAccess', '/', 'v2', '2015-02-06 18:40', '2019-06-21 19:40',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "iam:*", "organizations:DescribeAccount", "organizations:DescribeOrganization", "organizations:DescribeOrganizationalUnit", "organizations:DescribePolicy", "organizations:ListChildren", "organizations:ListParents", "organizations:ListPoliciesForTarget", "organizations:ListRoots", "organizations:ListPolicies", "organizations:ListTargetsForPolicy" ], "Resource" : "*" } ] }'),
    Page('AWSLambdaBasicExecutionRole', '/service-role/', 'v1', '2015-04-09 15:03', '2015-04-09 15:03',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents" ], "Resource" : "*" } ] }'),
    Page('AmazonS3ReadOnlyAccess', '/', 'v3', '2015-02-06 18:40', '2023-08-10 21:31',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*" ], "Resource" : "*" } ] }'),
    Page('AWSOrganizationsFullAccess', '/', 'v6', '2018-11-06 20:31', '2024-02-06 17:49',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Sid" : "AWSOrganizationsFullAccess", "Effect" : "Allow", "Action" : "organizations:*", "Resource" : "*" }, { "Sid" : "AWSOrganizationsFullAccessAccount", "Effect" : "Allow", "Action" : [ "account:PutAlternateContact", "account:DeleteAlternateContact", "account:GetAlternateContact", "account:GetContactInformation", "account:PutContactInformation", "account:ListRegions", "account:EnableRegion", "account:DisableRegion" ], "Resource" : "*" }, { "Sid" : "AWSOrganizationsFullAccessCreateSLR", "Effect" : "Allow", "Action" : "iam:CreateServiceLinkedRole", "Resource" : "*", "Condition" : { "StringEquals" : { "iam:AWSServiceName" : "organizations.amazonaws.com" } } } ] }'),
    Page('AWSLambdaVPCAccessExecutionRole', '/service-role/', 'v3', '2016-02-11 23:15', '2024-01-05 22:38',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Sid" : "AWSLambdaVPCAccessExecutionPermissions", "Effect" : "Allow", "Action" : [ "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses" ], "Resource" : "*" } ] }'),
    Page('AWSLambdaENIManagementAccess', '/service-role/', 'v2', '2016-12-06 00:37', '2020-10-01 20:07',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses" ], "Resource" : "*" } ] }'),
    Page('AmazonSQSReadOnlyAccess', '/', 'v4', '2015-02-06 18:41', '2024-05-24 18:16',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Sid" : "AmazonSQSReadOnlyAccess", "Effect" : "Allow", "Action" : [ "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:ListQueues", "sqs:ListMessageMoveTasks", "sqs:ListQueueTags" ], "Resource" : "*" } ] }'),
    Page('AWSLambdaRole', '/service-role/', 'v1', '2015-02-06 18:41', '2015-02-06 18:41',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "lambda:InvokeFunction" ], "Resource" : [ "*" ] } ] }'),
    Page('AWSXRayDaemonWriteAccess', '/', 'v2', '2018-08-28 23:00', '2024-02-13 21:58',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Sid" : "AWSXRayDaemonWriteAccess", "Effect" : "Allow", "Action" : [ "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries" ], "Resource" : [ "*" ] } ] }'),
    Page('AWSStepFunctionsFullAccess', '/', 'v1', '2017-01-11 21:51', '2017-01-11 21:51',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : "states:*", "Resource" : "*" } ] }'),
    Page('AmazonAPIGatewayPushToCloudWatchLogs', '/service-role/', 'v1', '2015-11-11 23:41', '2015-11-11 23:41',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents" ], "Resource" : "*" } ] }'),
    Page('CloudWatchLogsReadOnlyAccess', '/', 'v8', '2015-02-06 18:40', '2025-12-02 16:34',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Sid" : "CloudWatchLogsReadOnlyAccess", "Effect" : "Allow", "Action" : [ "logs:Describe*", "logs:Get*", "logs:List*", "logs:StartQuery", "logs:StopQuery", "logs:TestMetricFilter", "logs:FilterLogEvents", "logs:StartLiveTail", "logs:StopLiveTail", "cloudwatch:GenerateQuery", "cloudwatch:GenerateQueryResultsSummary", "observabilityadmin:ListS3TableIntegrations", "observabilityadmin:GetS3TableIntegration", "observabilityadmin:ListTelemetryPipelines" ], "Resource" : "*" } ] }'),
    Page('AWSLambdaDynamoDBExecutionRole', '/service-role/', 'v1', '2015-04-09 15:09', '2015-04-09 15:09',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Effect" : "Allow", "Action" : [ "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents" ], "Resource" : "*" } ] }'),
    # The English page's stored copy was cut short; the Japanese page (same reference, the
    # document untranslated) shows the whole document.
    Page('AmazonSNSFullAccess', '/', 'v2', '2015-02-06 18:41', '2024-09-24 22:32',
         '{ "Version" : "2012-10-17", "Statement" : [ { "Sid" : "SNSFullAccess", "Effect" : "Allow", "Action" : "sns:*", "Resource" : "*" }, { "Sid" : "SMSAccessViaSNS", "Effect" : "Allow", "Action" : [ "sms-voice:DescribeVerifiedDestinationNumbers", "sms-voice:CreateVerifiedDestinationNumber", "sms-voice:SendDestinationNumberVerificationCode", "sms-voice:SendTextMessage", "sms-voice:DeleteVerifiedDestinationNumber", "sms-voice:VerifyDestinationNumber", "sms-voice:DescribeAccountAttributes", "sms-voice:DescribeSpendLimits", "sms-voice:DescribePhoneNumbers", "sms-voice:SetTextMessageSpendLimitOverride", "sms-voice:DescribeOptedOutNumbers", "sms-voice:DeleteOptedOutNumber" ], "Resource" : "*", "Condition" : { "StringEquals" : { "aws:CalledViaLast" : "sns.amazonaws.com" } } } ] }',
         source="https://docs.aws.amazon.com/ja_jp/aws-managed-policy/latest/reference/AmazonSNSFullAccess.html"),
]


class Archived(NamedTuple):
    """A default version as IAM's GetPolicyVersion returned it, kept in archive/<name>.json.
    GetPolicyVersion does not give the policy's own creation time: it is known only for a
    policy still at v1 (its one version's date), and left out otherwise."""
    name: str
    path: str
    commit: str             # the archive's commit the file was read at

    def page(self) -> Page:
        with open(os.path.join(HERE, "archive", f"{self.name}.json"), encoding="utf-8") as f:
            version = json.load(f)["PolicyVersion"]
        edited = dt.datetime.fromisoformat(version["CreateDate"].replace("Z", "+00:00"))
        edited = edited.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return Page(self.name, self.path, version["VersionId"],
                    edited if version["VersionId"] == "v1" else None, edited,
                    json.dumps(version["Document"]), ARCHIVE.format(commit=self.commit, name=self.name))


ARCHIVED = [
    Archived("AdministratorAccess", "/", "1b36617981d5e8905ceb82b8dcbd892340a023ba"),
    Archived("ReadOnlyAccess", "/", "03ca4cea426cb6dac85ffdd310ef0a5b8b56f0d3"),
    Archived("SecurityAudit", "/", "00a48998eb5d4279f9e772b85c1d87dc82341c8f"),
    Archived("AmazonS3FullAccess", "/", "1b36617981d5e8905ceb82b8dcbd892340a023ba"),
    Archived("AmazonDynamoDBFullAccess", "/", "24b649d3de6c701785bb4af34462aa8ee26f1528"),
    Archived("AmazonSQSFullAccess", "/", "1b36617981d5e8905ceb82b8dcbd892340a023ba"),
    Archived("AmazonSNSReadOnlyAccess", "/", "24b649d3de6c701785bb4af34462aa8ee26f1528"),
    Archived("CloudWatchLogsFullAccess", "/", "05fe8e360616bb648972dfb21b435c543951667f"),
    Archived("AWSLambda_FullAccess", "/", "0b46f0704385f7e0ffcd5d12fa6069b1458da740"),
    Archived("AWSLambdaExecute", "/", "24b649d3de6c701785bb4af34462aa8ee26f1528"),
    Archived("AWSLambdaSQSQueueExecutionRole", "/service-role/", "1b36617981d5e8905ceb82b8dcbd892340a023ba"),
    Archived("AWSLambdaKinesisExecutionRole", "/service-role/", "24b649d3de6c701785bb4af34462aa8ee26f1528"),
    Archived("AWSStepFunctionsConsoleFullAccess", "/", "1b36617981d5e8905ceb82b8dcbd892340a023ba"),
    Archived("AWSStepFunctionsReadOnlyAccess", "/", "1b36617981d5e8905ceb82b8dcbd892340a023ba"),
]


def _iso(text: str | None) -> str | None:
    if text is None:
        return None
    layout = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return dt.datetime.strptime(text, layout).replace(tzinfo=dt.timezone.utc).isoformat()


def build() -> dict:
    out = {}
    for p in sorted(PAGES + [a.page() for a in ARCHIVED], key=lambda p: p.name.lower()):
        out[p.name] = {"Path": p.path, "DefaultVersionId": p.version, "CreateDate": _iso(p.created),
                       "UpdateDate": _iso(p.edited), "Document": json.loads(p.document),
                       "Source": p.source or REFERENCE.format(name=p.name)}
    return out


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(render())
    print(f"wrote {len(PAGES) + len(ARCHIVED)} policies to {OUT}")
