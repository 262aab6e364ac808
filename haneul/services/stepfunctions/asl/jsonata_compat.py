"""Narrow corrections to jsonata-python 0.7.1, so that expressions behave as in jsonata-js
2.0 (the implementation AWS Step Functions runs).  Each patch names the JSONata test-suite
case it makes pass; `apply()` runs once, before the first expression is compiled.

Two kinds of fixes:
- replaced or wrapped native functions ($number, $power, $string, $sort, $replace, $split,
  $contains, $error, $toMillis, $formatNumber, $encodeUrl..., $length, number words) where the
  library's Python leaks through (ValueError, ZeroDivisionError, complex numbers, a different
  sort algorithm) or where it lacks a jsonata-js feature (custom matcher functions);
- `error_code(exc)`: the jsonata-js error code for an exception the library raises with
  a message instead of a code (RuntimeError texts from its date/time and signature code,
  KeyError from its parser), used where we turn library errors into Step Functions errors.
"""

from __future__ import annotations

import inspect
import math
import re
import threading
import urllib.parse

_applied = False
_lock = threading.Lock()

# jsonata-js messages (its errorCodes table) the library raises as RuntimeError texts
_MESSAGE_CODES = [
    ("Formatting or parsing an integer as a sequence starting with", "D3130"),
    ("In a decimal digit pattern, all digits must be from the same decimal group", "D3131"),
    ("Unknown component specifier", "D3132"),
    ("The 'name' modifier can only be applied to months and days", "D3133"),
    ("The timezone integer format specifier cannot have more than four digits", "D3134"),
    ("No matching closing bracket ']' in date/time picture string", "D3135"),
    ("The date/time picture string is missing specifiers required to parse the timestamp", "D3136"),
    ("Type parameters can only be applied to functions and arrays", "S0401"),
    ("Choice groups containing parameterized types are not supported", "S0402"),
]
# formatNumber errors the library raises with the message as the code
_FORMAT_NUMBER_MESSAGES = {"both integer and fractional parts are empty": "D3085",
                           "invalid grouping in picture argument": "D3086"}


def error_code(exc: BaseException) -> str | None:
    """jsonata-js's error code for an exception raised while compiling or evaluating."""
    from jsonata import jexception, jsonata
    if isinstance(exc, jexception.JException):
        code = exc.error
        if code in _FORMAT_NUMBER_MESSAGES:
            return _FORMAT_NUMBER_MESSAGES[code]
        # the tokenizer reports an unknown escape as S0301 (jsonata-js: S0103; S0301 is an empty regex)
        if code == "S0301" and exc.current is not None:
            return "S0103"
        # a built-in function called without its "$" (the library tests `proc is not None`,
        # jsonata-js `proc === undefined`)
        if code == "T1008" and isinstance(exc.current, str) and \
                jsonata.Jsonata.static_frame.lookup(exc.current) is not None:
            return "T1007"
        return code
    if isinstance(exc, RecursionError):
        return "U1001"          # jsonata-js: "Stack overflow error"
    if isinstance(exc, RuntimeError):
        text = str(exc)
        for prefix, code in _MESSAGE_CODES:
            if text.startswith(prefix):
                return code
    return None


def _raise(code: str, message: str = ""):
    """Raise as the library does (a JException, so its evaluator treats it as a JSONata error)."""
    from jsonata import jexception
    err = jexception.JException(code, -1)
    err.detail = message or code
    raise err


# -- numbers ------------------------------------------------------------------------------------
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$")
_RADIX = re.compile(r"^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$")


def _number(arg):
    """jsonata-js `$number`: JSON number syntax or 0x/0o/0b; anything else is D3030."""
    from jsonata import utils
    if arg is None:
        return None
    if arg is utils.Utils.NULL_VALUE:
        _raise("T0410", "Argument 1 of function number does not match function signature")
    if isinstance(arg, bool):
        return 1 if arg else 0
    if isinstance(arg, (int, float)):
        return arg
    if isinstance(arg, str):
        if _DECIMAL.match(arg):
            value = float(arg)
            if math.isfinite(value):
                return value
        elif _RADIX.match(arg):
            return int(arg[2:], {"x": 16, "o": 8, "b": 2}[arg[1].lower()])
    _raise("D3030", f"Unable to cast value to a number: {arg!r}")


def _power(arg, exp):
    if arg is None:
        return None
    try:
        result = float(arg) ** float(exp)
    except (OverflowError, ZeroDivisionError):
        result = math.inf
    if isinstance(result, complex) or not math.isfinite(result):
        _raise("D3061", f"The power function has resulted in a value that cannot be represented as a "
                        f"JSON number: base={arg}, exponent={exp}")
    return result


