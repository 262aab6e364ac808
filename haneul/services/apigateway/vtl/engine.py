"""airspeed, made to render as API Gateway does.

airspeed is a Velocity engine in Python; API Gateway runs Apache Velocity (Java) with its
own settings.  We load a private copy of the airspeed module (so other users of airspeed
in the process see it unchanged) and replace the parts that differ:

- whitespace: spaces/tabs before `#set` and the line end after its `)` are eaten, as in
  Velocity 1.7's lexer; a `#* *#` comment keeps the line end after it;
- references: a reference that resolves to nothing renders as nothing and counts as an
  empty string, which `#if` takes as true (AWS: `#if($undefined)` is true);
- values print as Java prints them (true, {k=v}, [a, b], 1.0E20) and methods are Java's
  (String.matches is a full match, Map.put returns the old value, ...), with no access
  to Python attributes;
- `#if`, `&&`, `||`, `!` use Java truthiness; `==` compares across types by toString;
  integer division truncates;
- single-quoted strings are literal; `""` inside a double-quoted string is one quote;
- `#set` assigns through brackets: `#set($map["$key"].nested = 1)`;
- `#foreach` over a map visits its values; `#break` leaves the loop;
- `$defined()` on a `#define` block renders the block followed by the literal `()`.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import lru_cache

from haneul.services.apigateway.vtl import javaish

_module = None


class VtlError(Exception):
    """A template that does not parse or fails while rendering."""


def airspeed():
    """The private, patched copy of the airspeed module (imported on first use)."""
    global _module
    if _module is None:
        spec = importlib.util.find_spec("airspeed")
        if spec is None or spec.origin is None:
            raise VtlError("mapping templates need the airspeed package (pip install airspeed)")
        private = importlib.util.spec_from_file_location("haneul_vtl_airspeed", spec.origin)
        mod = importlib.util.module_from_spec(private)
        sys.modules.setdefault("haneul_vtl_airspeed", mod)
        private.loader.exec_module(mod)
        _patch(mod)
        _module = mod
    return _module


@lru_cache(maxsize=2048)
def compile_template(text: str):
    a = airspeed()
    template = a.Template(text)
    try:
        template.ensure_compiled()
    except a.TemplateError as err:
        raise VtlError(f"Invalid mapping expression specified: {err}") from None
    return template


def render(text: str, namespace: dict) -> str:
    """Render template `text` with the variables in `namespace` (context, input, util,
    stageVariables...).  Assignments to nested maps (`$context.responseOverride`) are
    visible to the caller afterwards."""
    if not text:
        return ""
    template = compile_template(text)
    a = _module
    out = a.StoppableStream()
    try:
        template.merge_to(namespace, out)
    except a.TemplateError as err:
        cause = err.__cause__ or err
        raise VtlError(f"Execution failure due to a mapping template error: {cause}") from None
    return out.getvalue()


class _Break(Exception):
    pass


def _patch(a) -> None:   # noqa: C901 - one place for every difference from airspeed
    NoMatch = a.NoMatch
    LocalNamespace = a.LocalNamespace
    WS_EOL = a.WHITESPACE_TO_END_OF_LINE

    # -- whitespace ------------------------------------------------------------------
    set_ahead = re.compile(r"[ \t]+#(?:set|\{set\})\s*\(", re.I)
    text_parse = a.Text.parse

    def text_parse_eating_set_indent(self):
        start = self.end
        text_parse(self)
        raw = self.my_text()
        m = re.search(r"[ \t]+$", raw)
        if m and set_ahead.match(self._full_text, start + m.start()):
            self.end = start + m.start()
            if self.end == start:
                raise NoMatch()
            self.text = a.Text.ESCAPED_CHAR.sub(lambda g: g.group(1), self.my_text())
    a.Text.parse = text_parse_eating_set_indent
    a.Comment.COMMENT = re.compile(r"#(?:#.*?(?:\n|$)|\*.*?\*#)", re.M | re.S)

    # -- literals ----------------------------------------------------------------------
    single = re.compile(r"'([^']*)'", re.S)

    def single_parse(self):
        self.value, = self.identity_match(single)
    a.StringLiteral.parse = single_parse
    a.StringLiteral.STRING = single

    double = re.compile(r'"((?:""|\\.|[^"\\])*)"', re.S)
    escapes = re.compile(r'\\([nrbt"\\])')
    escaped = {"n": "\n", "r": "\r", "b": "\b", "t": "\t", '"': '"', "\\": "\\"}

    def double_parse(self):
        value, = self.identity_match(double)
        value = value.replace('""', '"')
        self.value = escapes.sub(lambda m: escaped[m.group(1)], value)
        self.block = a.Block(self.filename, self.value, 0)
    a.InterpolatedStringLiteral.parse = double_parse

    # -- references --------------------------------------------------------------------
    ref_parse = a.FormalReference.parse

    def ref_parse_null_as_empty(self):
        ref_parse(self)
        inner = self.calculate
        if inner is None:
            return
        alternate = self.alternate

        def calculate(namespace, loader, *rest):
            value = inner(namespace, loader, *rest)
            if value is None and alternate is not None:
                value = alternate.calculate(namespace, loader)
            return "" if value is None else value
        self.calculate = calculate
    a.FormalReference.parse = ref_parse_null_as_empty

    def ref_render(self, stream, namespace, loader):
        if self.expression is None:
            stream.write(self.my_text())
            return
        stream.write(javaish.to_string(self.calculate(namespace, loader)))
    a.FormalReference.evaluate_raw = ref_render

    def name_or_call(self, current_object, loader, top_namespace):
        if isinstance(current_object, LocalNamespace) or isinstance(current_object, dict) and \
                current_object is top_namespace:
            try:
                result = current_object[self.name]
            except (KeyError, TypeError):
                result = None
            if self.parameters is not None and not isinstance(result, a._FunctionDefinition):
                result = None
        elif self.parameters is not None:
            args = self.parameters.calculate(top_namespace, loader)
            try:
                result = javaish.call_method(current_object, self.name, args)
            except (IndexError, KeyError, TypeError, ValueError, AttributeError, re.error):
                result = None
            return self._index(result, top_namespace, loader)
        else:
            result = javaish.get_property(current_object, self.name)
        if isinstance(result, a._FunctionDefinition):
            stream = a.StoppableStream()
            params = self.parameters.calculate(top_namespace, loader) if self.parameters else []
            if isinstance(result, a.DefineDefinition):
                result.execute_function(stream, top_namespace, [], loader)
                text = stream.getvalue()
                if self.parameters is not None:
                    text += self._full_text[self.parameters.start:self.parameters.end]
                return text
            result.execute_function(stream, top_namespace, params, loader)
            return stream.getvalue()
        return self._index(result, top_namespace, loader)

    def index(self, result, top_namespace, loader):
        if self.index is None or result is None:
            return result
        return _at(result, self.index.calculate(top_namespace, loader))
    a.NameOrCall.calculate = name_or_call
    a.NameOrCall._index = index

    def _at(obj, key):
        try:
            if isinstance(obj, list):
                return obj[key] if isinstance(key, int) and not isinstance(key, bool) and key >= 0 else None
            if isinstance(obj, dict):
                return obj.get(key)
            if isinstance(obj, str) and isinstance(key, int):
                return obj[key]
        except (IndexError, TypeError):
            return None
        return None

    def sub_expression(self, current_object, loader, global_namespace):
        if not isinstance(self.expression, a.ArrayIndex):
            return self.expression.calculate(current_object, loader, global_namespace)
        result = _at(current_object, self.expression.calculate(global_namespace, loader))
        if self.subexpression:
            result = self.subexpression.calculate(result, loader, global_namespace)
        return result
    a.SubExpression.calculate = sub_expression

    # -- #set with dots and brackets ---------------------------------------------------
    class SetDirective(a._Element):
        START = re.compile(r"[ \t]*#(?:set|\{set\})\s*\(", re.S | re.I)
        ROOT = re.compile(r"\s*\$!?(\{?)([a-z_][a-z0-9_]*)", re.S | re.I)
        DOT = re.compile(r"\.([a-z_][a-z0-9_]*)", re.S | re.I)
        CLOSE_BRACE = re.compile(r"\}")
        EQUALS = re.compile(r"\s*=\s*", re.S)
        END = re.compile(r"\s*\)(?:[ \t]*\r?\n)?", re.S)

        def parse(self):
            self.identity_match(self.START)
            brace, self.root = self.require_match(self.ROOT, "place")
            self.path = []
            while True:
                m = self.next_match(self.DOT)
                if m is not None:
                    self.path.append((False, m[0]))
                    continue
                try:
                    self.path.append((True, self.next_element(a.ArrayIndex)))
                except NoMatch:
                    break
            if brace:
                self.require_match(self.CLOSE_BRACE, "}")
            self.require_match(self.EQUALS, "=")
            self.value = self.require_next_element(a.Expression, "expression")
            self.require_match(self.END, "closing paren")

        def evaluate_raw(self, stream, namespace, loader):
            value = self.value.calculate(namespace, loader)
            if not self.path:
                namespace.set_inherited(self.root, value)
                return
            try:
                cur = namespace[self.root]
            except KeyError:
                return
            keys = [el.calculate(namespace, loader) if bracket else el for bracket, el in self.path]
            for key in keys[:-1]:
                cur = _at(cur, key) if not isinstance(cur, dict) else cur.get(key)
                if cur is None:
                    return
            last = keys[-1]
            if isinstance(cur, dict):
                cur[last] = value
            elif isinstance(cur, list) and isinstance(last, int) and 0 <= last < len(cur):
                cur[last] = value
    a.SetDirective = SetDirective

    # -- conditions and operators ------------------------------------------------------
    def condition_parse(self):
        expression = self.next_element(a.ParenthesizedExpression)
        self.optional_match(WS_EOL)
        self.calculate = lambda namespace, loader: javaish.truthy(expression.calculate(namespace, loader))
    a.Condition.parse = condition_parse

    ops = a.BinaryOperator.OPERATORS
    for name in ("==", "eq"):
        ops[name] = javaish.equals
    for name in ("!=", "ne"):
        ops[name] = lambda x, y: not javaish.equals(x, y)
    for sym, words in (("<", "lt"), (">", "gt"), ("<=", "le"), (">=", "ge")):
        ops[sym] = ops[words] = (lambda op: lambda x, y: javaish.compare(op, x, y))(sym)
    for sym in ("+", "-", "*", "/", "%"):
        ops[sym] = (lambda op: lambda x, y: javaish.arithmetic(op, x, y))(sym)
    for sym in ("||", "or"):
        ops[sym] = lambda x, y: javaish.truthy(x) or javaish.truthy(y)
    for sym in ("&&", "and"):
        ops[sym] = lambda x, y: javaish.truthy(x) and javaish.truthy(y)
    a.BinaryOperator.PRECEDENCE["!="] = a.BinaryOperator.PRECEDENCE["ne"] = 8
    a.BinaryOperator.BINARY_OP = re.compile(
        r"\s*(>=|<=|<|==|!=|>|%|\|\||&&|\bor\b|\band\b|\+|\-|\*|\/|\bgt\b|\blt\b|\bne\b|\beq\b|\bge\b|\ble\b)\s*",
        re.S)
    a.UnaryOperatorValue.OPERATORS = {"!": lambda v: not javaish.truthy(v),
                                      "not": lambda v: not javaish.truthy(v)}

    # -- #foreach over maps' values, $foreach, #break --------------------------------
    def foreach(self, stream, namespace, loader):
        iterable = self.value.calculate(namespace, loader)
        if iterable is None or isinstance(iterable, (str, int, float, bool)):
            return
        if isinstance(iterable, dict):
            iterable = list(iterable.values())
        elif not isinstance(iterable, (list, tuple, range)):
            try:
                iterable = list(iterable)
            except TypeError:
                return
        length = len(iterable)
        for counter, item in enumerate(iterable, 1):
            local = LocalNamespace(namespace)
            local["velocityCount"] = counter
            local["velocityHasNext"] = counter < length
            local["foreach"] = {"count": counter, "index": counter - 1, "hasNext": counter < length,
                                "first": counter == 1, "last": counter == length}
            local[self.loop_var_name] = item
            try:
                self.block.evaluate(stream, local, loader)
            except a.TemplateExecutionError as err:
                if isinstance(err.__cause__, _Break):
                    break
                raise
            except _Break:
                break
    a.ForeachDirective.evaluate_raw = foreach

    class BreakDirective(a._Element):
        START = re.compile(r"#(?:break|\{break\})\b", re.S | re.I)

        def parse(self):
            self.identity_match(self.START)

        def evaluate_raw(self, stream, namespace, loader):
            raise _Break()

    def evaluate(self, stream, namespace, loader):
        try:
            return self.evaluate_raw(stream, namespace, loader)
        except (a.TemplateExecutionError, _Break):
            raise
        except Exception as e:
            raise a.TemplateExecutionError(self) from e
    a._Element.evaluate = evaluate

    def block_parse(self):
        self.children = []
        kinds = (a.Text, a.FormalReference, a.Comment, a.IfDirective, a.SetDirective,
                 a.ForeachDirective, BreakDirective, a.IncludeDirective, a.ParseDirective,
                 a.MacroDefinition, a.DefineDefinition, a.StopDirective, a.UserDefinedDirective,
                 a.EvaluateDirective, a.MacroCall, a.FallthroughHashText)
        while True:
            try:
                self.children.append(self.next_element(kinds))
            except NoMatch:
                break
    a.Block.parse = block_parse
