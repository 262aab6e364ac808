// Sample Node.js handlers for the Lambda end-to-end tests.
let calls = 0;

exports.echo = async (event, context) => {
  calls += 1;
  console.log("echo called", calls);
  return {
    event,
    calls,
    node: process.version,
    context: {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      remaining: context.getRemainingTimeInMillis(),
    },
    env: {
      AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
      AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV,
      GREETING: process.env.GREETING,
    },
  };
};

exports.callback = (event, context, callback) => {
  callback(null, { viaCallback: true, n: event.n });
};

exports.fail = async () => {
  throw new TypeError("node boom");
};

exports.sleep = async (event) => {
  await new Promise((r) => setTimeout(r, event.ms));
  return { slept: event.ms };
};
