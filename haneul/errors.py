"""The one exception services raise; the dispatcher turns it into the wire error."""

from __future__ import annotations


class AwsError(Exception):
    """An AWS error answer.

    `code` is the error's name as the model spells it (the shape name, e.g.
    "ParameterNotFound"); the codec maps it to the wire code, the HTTP status and
    the message member the model gives.  `status` is used only for errors the model
    does not describe.  Extra keyword fields become members of the error shape.
    """

    def __init__(self, code: str, message: str = "", /, status: int | None = None,
                 sender: bool = True, headers: dict | None = None, fields: dict | None = None,
                 **extra):
        super().__init__(f"{code}: {message}")
        self.code = code
        # For awsQueryCompatible services (SQS): the legacy query code, e.g.
        # "AWS.SimpleQueueService.NonExistentQueue"; services map it in QUERY_ERROR_CODES.
        self.query_code: str | None = None
        self.message = message
        self.status = status
        self.sender = sender
        self.headers = headers or {}
        # members named like the arguments above ("status", "code") go in `fields=`
        self.fields = {**(fields or {}), **extra}


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def not_implemented(service: str, operation: str) -> AwsError:
    return AwsError(
        "NotImplementedException" if operation else "UnknownOperationException",
        f"The operation {operation} of service {service} is not implemented by Haneul yet",
        501,
    )
