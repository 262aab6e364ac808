"""S3 buckets through boto3: create/list/delete, regions, names, ownership, configurations."""

import json

import pytest
from botocore.exceptions import ClientError


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def test_create_list_delete(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="alpha-bucket-e2e")
    s3.create_bucket(Bucket="beta-bucket-e2e")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["alpha-bucket-e2e", "beta-bucket-e2e"]
    page = s3.list_buckets(MaxBuckets=1)
    assert [b["Name"] for b in page["Buckets"]] == ["alpha-bucket-e2e"]
    rest = s3.list_buckets(MaxBuckets=1, ContinuationToken=page["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == ["beta-bucket-e2e"]
    assert [b["Name"] for b in s3.list_buckets(Prefix="beta")["Buckets"]] == ["beta-bucket-e2e"]
    s3.head_bucket(Bucket="alpha-bucket-e2e")
    s3.delete_bucket(Bucket="alpha-bucket-e2e")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="alpha-bucket-e2e")
    assert code(e) == "NoSuchBucket"
    assert e.value.response["Error"]["Message"] == "The specified bucket does not exist"
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="alpha-bucket-e2e")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bucket_already_exists_and_owned(aws_client, haneul_server):
    from haneul.testing import make_client
    s3 = aws_client("s3", region="eu-west-1")
    s3.create_bucket(Bucket="owned-twice-e2e", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="owned-twice-e2e", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == "BucketAlreadyOwnedByYou"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    other = make_client(haneul_server.endpoint, "s3", "999988887777", "eu-west-1")
    with pytest.raises(ClientError) as e:
        other.create_bucket(Bucket="owned-twice-e2e", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == "BucketAlreadyExists"
    assert s3.get_bucket_location(Bucket="owned-twice-e2e")["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as e:
        other.list_objects_v2(Bucket="owned-twice-e2e")
    assert code(e) == "AccessDenied"


def test_us_east_1_recreate_is_ok(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="legacy-east-e2e")
    s3.create_bucket(Bucket="legacy-east-e2e")       # S3's legacy us-east-1 answer: 200
    assert s3.get_bucket_location(Bucket="legacy-east-e2e")["LocationConstraint"] is None


def test_location_constraint_rules(aws_client):
    east = aws_client("s3")
    with pytest.raises(ClientError) as e:
        east.create_bucket(Bucket="lc-bad-e2e", CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert code(e) == "InvalidLocationConstraint"
    west = aws_client("s3", region="us-west-2")
    with pytest.raises(ClientError) as e:
        west.create_bucket(Bucket="lc-none-e2e")
    assert code(e) == "IllegalLocationConstraintException"
    with pytest.raises(ClientError) as e:
        west.create_bucket(Bucket="lc-other-e2e", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == "IllegalLocationConstraintException"
    assert "eu-west-1 location constraint" in e.value.response["Error"]["Message"]
    west.create_bucket(Bucket="lc-ok-e2e", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert west.head_bucket(Bucket="lc-ok-e2e")["BucketRegion"] == "us-west-2"


@pytest.mark.parametrize("name", ["ab", "UPPER-case", "bad_underscore", "-leading", "trailing-",
                                  "double..dot", "192.168.5.4", "xn--punycode", "x" * 64, "name-s3alias"])
def test_invalid_bucket_names(aws_client, name):
    s3 = aws_client("s3")
    s3.meta.events.unregister("before-parameter-build.s3", _validator(s3))
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name)
    assert code(e) == "InvalidBucketName"


def _validator(client):
    from botocore.handlers import validate_bucket_name
    return validate_bucket_name


def test_bucket_not_empty(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="not-empty-e2e")
    s3.put_object(Bucket="not-empty-e2e", Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="not-empty-e2e")
    assert code(e) == "BucketNotEmpty"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_versioning_tagging_and_simple_configs(aws_client):
    s3 = aws_client("s3")
    b = "configs-e2e"
    s3.create_bucket(Bucket=b)
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=b)
    assert code(e) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "sky"}]})
    assert s3.get_bucket_tagging(Bucket=b)["TagSet"] == [{"Key": "team", "Value": "sky"}]
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=b)
    assert code(e) == "NoSuchCORSConfiguration"
    cors = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 30}]}
    s3.put_bucket_cors(Bucket=b, CORSConfiguration=cors)
    assert s3.get_bucket_cors(Bucket=b)["CORSRules"] == cors["CORSRules"]
    rules = [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}}]
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"] == rules
    s3.put_bucket_website(Bucket=b, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    assert s3.get_bucket_website(Bucket=b)["IndexDocument"] == {"Suffix": "index.html"}
    enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_request_payment(Bucket=b)["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(Bucket=b, RequestPaymentConfiguration={"Payer": "Requester"})
    assert s3.get_bucket_request_payment(Bucket=b)["Payer"] == "Requester"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=b)
    s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": b, "TargetPrefix": "l/"}})
    assert s3.get_bucket_logging(Bucket=b)["LoggingEnabled"]["TargetPrefix"] == "l/"
    inv = {"Id": "inv1", "IsEnabled": True, "IncludedObjectVersions": "Current", "Schedule": {"Frequency": "Daily"},
           "Destination": {"S3BucketDestination": {"Bucket": f"arn:aws:s3:::{b}", "Format": "CSV"}}}
    s3.put_bucket_inventory_configuration(Bucket=b, Id="inv1", InventoryConfiguration=inv)
    assert s3.get_bucket_inventory_configuration(Bucket=b, Id="inv1")["InventoryConfiguration"]["Id"] == "inv1"
    assert len(s3.list_bucket_inventory_configurations(Bucket=b)["InventoryConfigurationList"]) == 1
    s3.put_bucket_replication(Bucket=b, ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/r", "Rules": [{"ID": "r1", "Status": "Enabled", "Priority": 1,
                                                             "Filter": {}, "DeleteMarkerReplication": {"Status": "Disabled"},
                                                             "Destination": {"Bucket": "arn:aws:s3:::dest"}}]})
    assert s3.get_bucket_replication(Bucket=b)["ReplicationConfiguration"]["Rules"][0]["ID"] == "r1"


