"""Haneul's runtime interface client for Python functions (3.9+; standard library only).

Speaks the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API: fetch the next event, call the
handler, post its result or error.  Errors are reported in AWS's shapes
(errorMessage/errorType/stackTrace; Runtime.ImportModuleError and friends at init).
"""

import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
HANDLER = os.environ.get("_HANDLER", "")
PREFIX = "/2018-06-01/runtime"
FUNCTION_NAME = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
FUNCTION_VERSION = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
MEMORY_SIZE = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
LOG_GROUP = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
LOG_STREAM = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")


class Response:
    __slots__ = ("status", "headers")

    def __init__(self, status, headers):
        self.status = status
        self.headers = headers              # lower-case names

    def getheader(self, name, default=None):
        return self.headers.get(name.lower(), default)


class Client:
    """A small HTTP/1.1 keep-alive client on one socket.  http.client parses every
    response's headers with the email package, which costs more than the rest of a warm
    invocation; the Runtime API's messages are simple enough to read directly."""

    def __init__(self):
        host, _, port = API.partition(":")
        self.address = (host, int(port or 80))
        self.host = API
        self.next_request = "GET {0}/invocation/next HTTP/1.1\r\nHost: {1}\r\n\r\n".format(PREFIX, API).encode()
        self.sock = None
        self.buf = b""

    def _connect(self):
        sock = socket.create_connection(self.address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buf = b""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""

    def request(self, method, path, body=None, headers=None, then_next=False):
        """Send a request and read its answer.  With `then_next`, a GET /invocation/next
        is pipelined behind it in the same segment and the next event's answer returned:
        the server answers both in one write when the event arrives, so an invocation
        costs the runtime one wake-up instead of two."""
        head = "{0} {1}{2} HTTP/1.1\r\nHost: {3}\r\n".format(method, PREFIX, path, self.host)
        for k, v in (headers or {}).items():
            head += "{0}: {1}\r\n".format(k, v)
        if body is not None:
            if isinstance(body, str):
                body = body.encode("utf-8")
            head += "Content-Length: {0}\r\n".format(len(body))
        data = (head + "\r\n").encode("latin-1") + (body or b"")
        if then_next:
            data += self.next_request
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self._connect()
                self.sock.sendall(data)
                answer = self._read_response()
                if then_next:
                    if self.sock is None:           # the server closed after the first answer
                        return self.request("GET", "/invocation/next")
                    answer = self._read_response()
                return answer
            except (ConnectionError, OSError, ValueError):
                self.close()
                if attempt == 2:
                    raise

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the Runtime API closed the connection")
        self.buf += chunk

    def _read_line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                return line
            self._fill()

    def _read_exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_response(self):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill()
        head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:         # a name has no spaces around it; the value may
            k, _, v = line.partition(":")
            headers[k.lower()] = v.strip()
        if "transfer-encoding" in headers and headers["transfer-encoding"].lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_line().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self._read_line():          # trailers
                        pass
                    break
                parts.append(self._read_exactly(size))
                self._read_exactly(2)
            body = b"".join(parts)
        else:
            body = self._read_exactly(int(headers.get("content-length") or 0))
        if "connection" in headers and headers["connection"].lower() == "close":
            self.close()
        return Response(status, headers), body


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = FUNCTION_NAME
        self.function_version = FUNCTION_VERSION
        self.memory_limit_in_mb = MEMORY_SIZE
        self.log_group_name = LOG_GROUP
        self.log_stream_name = LOG_STREAM
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return ("LambdaContext([aws_request_id={0},log_group_name={1},log_stream_name={2},function_name={3},"
                "memory_limit_in_mb={4},function_version={5},invoked_function_arn={6}])").format(
            self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
            self.memory_limit_in_mb, self.function_version, self.invoked_function_arn)


def error_doc(exc, error_type=None, message=None):
    frames = traceback.extract_tb(exc.__traceback__)
    return {"errorMessage": message if message is not None else str(exc),
            "errorType": error_type or type(exc).__name__,
            "requestId": "",
            "stackTrace": ["  File \"{0}\", line {1}, in {2}\n    {3}\n".format(f.filename, f.lineno, f.name, f.line or "")
                           for f in frames]}


def load_handler():
    module_path, _, function = HANDLER.rpartition(".")
    if not module_path or not function:
        raise InitError("Runtime.MalformedHandlerName",
                        "Bad handler '{0}': not enough values to unpack (expected 2, got 1)".format(HANDLER))
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        raise InitError("Runtime.UserCodeSyntaxError",
                        "Syntax error in module '{0}': {1}".format(module_name, e), e)
    except ImportError as e:
        raise InitError("Runtime.ImportModuleError",
                        "Unable to import module '{0}': {1}".format(module_name, e), e)
    handler = getattr(module, function, None)
    if handler is None:
        raise InitError("Runtime.HandlerNotFound",
                        "Handler '{0}' missing on module '{1}'".format(function, module_name))
    return handler


class InitError(Exception):
    def __init__(self, error_type, message, cause=None):
        super().__init__(message)
        self.error_type = error_type
        self.cause = cause


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = RequestIdFilter.request_id
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RequestIdFilter())
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())


