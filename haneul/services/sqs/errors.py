"""SQS errors: the legacy query codes AWS still sends, and constructors for the errors
that SQS raises with the same wording in many places."""

from __future__ import annotations

from haneul.errors import AwsError

# SQS is awsQueryCompatible: JSON clients read the legacy code from `x-amzn-query-error`
# and query clients get it as the error code.  Shape name -> legacy code, from the
# service's Smithy model (awsQueryError traits); errors the model lacks are the
# `com.amazon.coral.service#...Exception` types AWS answers with.
QUERY_ERROR_CODES: dict[str, str] = {
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "InvalidAddress": "InvalidAddress",
    "InvalidAttributeName": "InvalidAttributeName",
    "InvalidAttributeValue": "InvalidAttributeValue",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "InvalidIdFormat": "InvalidIdFormat",
    "InvalidMessageContents": "InvalidMessageContents",
    "InvalidSecurity": "InvalidSecurity",
    "KmsAccessDenied": "KMS.AccessDeniedException",
    "KmsDisabled": "KMS.DisabledException",
    "KmsInvalidKeyUsage": "KMS.InvalidKeyUsageException",
    "KmsInvalidState": "KMS.InvalidStateException",
    "KmsNotFound": "KMS.NotFoundException",
    "KmsOptInRequired": "KMS.OptInRequired",
    "KmsThrottled": "KMS.ThrottlingException",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "OverLimit": "OverLimit",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "RequestThrottled": "RequestThrottled",
    "ResourceNotFoundException": "ResourceNotFoundException",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
    # Not in the model: AWS's generic coral errors.
    "InvalidParameterValueException": "InvalidParameterValue",
    "MissingRequiredParameterException": "MissingParameter",
}

# HTTP status of the errors whose status is not 400 (the model's httpError traits;
# botocore's copy of the model drops them, so the codec learns them from here).
ERROR_STATUS: dict[str, int] = {
    "InvalidAddress": 404,
    "InvalidSecurity": 403,
    "KmsOptInRequired": 403,
    "OverLimit": 403,
    "PurgeQueueInProgress": 403,
    "ReceiptHandleIsInvalid": 404,
    "RequestThrottled": 403,
    "ResourceNotFoundException": 404,
}


def sqs_error(code: str, message: str = "") -> AwsError:
    return AwsError(code, message, status=ERROR_STATUS.get(code, 400))


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, status=400)


def invalid_value(name: str, value, reason: str) -> AwsError:
    """AWS's most common sentence: "Value X for parameter Y is invalid. Reason: Z"."""
    return invalid_parameter(f"Value {value} for parameter {name} is invalid. Reason: {reason}")


def missing_parameter(name: str) -> AwsError:
    return AwsError("MissingRequiredParameterException",
                    f"The request must contain the parameter {name}.", status=400)


def queue_does_not_exist(ctx=None) -> AwsError:
    # AWS still words it the old way for query-protocol clients.
    if ctx is not None and getattr(ctx, "protocol", "") == "query":
        return sqs_error("QueueDoesNotExist",
                         "The specified queue does not exist for this wsdl version.")
    return sqs_error("QueueDoesNotExist", "The specified queue does not exist.")


def receipt_handle_invalid(handle: str) -> AwsError:
    return sqs_error("ReceiptHandleIsInvalid",
                     f'The input receipt handle "{handle}" is not a valid receipt handle.')


def batch_failure(entry_id: str, err: AwsError) -> dict:
    """A per-entry failure of a batch call: AWS reports the legacy code there."""
    return {"Id": entry_id, "SenderFault": err.sender,
            "Code": QUERY_ERROR_CODES.get(err.code, err.code), "Message": err.message}
