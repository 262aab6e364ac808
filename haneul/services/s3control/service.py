"""S3 Control: the account-level Block Public Access settings S3 applies to every bucket
of the account (other S3 Control operations are not implemented yet)."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.base import Service
from haneul.services.s3.access import ACCOUNT_PAB_SCHEMA, PAB_KEYS


def _check_account(ctx, request) -> str:
    account = request.get("AccountId") or ctx.account
    if account != ctx.account:
        raise AwsError("AccessDenied", "Access Denied", status=403)
    return account


class S3Control(Service):
    SCHEMA = [ACCOUNT_PAB_SCHEMA]
    NAMESPACE = "s3control"
    VALIDATION_ERROR = "InvalidRequest"

    def put_public_access_block(self, ctx, request):
        account = _check_account(ctx, request)
        conf = request.get("PublicAccessBlockConfiguration") or {}
        value = {k: bool(conf.get(k)) for k in PAB_KEYS}
        ctx.db.execute("INSERT INTO s3_account_public_access_block(account, value) VALUES(?, ?) "
                       "ON CONFLICT(account) DO UPDATE SET value=excluded.value", (account, json.dumps(value)))
        return {}

    def get_public_access_block(self, ctx, request):
        account = _check_account(ctx, request)
        row = ctx.db.execute("SELECT value FROM s3_account_public_access_block WHERE account=?",
                             (account,)).fetchone()
        if row is None:
            raise AwsError("NoSuchPublicAccessBlockConfiguration",
                           "The public access block configuration was not found", status=404,
                           AccountId=account)
        return {"PublicAccessBlockConfiguration": json.loads(row[0])}

    def delete_public_access_block(self, ctx, request):
        account = _check_account(ctx, request)
        ctx.db.execute("DELETE FROM s3_account_public_access_block WHERE account=?", (account,))
        return {}