def main():
    sys.path[:0] = [p for p in (TASK_ROOT,) if p not in sys.path]
    if sys.path[1:] and os.path.dirname(os.path.abspath(__file__)) in sys.path:
        sys.path.remove(os.path.dirname(os.path.abspath(__file__)))
    setup_logging()
    client = Client()
    try:
        handler = load_handler()
    except InitError as e:
        doc = {"errorMessage": str(e), "errorType": e.error_type, "requestId": "", "stackTrace": []}
        sys.stdout.write("[ERROR] {0}: {1}\n".format(e.error_type, e))
        sys.stdout.flush()
        client.request("POST", "/init/error", json.dumps(doc).encode(),
                       {"Lambda-Runtime-Function-Error-Type": e.error_type})
        sys.exit(1)
    except Exception as e:      # module code raised while importing
        doc = error_doc(e)
        sys.stdout.write("[ERROR] {0}: {1}\n".format(doc["errorType"], doc["errorMessage"]))
        sys.stdout.flush()
        client.request("POST", "/init/error", json.dumps(doc).encode(),
                       {"Lambda-Runtime-Function-Error-Type": "Runtime.Unknown"})
        sys.exit(1)
    resp, body = client.request("GET", "/invocation/next")
    while True:
        got = resp.headers.get
        request_id = got("lambda-runtime-aws-request-id")
        RequestIdFilter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = got("lambda-runtime-trace-id") or ""
        client_context = got("lambda-runtime-client-context")
        identity = got("lambda-runtime-cognito-identity")
        context = LambdaContext(request_id, int(got("lambda-runtime-deadline-ms") or 0),
                                got("lambda-runtime-invoked-function-arn"),
                                json.loads(client_context) if client_context else None,
                                json.loads(identity) if identity else None)
        try:
            event = json.loads(body) if body else None
            result = handler(event, context)
            try:
                out = json.dumps(result).encode()
            except (TypeError, ValueError) as e:
                raise InitError("Runtime.MarshalError", "Unable to marshal response: {0}".format(e))
        except InitError as e:
            doc = {"errorMessage": str(e), "errorType": e.error_type, "requestId": request_id, "stackTrace": []}
            sys.stdout.write("[ERROR] {0}: {1}\n".format(e.error_type, e))
            sys.stdout.flush()
            resp, body = client.request("POST", "/invocation/{0}/error".format(request_id),
                                        json.dumps(doc).encode(),
                                        {"Lambda-Runtime-Function-Error-Type": e.error_type}, then_next=True)
            continue
        except Exception as e:
            doc = error_doc(e)
            doc["requestId"] = request_id
            sys.stdout.write("[ERROR] {0}: {1}\nTraceback (most recent call last):\n{2}".format(
                doc["errorType"], doc["errorMessage"], "".join(doc["stackTrace"])))
            sys.stdout.flush()
            sys.stderr.flush()
            resp, body = client.request("POST", "/invocation/{0}/error".format(request_id),
                                        json.dumps(doc).encode(),
                                        {"Lambda-Runtime-Function-Error-Type": "Unhandled"}, then_next=True)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        resp, body = client.request("POST", "/invocation/{0}/response".format(request_id), out, then_next=True)


if __name__ == "__main__":
    main()
