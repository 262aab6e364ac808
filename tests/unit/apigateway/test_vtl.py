"""The VTL engine's departures from plain airspeed (see haneul/services/apigateway/vtl/engine.py)."""

import pytest

pytest.importorskip("airspeed")

from haneul.services.apigateway.vtl import UTIL, InputVar, VtlError, render  # noqa: E402
from haneul.services.apigateway.vtl.javaish import double_string  # noqa: E402


def r(template, body="{}", params=None, **extra):
    ns = {"input": InputVar(body, params), "util": UTIL, "context": {}}
    ns.update(extra)
    return render(template, ns)


@pytest.mark.parametrize("template,expected", [
    ("#set($a = 1) #set($b = 2)\n$a$b", "12"),                 # indentation before #set eaten
    ("#set($a = 1) #if(true)x#end", " x"),                     # ... but not before #if
    ("Stuff#* c *#\n more", "Stuff\n more"),                   # a block comment keeps its line end
    ("Hello $name", "Hello "),                                 # unknown references render as nothing
    ("#if($undefined)yes#end", "yes"),                         # ... and count as "" (true) in #if
    ("#set($m = {'a': 1})$m $m.toString()", "{a=1} {a=1}"),   # Java's toString
    ("#set($l = [1, true, 'x'])$l", "[1, true, x]"),
    ("#set($x = 7 / 2)$x", "3"),                               # integer division truncates
    ("#set($m = {})#set($k = 'b')#set($m[$k] = 'v')$m.b", "v"),
    ("#set($s = '\\d+')$s", "\\d+"),                            # single quotes are literal
    ('#set($s = "say ""hi""")$s', 'say "hi"'),
    ("#set($s = '2020-01-01')$s.matches('\\d{4}-\\d{2}-\\d{2}')", "true"),
    ("#set($m = {'k': 'old'})$m.put('k', 'new') $m.k", "old new"),
    ("#foreach($i in [1,2,3])#if($i == 2)#break#end$i#end", "1"),
    ("#foreach($v in {'a': 1, 'b': 2})$v#end", "12"),          # a map iterates its values
    ("#if(1 == '1')eq#end", "eq"),                             # == across types by toString
    ("#define($h)hi#end$h()", "hi()"),
    ("$input.json('$.a') $input.path('$.a.b') $input.path('$.l').size()", '{"b":2} 2 2'),
    ("$input.body", '{"a":{"b":2},"l":[1,2]}'),
    ("$util.escapeJavaScript(\"it's \\\"q\\\"\")", "it\\'s \\\"q\\\""),
    ("$util.urlEncode('a b&~') $util.urlDecode('a+b%26')", "a+b%26%7E a b&"),
    ("$util.base64Encode('hi') $util.base64Decode('aGk=')", "aGk= hi"),
    ("#set($d = $util.parseJson('{\"x\": [1, 2]}'))$d.x[1]", "2"),
])
def test_render(template, expected):
    assert r(template, '{"a":{"b":2},"l":[1,2]}') == expected


def test_params_lookup_order_and_maps():
    params = {"path": {"id": "p"}, "querystring": {"id": "q", "q": "1"}, "header": {"X-H": "h"}}
    assert r("$input.params('id') $input.params('q') $input.params('x-h')", params=params) == "p 1 h"
    assert r("#foreach($k in $input.params().querystring.keySet())$k;#end", params=params) == "id;q;"


def test_context_assignments_are_visible_to_the_caller():
    ctx = {"responseOverride": {"status": None, "header": {}}}
    render("#set($context.responseOverride.status = 418)#set($context.responseOverride.header.X = 'y')",
           {"context": ctx})
    assert ctx["responseOverride"] == {"status": 418, "header": {"X": "y"}}


def test_syntax_errors():
    with pytest.raises(VtlError):
        render("#if($a", {})


def test_java_double_strings():
    assert [double_string(x) for x in (1.0, 1e20, 1e-4, 2.5, 1e7)] == ["1.0", "1.0E20", "1.0E-4", "2.5", "1.0E7"]


def test_non_json_body():
    assert r("$input.body|$input.json('$')", "plain text") == "plain text|plain text"
