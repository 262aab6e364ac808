// Haneul's runtime interface client for Node.js functions (Node 18+; no dependencies).
// Speaks the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API and reports errors in AWS's
// shapes ({errorType, errorMessage, trace}; Runtime.ImportModuleError at init).
"use strict";

const http = require("http");
const net = require("net");
const path = require("path");
const fs = require("fs");
const url = require("url");

const [HOST, PORT] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
const HANDLER = process.env._HANDLER || "";
const PREFIX = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const { Writable } = require("stream");
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const HTTP_PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response";

// The globals AWS's Node.js runtime offers for response streaming.
globalThis.awslambda = {
  streamifyResponse(fn) { fn[STREAMING] = "response"; return fn; },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(HTTP_PRELUDE_TYPE);
      stream.write(JSON.stringify(prelude || {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

// A Writable posting to /response in chunks as they are written; an error goes in the trailers.
function responseStream(id) {
  let req = null;
  let contentType = "application/octet-stream";
  let settle;
  const finished = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  const open = () => {
    if (req) return req;
    req = http.request({ host: HOST, port: PORT, method: "POST", path: `${PREFIX}/invocation/${id}/response`, agent,
      headers: { "Lambda-Runtime-Function-Response-Mode": "streaming", "Transfer-Encoding": "chunked",
        "Content-Type": contentType, Trailer: "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body" } },
    (res) => { res.resume(); res.on("end", settle.resolve); });
    req.on("error", settle.reject);
    return req;
  };
  const stream = new Writable({
    write(chunk, _encoding, callback) { open().write(chunk, callback); },
    final(callback) { open().end(); callback(); },
  });
  stream.setContentType = (type) => { contentType = type; };
  stream.fail = (doc) => {
    const r = open();
    r.addTrailers({ "Lambda-Runtime-Function-Error-Type": doc.errorType,
      "Lambda-Runtime-Function-Error-Body": Buffer.from(JSON.stringify(doc)).toString("base64") });
    r.end();
  };
  stream.finished = finished;
  return stream;
}

async function runStreaming(fn, event, context, id) {
  const stream = responseStream(id);
  try {
    await fn(event, stream, context);
    if (!stream.writableEnded) stream.end();
  } catch (e) {
    const doc = errorDoc(e);
    process.stdout.write(`${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(doc)}\n`);
    if (stream.writableEnded) return stream.finished;
    stream.fail(doc);
  }
  return stream.finished;
}

// The Runtime API on one kept-alive socket with no delay, read directly (its answers are
// small, with Content-Length).  A /response or /error is written with the next /next
// pipelined behind it: the server answers both in one write when the next event arrives,
// so an invocation costs one write and one wake-up each way.  (Node's http client waits
// for each answer before sending the next request, and writes a request in two parts.)
class Client {
  constructor() {
    this.sock = null;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
  }

  connect() {
    const sock = net.connect({ host: HOST, port: Number(PORT) });
    sock.setNoDelay(true);
    sock.on("data", (data) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
      this.drain();
    });
    const fail = (err) => {
      if (this.sock === sock) this.sock = null;
      this.buf = Buffer.alloc(0);
      const waiters = this.waiters.splice(0);
      for (const w of waiters) w.reject(err || new Error("the Runtime API closed the connection"));
    };
    sock.on("error", fail);
    sock.on("close", () => fail());
    this.sock = sock;
  }

  drain() {
    while (this.waiters.length) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = this.buf.toString("latin1", 0, end).split("\r\n");
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(":");
        if (colon > 0) headers[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] || 0);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.subarray(end + 4, end + 4 + length);
      this.buf = this.buf.subarray(end + 4 + length);
      const close = (headers.connection || "").toLowerCase() === "close";
      this.waiters.shift().resolve({ status: Number(lines[0].split(" ")[1]), headers, body });
      if (close && this.sock) { this.sock.destroy(); this.sock = null; }
    }
  }

  // the answer to `method p`, or with thenNext the next event's (after the first answer)
  request(method, p, body, headers, thenNext) {
    const data = body === undefined ? null : Buffer.from(body);
    let head = `${method} ${PREFIX}${p} HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\n`;
    for (const [k, v] of Object.entries(headers || {})) head += `${k}: ${v}\r\n`;
    if (data) head += `Content-Length: ${data.length}\r\n`;
    const parts = [Buffer.from(head + "\r\n", "latin1")];
    if (data) parts.push(data);
    if (thenNext) parts.push(NEXT);
    const out = Buffer.concat(parts);
    if (!this.sock) this.connect();
    const answers = [];
    for (let i = 0; i < (thenNext ? 2 : 1); i++) {
      answers.push(new Promise((resolve, reject) => this.waiters.push({ resolve, reject })));
    }
    this.sock.write(out);
    return Promise.all(answers).then((got) => got[got.length - 1]);
  }
}

const NEXT = Buffer.from(`GET ${PREFIX}/invocation/next HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\n\r\n`, "latin1");
const client = new Client();

function errorDoc(err, type) {
  if (!(err instanceof Error)) {
    return { errorType: type || "string", errorMessage: String(err), trace: [] };
  }
  return {
    errorType: type || err.name || "Error",
    errorMessage: err.message,
    trace: String(err.stack || "").split("\n"),
  };
}

class UserError extends Error {
  constructor(name, message) { super(message); this.name = name; }
}

async function loadHandler() {
  const dot = HANDLER.lastIndexOf(".");
  if (dot < 1) throw new UserError("Runtime.MalformedHandlerName", `Bad handler ${HANDLER}`);
  const modulePath = HANDLER.slice(0, dot);
  const fnPath = HANDLER.slice(dot + 1);
  const base = path.resolve(TASK_ROOT, modulePath);
  let mod;
  let found = null;
  for (const ext of [".js", ".mjs", ".cjs", ""]) {
    if (fs.existsSync(base + ext) && fs.statSync(base + ext).isFile()) { found = base + ext; break; }
  }
  if (!found) {
    throw new UserError("Runtime.ImportModuleError",
      `Error: Cannot find module '${modulePath}'\nRequire stack:\n- ${__filename}`);
  }
  try {
    if (found.endsWith(".mjs")) {
      mod = await import(url.pathToFileURL(found).href);
    } else {
      try {
        mod = require(found);
      } catch (e) {
        if (e && e.code === "ERR_REQUIRE_ESM") mod = await import(url.pathToFileURL(found).href);
        else throw e;
      }
    }
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserError("Runtime.UserCodeSyntaxError", `${e.name}: ${e.message}`);
    if (e && e.code === "MODULE_NOT_FOUND") throw new UserError("Runtime.ImportModuleError", `Error: ${e.message}`);
    throw e;
  }
  let fn = mod;
  for (const part of fnPath.split(".")) fn = fn ? fn[part] : undefined;
  if (fn === undefined && mod && mod.default) fn = mod.default[fnPath];
  if (typeof fn !== "function") {
    throw new UserError("Runtime.HandlerNotFound", `${modulePath}.${fnPath} is undefined or not exported`);
  }
  return fn;
}

function patchConsole() {
  for (const level of ["log", "info", "warn", "error", "debug", "trace"]) {
    const label = level === "log" ? "INFO" : level.toUpperCase();
    const original = console[level].bind(console);
    console[level] = (...args) => {
      const id = process.env.__HANEUL_REQUEST_ID || "undefined";
      const text = require("util").format(...args);
      process.stdout.write(`${new Date().toISOString()}\t${id}\t${label}\t${text}\n`);
    };
    void original;
  }
}

function invokeHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err); else resolve(result);
    };
    context.succeed = (r) => callback(null, r);
    context.fail = (e) => callback(e === undefined ? new Error("handled") : e);
    context.done = (e, r) => callback(e, r);
    try {
      const out = fn(event, context, callback);
      if (out && typeof out.then === "function") out.then((r) => callback(null, r), (e) => callback(e === undefined || e === null ? new Error(String(e)) : e));
      else if (fn.length < 3) callback(null, out);
    } catch (e) {
      callback(e);
    }
  });
}

