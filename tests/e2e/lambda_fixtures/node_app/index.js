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

// Response streaming: three chunks written over time, then the end.
exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  for (let i = 0; i < (event.chunks || 3); i++) {
    responseStream.write(`chunk ${i} at ${Date.now()}\n`);
    await new Promise((resolve) => setTimeout(resolve, event.gap || 100));
  }
  responseStream.end();
});

// Response streaming that fails after its first chunk.
exports.streamFail = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("partial\n");
  await new Promise((resolve) => setTimeout(resolve, 20));
  throw new Error("stream broke");
});
