"""SecureString values: where KMS encryption slots in.

SecureString values must be encrypted with a KMS key and never stored as plain
text.  Haneul has no KMS yet, so `seal` refuses; when KMS exists it will call
kms:Encrypt through the dispatcher (default key alias/aws/ssm), store the
ciphertext blob in the value column, and `unseal` will call kms:Decrypt for
WithDecryption=true and return the base64 ciphertext otherwise.
"""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.errors import AwsError

DEFAULT_KEY = "alias/aws/ssm"


def seal(ctx: RequestContext, key_id: str | None, plaintext: str) -> str:
    """Plain text -> the stored form of a SecureString value."""
    raise AwsError(
        "UnsupportedParameterType",
        "SecureString parameters are encrypted with AWS KMS, which Haneul does not implement yet, "
        "so Haneul refuses them rather than store the value unencrypted. Use the String or "
        "StringList type for values that are not secret.")


def unseal(ctx: RequestContext, key_id: str | None, stored: str, decrypt: bool) -> str:
    """The stored form -> what GetParameter returns (ciphertext unless decrypt)."""
    raise AwsError("InvalidKeyId", "SecureString values need AWS KMS, which Haneul does not implement yet.")
