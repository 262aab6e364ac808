"""Step Functions task integrations: names of aws-sdk errors, as AWS documents them."""

from haneul.services.stepfunctions.integrations import SDK_SERVICES, sdk_error_name


def test_error_names_get_the_exception_suffix_and_pascal_service():
    assert sdk_error_name("S3", "NoSuchKey") == "S3.NoSuchKeyException"
    assert sdk_error_name("S3", "BucketAlreadyExists") == "S3.BucketAlreadyExistsException"
    assert sdk_error_name("AcmPca", "ResourceNotFoundException") == "AcmPca.ResourceNotFoundException"
    assert SDK_SERVICES["sfn"] == ("stepfunctions", "Sfn")
    assert SDK_SERVICES["dynamodb"][1] == "DynamoDb" and SDK_SERVICES["eventbridge"] == ("events", "EventBridge")
