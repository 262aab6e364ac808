"""Bucket configurations stored and returned as S3 does: CORS, lifecycle, website, policy
(and its "is public" status), default encryption, logging, notifications, replication,
request payment, Transfer Acceleration, ownership controls, Block Public Access, Object
Lock, and the id-keyed inventory/analytics/metrics/intelligent-tiering configurations."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.s3 import access, storage, transitions
from haneul.services.s3.storage import get_bucket

# kind -> (request member holding the document, error when absent or None for a default)
_SIMPLE = {
    "cors": ("CORSConfiguration", ("NoSuchCORSConfiguration", "The CORS configuration does not exist")),
    "lifecycle": ("LifecycleConfiguration", ("NoSuchLifecycleConfiguration",
                                             "The lifecycle configuration does not exist")),
    "website": ("WebsiteConfiguration", ("NoSuchWebsiteConfiguration",
                                         "The specified bucket does not have a website configuration")),
    "replication": ("ReplicationConfiguration", ("ReplicationConfigurationNotFoundError",
                                                 "The replication configuration was not found")),
    "ownership": ("OwnershipControls", ("OwnershipControlsNotFoundError",
                                        "The bucket ownership controls were not found")),
    "public_access_block": ("PublicAccessBlockConfiguration", ("NoSuchPublicAccessBlockConfiguration",
                                                               "The public access block configuration was not found")),
}
_BY_ID = {"inventory": "InventoryConfiguration", "analytics": "AnalyticsConfiguration",
          "metrics": "MetricsConfiguration", "intelligent_tiering": "IntelligentTieringConfiguration"}
_LIST_MEMBER = {"inventory": "InventoryConfigurationList", "analytics": "AnalyticsConfigurationList",
                "metrics": "MetricsConfigurationList", "intelligent_tiering": "IntelligentTieringConfigurationList"}
_ERR_STATUS = {"NoSuchCORSConfiguration": 404, "NoSuchLifecycleConfiguration": 404, "NoSuchWebsiteConfiguration": 404,
               "ReplicationConfigurationNotFoundError": 404, "OwnershipControlsNotFoundError": 404,
               "NoSuchPublicAccessBlockConfiguration": 404}


def _bucket(ctx, request, action):
    bucket = get_bucket(ctx.db, request["Bucket"])
    access.check(ctx, ctx.db, bucket, action)
    return bucket


def _missing(kind: str, bucket: str) -> AwsError:
    code, message = _SIMPLE[kind][1]
    return AwsError(code, message, status=_ERR_STATUS[code], BucketName=bucket)


_malformed = transitions.malformed


class ConfigOperations:
    # -- the simple stored documents ------------------------------------------------------
    def _put_simple(self, ctx, request, kind, action):
        bucket = _bucket(ctx, request, action)
        doc = request.get(_SIMPLE[kind][0])
        if doc is None:
            raise _malformed()
        storage.set_config(ctx.db, bucket["name"], kind, doc)
        return bucket

    def _get_simple(self, ctx, request, kind, action):
        bucket = _bucket(ctx, request, action)
        doc = storage.config(ctx.db, bucket["name"], kind)
        if doc is None:
            raise _missing(kind, bucket["name"])
        return doc

    def _delete_simple(self, ctx, request, kind, action):
        bucket = _bucket(ctx, request, action)
        storage.delete_config(ctx.db, bucket["name"], kind)
        return {}

    def put_bucket_cors(self, ctx, request):
        rules = (request.get("CORSConfiguration") or {}).get("CORSRules") or []
        if not rules or len(rules) > 100:
            raise _malformed()
        for rule in rules:
            for m in rule.get("AllowedMethods") or []:
                if m not in ("GET", "PUT", "HEAD", "POST", "DELETE"):
                    raise AwsError("InvalidRequest", f"Found unsupported HTTP method in CORS config. "
                                   f"Unsupported method is {m}", status=400)
        self._put_simple(ctx, request, "cors", "s3:PutBucketCORS")
        return {}

    def get_bucket_cors(self, ctx, request):
        return self._get_simple(ctx, request, "cors", "s3:GetBucketCORS")

    def delete_bucket_cors(self, ctx, request):
        return self._delete_simple(ctx, request, "cors", "s3:PutBucketCORS")

    def put_bucket_lifecycle_configuration(self, ctx, request):
        rules = (request.get("LifecycleConfiguration") or {}).get("Rules") or []
        if not rules or len(rules) > 1000:
            raise _malformed()
        ids = [r.get("ID") for r in rules if r.get("ID")]
        if len(ids) != len(set(ids)):
            raise AwsError("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule",
                           status=400)
        for r in rules:
            if r.get("Status") not in ("Enabled", "Disabled"):
                raise _malformed()
        transitions.check(rules)
        # kept in the stored document: the sweep reads it, GET answers it (a header member)
        minimum = request.get("TransitionDefaultMinimumObjectSize") or "all_storage_classes_128K"
        request = {**request, "LifecycleConfiguration": {**request["LifecycleConfiguration"],
                                                         "TransitionDefaultMinimumObjectSize": minimum}}
        self._put_simple(ctx, request, "lifecycle", "s3:PutLifecycleConfiguration")
        return {"TransitionDefaultMinimumObjectSize": minimum}

    def get_bucket_lifecycle_configuration(self, ctx, request):
        doc = self._get_simple(ctx, request, "lifecycle", "s3:GetLifecycleConfiguration")
        return {"TransitionDefaultMinimumObjectSize": "all_storage_classes_128K", **doc}

    def delete_bucket_lifecycle(self, ctx, request):
        return self._delete_simple(ctx, request, "lifecycle", "s3:PutLifecycleConfiguration")

    def put_bucket_website(self, ctx, request):
        doc = request.get("WebsiteConfiguration") or {}
        if not doc.get("IndexDocument") and not doc.get("RedirectAllRequestsTo"):
            raise AwsError("InvalidArgument", "A value for IndexDocument Suffix must be provided if "
                           "RedirectAllRequestsTo is empty", status=400)
        self._put_simple(ctx, request, "website", "s3:PutBucketWebsite")
        return {}

    def get_bucket_website(self, ctx, request):
        return self._get_simple(ctx, request, "website", "s3:GetBucketWebsite")

    def delete_bucket_website(self, ctx, request):
        return self._delete_simple(ctx, request, "website", "s3:DeleteBucketWebsite")

    def put_bucket_replication(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutReplicationConfiguration")
        if bucket["versioning"] != "Enabled":
            raise AwsError("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication "
                           "configuration", status=400)
        storage.set_config(ctx.db, bucket["name"], "replication", request.get("ReplicationConfiguration") or {})
        return {}

    def get_bucket_replication(self, ctx, request):
        return {"ReplicationConfiguration": self._get_simple(ctx, request, "replication",
                                                             "s3:GetReplicationConfiguration")}

    def delete_bucket_replication(self, ctx, request):
        return self._delete_simple(ctx, request, "replication", "s3:PutReplicationConfiguration")

    def put_bucket_ownership_controls(self, ctx, request):
        rules = (request.get("OwnershipControls") or {}).get("Rules") or []
        if len(rules) != 1:
            raise _malformed()
        self._put_simple(ctx, request, "ownership", "s3:PutBucketOwnershipControls")
        return {}

    def get_bucket_ownership_controls(self, ctx, request):
        return {"OwnershipControls": self._get_simple(ctx, request, "ownership", "s3:GetBucketOwnershipControls")}

    def delete_bucket_ownership_controls(self, ctx, request):
        return self._delete_simple(ctx, request, "ownership", "s3:PutBucketOwnershipControls")

    def put_public_access_block(self, ctx, request):
        self._put_simple(ctx, request, "public_access_block", "s3:PutBucketPublicAccessBlock")
        return {}

    def get_public_access_block(self, ctx, request):
        doc = self._get_simple(ctx, request, "public_access_block", "s3:GetBucketPublicAccessBlock")
        return {"PublicAccessBlockConfiguration": {k: bool(doc.get(k)) for k in access.PAB_KEYS}}

    def delete_public_access_block(self, ctx, request):
        return self._delete_simple(ctx, request, "public_access_block", "s3:PutBucketPublicAccessBlock")

    # -- policy -------------------------------------------------------------------------
    def put_bucket_policy(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutBucketPolicy")
        text = request.get("Policy") or ""
        try:
            doc = json.loads(text)
            if not text.lstrip().startswith("{") or not isinstance(doc, dict):
                raise ValueError
        except (ValueError, RecursionError):      # RecursionError: nesting deeper than the parser's stack
            raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'",
                           status=400) from None
        statements = doc.get("Statement")
        if not statements:
            raise AwsError("MalformedPolicy", "Missing required field Statement", status=400)
        for st in statements if isinstance(statements, list) else [statements]:
            if not isinstance(st, dict):
                raise AwsError("MalformedPolicy", "Statement is not a JSON object", status=400)
            if st.get("Effect") not in ("Allow", "Deny"):
                raise AwsError("MalformedPolicy", "Invalid effect: " + str(st.get("Effect")), status=400)
            if "Principal" not in st and "NotPrincipal" not in st:
                raise AwsError("MalformedPolicy", "Missing required field Principal", status=400)
            for res in _as_list(st.get("Resource", [])):
                if not str(res).startswith(f"arn:aws:s3:::{bucket['name']}"):
                    raise AwsError("MalformedPolicy", "Policy has invalid resource", status=400)
        if access.effective_pab(ctx.db, bucket)["BlockPublicPolicy"] and access.policy_is_public(doc):
            raise AwsError("AccessDenied", f"User: arn:aws:iam::{ctx.account}:root is not authorized to perform: "
                           f"s3:PutBucketPolicy on resource: \"arn:aws:s3:::{bucket['name']}\" because public "
                           "policies are blocked by the BlockPublicPolicy block public access setting.", status=403)
        storage.set_config(ctx.db, bucket["name"], "policy", text)
        return {}

    def get_bucket_policy(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetBucketPolicy")
        text = storage.config(ctx.db, bucket["name"], "policy")
        if text is None:
            raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", status=404,
                           BucketName=bucket["name"])
        return {"Policy": text}

    def delete_bucket_policy(self, ctx, request):
        return self._delete_simple(ctx, request, "policy", "s3:DeleteBucketPolicy")

    def get_bucket_policy_status(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetBucketPolicyStatus")
        if storage.config(ctx.db, bucket["name"], "policy") is None:
            raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", status=404,
                           BucketName=bucket["name"])
        return {"PolicyStatus": {"IsPublic": access.bucket_is_public(ctx.db, bucket)}}

    # -- encryption ---------------------------------------------------------------------
    def put_bucket_encryption(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutEncryptionConfiguration")
        doc = request.get("ServerSideEncryptionConfiguration") or {}
        rules = doc.get("Rules") or []
        if not rules:
            raise _malformed()
        for r in rules:
            algo = (r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
            if algo not in ("AES256", "aws:kms", "aws:kms:dsse"):
                raise _malformed()
        storage.set_config(ctx.db, bucket["name"], "encryption", doc)
        return {}

    def get_bucket_encryption(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetEncryptionConfiguration")
        doc = storage.config(ctx.db, bucket["name"], "encryption") or {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}
        return {"ServerSideEncryptionConfiguration": doc}

    def delete_bucket_encryption(self, ctx, request):
        return self._delete_simple(ctx, request, "encryption", "s3:PutEncryptionConfiguration")

    # -- small settings with defaults ---------------------------------------------------
    def put_bucket_logging(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutBucketLogging")
        status = request.get("BucketLoggingStatus") or {}
        target = (status.get("LoggingEnabled") or {}).get("TargetBucket")
        if target:
            tb = ctx.db.execute("SELECT account FROM s3_bucket WHERE name=?", (target,)).fetchone()
            if tb is None:
                raise AwsError("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                               status=400, TargetBucket=target)
            if tb["account"] != bucket["account"]:
                raise AwsError("InvalidTargetBucketForLogging", "The owner for the bucket to be logged and the "
                               "target bucket must be the same.", status=400, TargetBucket=target)
        storage.set_config(ctx.db, bucket["name"], "logging", status)
        return {}

    def get_bucket_logging(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetBucketLogging")
        return storage.config(ctx.db, bucket["name"], "logging") or {}

    def put_bucket_request_payment(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutBucketRequestPayment")
        payer = (request.get("RequestPaymentConfiguration") or {}).get("Payer")
        if payer not in ("Requester", "BucketOwner"):
            raise _malformed()
        storage.set_config(ctx.db, bucket["name"], "request_payment", payer)
        return {}

    def get_bucket_request_payment(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetBucketRequestPayment")
        return {"Payer": storage.config(ctx.db, bucket["name"], "request_payment") or "BucketOwner"}

    def put_bucket_accelerate_configuration(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutAccelerateConfiguration")
        if "." in bucket["name"]:
            raise AwsError("InvalidRequest", "S3 Transfer Acceleration is not supported for buckets with periods "
                           "(.) in their names", status=400)
        status = (request.get("AccelerateConfiguration") or {}).get("Status")
        if status not in ("Enabled", "Suspended"):
            raise _malformed()
        storage.set_config(ctx.db, bucket["name"], "accelerate", status)
        return {}

    def get_bucket_accelerate_configuration(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetAccelerateConfiguration")
        status = storage.config(ctx.db, bucket["name"], "accelerate")
        return {"Status": status} if status else {}

    # -- object lock --------------------------------------------------------------------
    def put_object_lock_configuration(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:PutBucketObjectLockConfiguration")
        doc = request.get("ObjectLockConfiguration") or {}
        if not bucket["object_lock"]:
            if bucket["versioning"] != "Enabled":
                raise AwsError("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a "
                               "Object Lock configuration", status=409)
            ctx.db.execute("UPDATE s3_bucket SET object_lock=1 WHERE name=?", (bucket["name"],))
        default = (doc.get("Rule") or {}).get("DefaultRetention")
        if default is not None:
            if bool(default.get("Days")) == bool(default.get("Years")) or default.get("Mode") not in (
                    "GOVERNANCE", "COMPLIANCE"):
                raise _malformed()
            if transitions.int32(default.get("Days") or default.get("Years")) < 1:
                raise AwsError("InvalidArgument", "Default retention period must be a positive integer value",
                               status=400)
        storage.set_config(ctx.db, bucket["name"], "object_lock", {"ObjectLockEnabled": "Enabled", **doc})
        return {}

    def get_object_lock_configuration(self, ctx, request):
        bucket = _bucket(ctx, request, "s3:GetBucketObjectLockConfiguration")
        doc = storage.config(ctx.db, bucket["name"], "object_lock")
        if not bucket["object_lock"] or doc is None:
            raise AwsError("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for "
                           "this bucket", status=404, BucketName=bucket["name"])
        return {"ObjectLockConfiguration": doc}

    # -- id-keyed configurations ---------------------------------------------------------
    def _put_by_id(self, ctx, request, kind):
        bucket = _bucket(ctx, request, f"s3:Put{_BY_ID[kind]}")
        doc = request.get(_BY_ID[kind]) or {}
        if doc.get("Id") != request["Id"]:
            raise AwsError("InvalidArgument", "Configuration Id in the request body does not match the Id in the "
                           "URI", status=400)
        storage.set_config(ctx.db, bucket["name"], kind, doc, id=request["Id"])
        return {}

    def _get_by_id(self, ctx, request, kind):
        bucket = _bucket(ctx, request, f"s3:Get{_BY_ID[kind]}")
        doc = storage.config(ctx.db, bucket["name"], kind, id=request["Id"])
        if doc is None:
            raise AwsError("NoSuchConfiguration", "The specified configuration does not exist.", status=404)
        return {_BY_ID[kind]: doc}

    def _delete_by_id(self, ctx, request, kind):
        bucket = _bucket(ctx, request, f"s3:Put{_BY_ID[kind]}")
        if not storage.delete_config(ctx.db, bucket["name"], kind, id=request["Id"]):
            raise AwsError("NoSuchConfiguration", "The specified configuration does not exist.", status=404)
        return {}

    def _list_by_id(self, ctx, request, kind):
        bucket = _bucket(ctx, request, f"s3:Get{_BY_ID[kind]}")
        rows = ctx.db.execute("SELECT value FROM s3_bucket_config WHERE bucket=? AND kind=? ORDER BY id",
                              (bucket["name"], kind)).fetchall()
        docs = [json.loads(r[0]) for r in rows]
        return {_LIST_MEMBER[kind]: docs or None, "IsTruncated": False}


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _install_by_id():
    """put/get/delete/list_bucket_<kind>_configuration(s) for the id-keyed kinds."""
    for kind in _BY_ID:
        def put(self, ctx, request, kind=kind):
            return self._put_by_id(ctx, request, kind)

        def get(self, ctx, request, kind=kind):
            return self._get_by_id(ctx, request, kind)

        def delete(self, ctx, request, kind=kind):
            return self._delete_by_id(ctx, request, kind)

        def lister(self, ctx, request, kind=kind):
            return self._list_by_id(ctx, request, kind)
        setattr(ConfigOperations, f"put_bucket_{kind}_configuration", put)
        setattr(ConfigOperations, f"get_bucket_{kind}_configuration", get)
        setattr(ConfigOperations, f"delete_bucket_{kind}_configuration", delete)
        setattr(ConfigOperations, f"list_bucket_{kind}_configurations", lister)


_install_by_id()