def js_number_text(value: float) -> str:
    """A number as JavaScript's String(Number(value.toPrecision(15))) writes it."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value) if abs(value) >= 1e21 else value
        if isinstance(value, int):
            return str(value)
    value = float(f"{value:.15g}")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exp = text.split("e")
    exp_n = int(exp)
    if -7 < exp_n < 21:
        from decimal import Decimal
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if exp_n > 0 else '-'}{abs(exp_n)}"


def _stringify(value, top: bool = True) -> str:
    """jsonata-js `$string` of a non-string: JSON with numbers to 15 significant digits;
    Infinity/NaN is D3001 at the top and D1001 inside a structure."""
    from jsonata import jsonata as jmod
    from jsonata import parser, utils

    def walk(v, depth):
        if v is utils.Utils.NULL_VALUE or v is None:
            return None
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            if isinstance(v, float) and not math.isfinite(v):
                if depth == 0:
                    _raise("D3001", "Attempting to invoke string function on Infinity or NaN")
                _raise("D1001", f"Number out of range: {v}")
            return _Raw(js_number_text(v))
        if isinstance(v, (jmod.Jsonata.JFunction, parser.Parser.Symbol)):
            return ""
        if isinstance(v, dict):
            return {k: walk(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x, depth + 1) for x in v]
        return v
    return walk(value, 0 if top else 1)


class _Raw(str):
    """A number already written as text (kept apart from real strings when encoding)."""


def _dumps(value, pretty: bool) -> str:
    import json

    def enc(v, indent_level):
        if isinstance(v, _Raw):
            return str(v)
        if isinstance(v, dict):
            if not v:
                return "{}"
            if pretty:
                pad = "  " * (indent_level + 1)
                items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {enc(x, indent_level + 1)}" for k, x in v.items()]
                return "{\n" + ",\n".join(items) + "\n" + "  " * indent_level + "}"
            return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{enc(x, 0)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            if not v:
                return "[]"
            if pretty:
                pad = "  " * (indent_level + 1)
                return "[\n" + ",\n".join(pad + enc(x, indent_level + 1) for x in v) + "\n" + "  " * indent_level + "]"
            return "[" + ",".join(enc(x, 0) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)
    return enc(value, 0)


def _string(arg, prettify):
    from jsonata import utils
    if isinstance(arg, utils.Utils.JList) and arg.outer_wrapper:
        arg = arg[0]
    if arg is None:
        return None
    if isinstance(arg, str):
        return str(arg)
    from jsonata import jsonata as jmod
    from jsonata import parser
    if isinstance(arg, (jmod.Jsonata.JFunction, parser.Parser.Symbol)):
        return ""
    converted = _stringify(arg)
    return _dumps(converted, bool(prettify))


def _length(string):
    from jsonata import utils
    if string is None:
        return None
    if string is utils.Utils.NULL_VALUE:
        _raise("T0410", "Argument 1 of function length does not match function signature")
    # "\uD834\uDD1E" written as two escapes is one character (a surrogate pair)
    return len(_join_surrogates(string))


def _join_surrogates(text: str) -> str:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        try:
            return text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            return text
    return text


# -- URLs -----------------------------------------------------------------------------------------
def _url(fn_name: str, quote_safe: str | None):
    def encode(string):
        from jsonata import utils
        if string is None:
            return None
        if string is utils.Utils.NULL_VALUE:
            _raise("T0410")
        text = _join_surrogates(string)
        if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            _raise("D3140", f"Malformed URL passed to ${fn_name}(): {string!r}")
        return urllib.parse.quote(text, safe=quote_safe)

    def decode(string):
        from jsonata import utils
        if string is None:
            return None
        if string is utils.Utils.NULL_VALUE:
            _raise("T0410")
        try:
            return urllib.parse.unquote(string, errors="strict")
        except UnicodeDecodeError:
            _raise("D3140", f'Malformed URL passed to ${fn_name}(): "{string}"')
    return encode if quote_safe is not None else decode


# -- strings and regexes ----------------------------------------------------------------------------
def _replace(original):
    def replace(string, pattern, replacement, limit):
        from jsonata import utils
        if string is utils.Utils.NULL_VALUE:
            _raise("T0410")
        if limit is utils.Utils.NULL_VALUE:
            _raise("T0410", "Argument 4 of function replace does not match function signature")
        if isinstance(pattern, str) and not pattern:
            _raise("D3010", "Second argument of replace function cannot be an empty string")
        if limit is not None and limit < 0:
            _raise("D3011", "Fourth argument of replace function must evaluate to a positive number")
        if string is not None and not isinstance(pattern, str) and hasattr(pattern, "finditer"):
            if any(m.group(0) == "" for m in pattern.finditer(string)):
                _raise("D1004", "Regular expression matches zero length string")
        return original(string, pattern, replacement, limit)
    return replace


def _to_jsonata_match(mr):
    """What a replacement function receives: match, index and the capture groups (not group 0)."""
    return {"match": mr.group(), "index": mr.start(), "groups": [g if g is not None else "" for g in mr.groups()]}


def _is_matcher_function(pattern) -> bool:
    return pattern is not None and not isinstance(pattern, str) and not hasattr(pattern, "finditer")


def _evaluate_matcher(original):
    """jsonata-js custom matchers: a function(str) returning {match, start, end, groups, next}
    (next() gives the following match) may stand where a regex does."""
    def evaluate_matcher(matcher, string):
        if not _is_matcher_function(matcher):
            yield from original(matcher, string)
            return
        from jsonata import functions
        result = functions.Functions.func_apply(matcher, [string])
        while result is not None:
            if not isinstance(result, dict) or not isinstance(result.get("match"), str) \
                    or not isinstance(result.get("start"), (int, float)):
                _raise("T1010", "The matcher function argument passed to a string function does not return "
                                "the correct object structure")
            groups = list(result.get("groups") or [])
            rm = functions.Functions.RegexpMatch(result["match"], int(result["start"]), groups)
            rm.groups = groups
            yield rm
            nxt = result.get("next")
            result = functions.Functions.func_apply(nxt, []) if nxt is not None else None
    return evaluate_matcher


def _split(original):
    def split(string, pattern, limit):
        from jsonata import functions, utils
        if limit is utils.Utils.NULL_VALUE:
            _raise("T0410", "Argument 3 of function split does not match function signature")
        if string is not None and _is_matcher_function(pattern):
            parts, position = [], 0
            for rm in functions.Functions.evaluate_matcher(pattern, string):
                parts.append(string[position:rm.index])
                position = rm.index + len(rm.match)
            parts.append(string[position:])
            return parts[:int(limit)] if limit is not None else parts
        return original(string, pattern, limit)
    return split


def _contains(original):
    def contains(string, token):
        from jsonata import functions
        if isinstance(string, str) and _is_matcher_function(token):
            return next(functions.Functions.evaluate_matcher(token, string), None) is not None
        return original(string, token)
    return contains


def _error(message):
    from jsonata import utils
    if message is utils.Utils.NULL_VALUE:
        _raise("T0410", "Argument 1 of function error does not match function signature")
    _raise("D3137", message if message is not None else "$error() function evaluated")


def _sort(arr, comparator):
    """jsonata-js's stable merge sort: comparator(a, b) true means a goes after b; without a
    comparator all items must be numbers or all strings (D3070)."""
    from jsonata import functions
    if arr is None:
        return None
    if len(arr) <= 1:
        return arr
    items = list(arr)
    if comparator is None:
        if not (all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items)
                or all(isinstance(x, str) for x in items)):
            _raise("D3070", "The single argument form of the sort function can only be applied to an array "
                            "of strings or an array of numbers.  Use the second argument to specify a "
                            "comparison function")

        def after(a, b):
            return a > b
    elif callable(comparator) and not hasattr(comparator, "call"):
        def after(a, b):         # the library's own order-by comparator: an int like compareTo
            res = comparator(a, b)
            return res if isinstance(res, bool) else res > 0
    else:
        def after(a, b):
            return bool(functions.Functions.func_apply(comparator, [a, b]))

    def msort(seq):
        if len(seq) <= 1:
            return seq
        mid = len(seq) // 2
        left, right = msort(seq[:mid]), msort(seq[mid:])
        out, i, j = [], 0, 0
        while i < len(left) and j < len(right):
            if after(left[i], right[j]):
                out.append(right[j])
                j += 1
            else:
                out.append(left[i])
                i += 1
        out.extend(left[i:])
        out.extend(right[j:])
        return out
    return msort(items)


# -- dates --------------------------------------------------------------------------------------------
_ISO8601 = re.compile(r"^\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$")


def _to_millis(original):
    def to_millis(timestamp, picture):
        if timestamp is None:
            return None
        if picture is None and not _ISO8601.match(timestamp):
            _raise("D3110", f"The timestamp '{timestamp}' cannot be parsed: not ISO 8601")
        try:
            return original(timestamp, picture)
        except KeyError as err:        # an unknown component letter in the picture
            _raise("D3132", f"Unknown component specifier {err.args[0]} in date/time picture string")
        except ValueError as err:
            if picture is None:
                _raise("D3110", str(err))
            raise
    return to_millis


def _words_lookup(original):
    def lookup(num, prev, ordinal):
        # jsonata-js computes in doubles: 1e46 splits into exact powers of ten with no remainder
        if num >= 2 ** 53:
            from jsonata.datetimeutils import DateTimeUtils as D
            num = float(num)
            mag = min(int(math.floor(math.log10(num) / 3)), len(D._magnitudes))
            factor = 10.0 ** (mag * 3)
            mant = math.floor(num / factor)
            remainder = num - mant * factor
            mant = int(mant) if mant < 2 ** 53 else mant
            words = (", " if prev else "") + D._lookup(mant, False, False) + " " + D._magnitudes[mag - 1]
            if remainder > 0:
                words += D._lookup(int(remainder), True, ordinal)
            elif ordinal:
                words += "th"
            return words
        return original(num, prev, ordinal)
    return lookup


# -- formatNumber picture validation (F&O 4.7.3, in jsonata-js's order: the last failed rule wins) ----
def _check_number_picture(picture: str, options) -> None:
    props = {"decimal-separator": ".", "grouping-separator": ",", "exponent-separator": "e", "percent": "%",
             "per-mille": "\u2030", "zero-digit": "0", "digit": "#", "pattern-separator": ";"}
    if isinstance(options, dict):
        props.update({k: v for k, v in options.items() if isinstance(v, str)})
    zero = ord(props["zero-digit"])
    digits = [chr(zero + i) for i in range(10)]
    active = digits + [props["decimal-separator"], props["exponent-separator"], props["grouping-separator"],
                       props["digit"], props["pattern-separator"]]
    subs = picture.split(props["pattern-separator"])
    if len(subs) > 2:
        _raise("D3080", "The picture string must not contain more than one instance of the pattern-separator")
    for sub in subs:
        prefix = next((sub[:i] for i, ch in enumerate(sub) if ch in active and ch != props["exponent-separator"]),
                      sub)
        suffix = next((sub[i + 1:] for i in range(len(sub) - 1, -1, -1)
                       if sub[i] in active and sub[i] != props["exponent-separator"]), "")
        active_part = sub[len(prefix):len(sub) - len(suffix)]
        exp_pos = sub.find(props["exponent-separator"], len(prefix))
        if exp_pos == -1 or exp_pos > len(sub) - len(suffix):
            mantissa, exponent = active_part, None
        else:
            mantissa, exponent = active_part[:exp_pos], active_part[exp_pos + 1:]
        dec = mantissa.find(props["decimal-separator"])
        integer, fractional = (mantissa, suffix) if dec == -1 else (mantissa[:dec], mantissa[dec + 1:])
        error = None
        dpos = sub.find(props["decimal-separator"])
        if dpos != sub.rfind(props["decimal-separator"]):
            error = "D3081"
        if sub.find(props["percent"]) != sub.rfind(props["percent"]):
            error = "D3082"
        if sub.find(props["per-mille"]) != sub.rfind(props["per-mille"]):
            error = "D3083"
        if props["percent"] in sub and props["per-mille"] in sub:
            error = "D3084"
        if not any(ch in digits or ch == props["digit"] for ch in mantissa):
            error = "D3085"
        if any(ch not in active for ch in active_part):
            error = "D3086"
        group = props["grouping-separator"]
        if dpos != -1:
            if (dpos > 0 and sub[dpos - 1] == group) or (dpos + 1 < len(sub) and sub[dpos + 1] == group):
                error = "D3087"
        elif integer.endswith(group):
            error = "D3088"
        if group + group in sub:
            error = "D3089"
        opt = integer.find(props["digit"])
        if opt != -1 and any(ch in digits for ch in integer[:opt]):
            error = "D3090"
        opt = fractional.rfind(props["digit"])
        if opt != -1 and any(ch in digits for ch in fractional[opt:]):
            error = "D3091"
        if exponent is not None and exponent and (props["percent"] in sub or props["per-mille"] in sub):
            error = "D3092"
        if exponent is not None and (not exponent or any(ch not in digits for ch in exponent)):
            error = "D3093"
        if error:
            _raise(error, f"Invalid picture string for $formatNumber: {picture!r}")


_BARE_EXPONENT = re.compile(r"^([^0-9#.e]*)(#[#,]*)\.?e([0-9]+)([^0-9#.e]*)$")


def _format_number(original):
    def format_number(value, picture, decimal_format):
        if value is None:
            return None
        _check_number_picture(picture, decimal_format)
        if not decimal_format:
            # jsonata-js: with an exponent and neither mandatory integer digits nor fraction
            # digits, the mantissa keeps one fraction digit ('#.e9' formats 0.123 as '0.1e0');
            # the library handles that picture once the digit is written out ('#.0e9')
            bare = _BARE_EXPONENT.match(picture)
            if bare:
                picture = f"{bare.group(1)}{bare.group(2)}.0e{bare.group(3)}{bare.group(4)}"
        return original(value, picture, decimal_format)
    return format_number


# -- the evaluator --------------------------------------------------------------------------------------
def _numeric(original):
    def evaluate_numeric_expression(self, lhs, rhs, op):
        # jsonata-js: x/0 is ±Infinity (then an error where it is used), not a Python exception
        if op == "/" and isinstance(rhs, (int, float)) and not isinstance(rhs, bool) and rhs == 0 \
                and isinstance(lhs, (int, float)) and not isinstance(lhs, bool):
            return math.nan if lhs == 0 else math.copysign(math.inf, lhs)
        return original(self, lhs, rhs, op)
    return evaluate_numeric_expression


def _tokenizer_next(original):
    def next_(self, prefix):
        try:
            return original(self, prefix)
        except IndexError:
            start = self.path.rfind("/*")
            if start != -1 and "*/" not in self.path[start + 2:]:
                from jsonata import jexception
                raise jexception.JException("S0106", start) from None
            raise
    return next_


def _parser_advance(original):
    def advance(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except KeyError as err:      # an operator the symbol table lacks, e.g. "!"
            from jsonata import jexception
            raise jexception.JException("S0204", 0, err.args[0] if err.args else None) from None
    return advance


def _replace_native(name: str, impl, method_name: str | None = None) -> None:
    from jsonata import functions, jsonata
    setattr(functions.Functions, method_name or name, staticmethod(impl))
    fn = jsonata.Jsonata.static_frame.lookup(name)
    fn.method = impl
    fn.nargs = len(inspect.signature(impl).parameters)


def apply() -> None:
    global _applied
    if _applied:
        return
    with _lock:
        if _applied:
            return
        from jsonata import datetimeutils, functions, jsonata, parser, tokenizer
        F = functions.Functions
        _replace_native("number", _number)
        _replace_native("power", _power)
        _replace_native("string", _string)
        _replace_native("length", _length)
        _replace_native("sort", _sort)
        _replace_native("error", _error)
        _replace_native("replace", _replace(F.replace))
        F.evaluate_matcher = staticmethod(_evaluate_matcher(F.evaluate_matcher))
        _replace_native("split", _split(F.split))
        _replace_native("contains", _contains(F.contains))
        _replace_native("toMillis", _to_millis(F.datetime_to_millis), "datetime_to_millis")
        _replace_native("formatNumber", _format_number(F.format_number), "format_number")
        _replace_native("encodeUrl", _url("encodeUrl", "~@#$&()*!+=:;,.?/'"), "encode_url")
        _replace_native("encodeUrlComponent", _url("encodeUrlComponent", "~()*!.'"), "encode_url_component")
        _replace_native("decodeUrl", _url("decodeUrl", None), "decode_url")
        _replace_native("decodeUrlComponent", _url("decodeUrlComponent", None), "decode_url_component")
        F.to_jsonata_match = staticmethod(_to_jsonata_match)
        datetimeutils.DateTimeUtils._lookup = staticmethod(_words_lookup(datetimeutils.DateTimeUtils._lookup))
        jsonata.Jsonata.evaluate_numeric_expression = _numeric(jsonata.Jsonata.evaluate_numeric_expression)
        tokenizer.Tokenizer.next = _tokenizer_next(tokenizer.Tokenizer.next)
        parser.Parser.advance = _parser_advance(parser.Parser.advance)
        # the evaluator print()s "Proc not found ..." to stdout before raising T1006: into the log
        import logging
        log = logging.getLogger("haneul.jsonata")
        jsonata.print = lambda *args, **_: log.debug(" ".join(map(str, args)))
        _applied = True
