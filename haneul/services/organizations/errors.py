"""The errors Organizations answers, with its messages (AWS's wording where known,
the API reference's description of the error otherwise)."""

from __future__ import annotations

from haneul.errors import AwsError


def not_in_use() -> AwsError:
    return AwsError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")


def access_denied() -> AwsError:
    return AwsError("AccessDeniedException", "You don't have permissions to access this resource.")


def invalid_input(reason: str, message: str = "You specified an invalid value.") -> AwsError:
    return AwsError("InvalidInputException", message, Reason=reason)


def constraint(reason: str, message: str) -> AwsError:
    return AwsError("ConstraintViolationException", message, Reason=reason)


def handshake_constraint(reason: str, message: str) -> AwsError:
    return AwsError("HandshakeConstraintViolationException", message, Reason=reason)


def bad_token() -> AwsError:
    return invalid_input("INVALID_NEXT_TOKEN", "The specified NextToken is not valid.")


def account_not_found() -> AwsError:
    return AwsError("AccountNotFoundException", "You specified an account that doesn't exist.")


def ou_not_found() -> AwsError:
    return AwsError("OrganizationalUnitNotFoundException",
                    "You specified an organizational unit that doesn't exist.")


def parent_not_found() -> AwsError:
    return AwsError("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")


def child_not_found() -> AwsError:
    return AwsError("ChildNotFoundException",
                    "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")


def root_not_found() -> AwsError:
    return AwsError("RootNotFoundException", "You specified a root that doesn't exist.")


def target_not_found() -> AwsError:
    return AwsError("TargetNotFoundException", "You specified a target that doesn't exist.")


def policy_not_found() -> AwsError:
    return AwsError("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")


def handshake_not_found() -> AwsError:
    return AwsError("HandshakeNotFoundException",
                    "We can't find a handshake with the HandshakeId that you specified.")


def malformed_policy() -> AwsError:
    return AwsError("MalformedPolicyDocumentException",
                    "The provided policy document does not meet the requirements of the specified policy type.")


def policy_type_not_enabled() -> AwsError:
    return AwsError("PolicyTypeNotEnabledException",
                    "This operation can be performed only for enabled policy types.")


def policy_type_not_available() -> AwsError:
    return AwsError("PolicyTypeNotAvailableForOrganizationException",
                    "You can't use the specified policy type with the feature set currently enabled "
                    "for this organization.")


def immutable_policy() -> AwsError:
    return invalid_input("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")


def unrecognized_principal() -> AwsError:
    return invalid_input("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified an unrecognized service principal.")


def not_all_features() -> AwsError:
    return constraint("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
                      "This operation requires that the organization has all features enabled.")