async function main() {
  patchConsole();
  let fn;
  try {
    fn = await loadHandler();
  } catch (e) {
    const doc = errorDoc(e);
    process.stdout.write(`${new Date().toISOString()}\tundefined\tERROR\t${JSON.stringify(doc)}\n`);
    await client.request("POST", "/init/error", JSON.stringify(doc), { "Lambda-Runtime-Function-Error-Type": doc.errorType });
    process.exit(1);
  }
  let next = await client.request("GET", "/invocation/next");
  for (;;) {
    const h = next.headers;
    const id = h["lambda-runtime-aws-request-id"];
    process.env.__HANEUL_REQUEST_ID = id;
    if (h["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = h["lambda-runtime-trace-id"];
    const deadline = Number(h["lambda-runtime-deadline-ms"] || 0);
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: id,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: h["lambda-runtime-client-context"] ? JSON.parse(h["lambda-runtime-client-context"]) : undefined,
      identity: h["lambda-runtime-cognito-identity"] ? JSON.parse(h["lambda-runtime-cognito-identity"]) : undefined,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let event;
    if (fn[STREAMING] === "response") {
      event = next.body.length ? JSON.parse(next.body.toString("utf8")) : null;
      await runStreaming(fn, event, context, id);
      next = await client.request("GET", "/invocation/next");
      continue;
    }
    let post;
    try {
      event = next.body.length ? JSON.parse(next.body.toString("utf8")) : null;
      const result = await invokeHandler(fn, event, context);
      const body = result === undefined ? "null" : JSON.stringify(result);
      post = [`/invocation/${id}/response`, body === undefined ? "null" : body, {}];
    } catch (e) {
      const doc = errorDoc(e);
      process.stdout.write(`${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(doc)}\n`);
      post = [`/invocation/${id}/error`, JSON.stringify(doc), { "Lambda-Runtime-Function-Error-Type": doc.errorType }];
    }
    next = await client.request("POST", post[0], post[1], post[2], true);
  }
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
