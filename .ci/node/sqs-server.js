// Starts an SQS-compatible API server on 127.0.0.1 for integration tests.
const { createSqsServer } = require("local-aws-sqs");

(async () => {
  const port = Number(process.env.SQS_PORT || 9324);
  const server = await createSqsServer({ port, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false });
  console.log(`local-aws-sqs on 127.0.0.1:${port}`);
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})();
