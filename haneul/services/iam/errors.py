"""IAM's error answers, with the messages IAM gives.  Codes are the model's shape names;
the codec takes the wire code (NoSuchEntity, DeleteConflict, ...) from the shape."""

from __future__ import annotations

from haneul.errors import AwsError

VALIDATION_ERROR = "ValidationError"


def no_such_entity(message: str) -> AwsError:
    return AwsError("NoSuchEntityException", message)


def already_exists(message: str) -> AwsError:
    return AwsError("EntityAlreadyExistsException", message)


def delete_conflict(message: str) -> AwsError:
    return AwsError("DeleteConflictException", message)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceededException", message)


def invalid_input(message: str) -> AwsError:
    return AwsError("InvalidInputException", message)


def malformed_policy(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocumentException", message)


def validation(message: str) -> AwsError:
    return AwsError(VALIDATION_ERROR, message, 400)


def unmodifiable(message: str) -> AwsError:
    return AwsError("UnmodifiableEntityException", message)


def quota(name: str, limit: int) -> AwsError:
    return limit_exceeded(f"Cannot exceed quota for {name}: {limit}")
