"""Amazon S3: buckets, objects, versions, multipart uploads, checksums, configurations,
access (policies, ACLs, Block Public Access) and event notifications.

The operations are split by resource: buckets.py, objects.py, copies.py, listing.py,
multipart.py, objectmeta.py (tags, lock, attributes), acls.py, configs.py and
notifications.py.  Bodies stream through bodies.py into blob files; metadata is in the
store (storage.py).  wire.py holds S3's wire quirks.
"""

from __future__ import annotations

from haneul.services.base import Service
from haneul.services.s3.access import ACCOUNT_PAB_SCHEMA
from haneul.services.s3.acls import AclOperations
from haneul.services.s3.buckets import BucketOperations
from haneul.services.s3.configs import ConfigOperations
from haneul.services.s3.copies import CopyOperations
from haneul.services.s3.listing import ListingOperations
from haneul.services.s3.multipart import MultipartOperations
from haneul.services.s3.notifications import NotificationOperations
from haneul.services.s3.objectmeta import ObjectMetaOperations
from haneul.services.s3.objects import ObjectOperations
from haneul.services.s3.restore import SCHEMA as _RESTORE_SCHEMA, RestoreOperations
from haneul.services.s3.storage import SCHEMA as _SCHEMA


class S3(BucketOperations, ObjectOperations, CopyOperations, ListingOperations, MultipartOperations,
         ObjectMetaOperations, RestoreOperations, AclOperations, ConfigOperations, NotificationOperations, Service):
    SCHEMA = _SCHEMA + [ACCOUNT_PAB_SCHEMA, _RESTORE_SCHEMA]
    NAMESPACE = "s3"
    # S3 answers malformed arguments with InvalidArgument, not a coral ValidationException
    VALIDATION_ERROR = "InvalidArgument"
    # LocationConstraint is checked by CreateBucket itself (the model's enum lacks us-east-1,
    # which S3 refuses with its own error)
    UNCHECKED_ENUMS = frozenset({"BucketLocationConstraint"})