def test_block_public_access_defaults_and_policy_status(aws_client):
    s3 = aws_client("s3")
    b = "public-e2e"
    s3.create_bucket(Bucket=b)
    pab = s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    assert s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]})
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=b, Policy=public)
    assert code(e) == "AccessDenied"
    s3.delete_public_access_block(Bucket=b)
    s3.put_bucket_policy(Bucket=b, Policy=public)
    assert s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is True
    assert json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])["Statement"][0]["Principal"] == "*"
    pinned = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]})
    s3.put_bucket_policy(Bucket=b, Policy=pinned)
    assert s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is False
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=b, Policy="not json")
    assert code(e) == "MalformedPolicy"


def s3control_client(aws_client, account):
    """S3 Control puts the account id in the host ({AccountId}.host), which an IP endpoint
    cannot carry: connect to the IP and send the host name S3 Control would use."""
    from botocore.config import Config
    control = aws_client("s3control", config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))

    def host(request, **kwargs):
        netloc = request.url.split("/")[2]
        request.url = request.url.replace(f"//{account}.", "//", 1)
        request.headers["Host"] = f"{account}.localhost:{netloc.rsplit(':', 1)[1]}"
    control.meta.events.register("before-send.s3-control", host)
    return control


def test_account_level_block_public_access(aws_client, aws_account):
    s3, control = aws_client("s3"), s3control_client(aws_client, aws_account)
    with pytest.raises(ClientError) as e:
        control.get_public_access_block(AccountId=aws_account)
    assert code(e) == "NoSuchPublicAccessBlockConfiguration"
    control.put_public_access_block(AccountId=aws_account, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    got = control.get_public_access_block(AccountId=aws_account)["PublicAccessBlockConfiguration"]
    assert got["BlockPublicPolicy"] is True and got["BlockPublicAcls"] is False
    s3.create_bucket(Bucket="acct-pab-e2e")
    s3.delete_public_access_block(Bucket="acct-pab-e2e")
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acct-pab-e2e/*"}]})
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket="acct-pab-e2e", Policy=public)
    assert code(e) == "AccessDenied"
    control.delete_public_access_block(AccountId=aws_account)


def test_acls_disabled_by_default_and_canned_acls(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="acl-enforced-e2e")
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket="acl-enforced-e2e", ACL="public-read")
    assert code(e) == "AccessControlListNotSupported"
    s3.create_bucket(Bucket="acl-writer-e2e", ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket="acl-writer-e2e")
    s3.put_bucket_acl(Bucket="acl-writer-e2e", ACL="public-read")
    grants = s3.get_bucket_acl(Bucket="acl-writer-e2e")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    s3.put_object(Bucket="acl-writer-e2e", Key="o", Body=b"x", ACL="public-read")
    perms = [g["Permission"] for g in s3.get_object_acl(Bucket="acl-writer-e2e", Key="o")["Grants"]]
    assert sorted(perms) == ["FULL_CONTROL", "READ"]


def test_transfer_acceleration_config(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="accel-e2e")
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket="accel-e2e")
    s3.put_bucket_accelerate_configuration(Bucket="accel-e2e", AccelerateConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_accelerate_configuration(Bucket="accel-e2e")["Status"] == "Enabled"


def test_malformed_bucket_policies_are_malformed_policy(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="policy-fuzz")
    for text in ('{"a":' * 20000 + "1" + "}" * 20000,                 # deeper than the JSON parser goes
                 json.dumps({"Version": "2012-10-17", "Statement": ["not an object"]})):
        with pytest.raises(ClientError) as e:
            s3.put_bucket_policy(Bucket="policy-fuzz", Policy=text)
        assert code(e) == "MalformedPolicy"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
