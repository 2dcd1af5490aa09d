"""A small condition language over an application form's answers: when a conditional material is needed.

    applicant_type = "enterprise" and (floor_area >= 500 or scope contains "food")
    not has_branch = "yes"
    purpose in ["new", "change"]
    old_licence_no is answered

Grammar (keywords and, or, not, in, contains, is answered; comparison = != < <= > >=; string literals in
double quotes with \\" and \\\\ escapes; whole numbers; true/false):

    expr   := and ("or" and)*
    and    := unary ("and" unary)*
    unary  := "not" unary | "(" expr ")" | test
    test   := NAME op literal | NAME "in" "[" literal ("," literal)* "]" | NAME "contains" literal
            | NAME "is" "answered"

It is parsed by hand (no eval, no regular expression over the whole text) into a small JSON tree, checked
against the form (every name an attribute; values of the attribute's type; list values among its keys) and
evaluated by walking the tree. Source length, token count and nesting depth are bounded, so hostile input
fails fast with a readable message. An unanswered attribute makes every test on it false except `is answered`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.errors import ValidationFailed
from app.core.problems import N_

MAX_SOURCE = 500
MAX_TOKENS = 120
MAX_DEPTH = 8
MAX_LIST = 50
KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "is", "answered", "true", "false"})
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


class ConditionError(ValidationFailed):
    """A condition that does not parse or does not fit the form: 422 with errors.condition."""


def _fail(message: str, **params: Any) -> ConditionError:
    exc = ConditionError(message, params=params)
    exc.extra["errors"] = {"condition": [exc.detail]}
    return exc


Token = tuple[str, Any, int]  # kind (name, str, num, op, kw), value, position


def tokenize(source: str) -> list[Token]:
    if not isinstance(source, str) or not source.strip():
        raise _fail(N_("A condition is a non-empty text."))
    if len(source) > MAX_SOURCE:
        raise _fail(N_("A condition has at most %(limit)s characters."), limit=MAX_SOURCE)
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c in " \t\r\n":
            i += 1
            continue
        start = i
        if c == '"':
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise _fail(N_("Unterminated text at position %(pos)s."), pos=start + 1)
                ch = source[i]
                if ch == "\\" and i + 1 < n and source[i + 1] in '"\\':
                    chars.append(source[i + 1])
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                elif not ch.isprintable():
                    raise _fail(N_("Control characters are not allowed (position %(pos)s)."), pos=i + 1)
                else:
                    chars.append(ch)
                    i += 1
            tokens.append(("str", "".join(chars), start))
        elif c.isascii() and (c.isdigit() or (c == "-" and i + 1 < n and source[i + 1].isdigit())):
            i += 1
            while i < n and source[i].isascii() and source[i].isdigit():
                i += 1
            text = source[start:i]
            if len(text) > 16 or (i < n and source[i] == "."):
                raise _fail(N_("Only whole numbers of at most 15 digits (position %(pos)s)."), pos=start + 1)
            tokens.append(("num", int(text), start))
        elif c.isascii() and (c.isalpha() or c == "_"):
            while i < n and source[i].isascii() and (source[i].isalnum() or source[i] == "_"):
                i += 1
            word = source[start:i]
            tokens.append(("kw" if word in KEYWORDS else "name", word, start))
        elif source.startswith(("!=", "<=", ">="), i):
            tokens.append(("op", source[i : i + 2], start))
            i += 2
        elif c in "=<>()[],":
            tokens.append(("op", c, start))
            i += 1
        else:
            raise _fail(N_("Unexpected character %(char)s at position %(pos)s."), char=repr(c), pos=start + 1)
        if len(tokens) > MAX_TOKENS:
            raise _fail(N_("A condition has at most %(limit)s words and signs."), limit=MAX_TOKENS)
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: Any = None) -> Token:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise self.unexpected(tok)
        self.i += 1
        return tok

    def accept(self, kind: str, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == kind and tok[1] == value:
            self.i += 1
            return True
        return False

    @staticmethod
    def unexpected(tok: Token | None) -> ConditionError:
        if tok is None:
            return _fail(N_("The condition ends too early."))
        return _fail(N_("Unexpected %(token)s at position %(pos)s."), token=str(tok[1]), pos=tok[2] + 1)

    def expr(self, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise _fail(N_("A condition nests at most %(limit)s levels."), limit=MAX_DEPTH)
        parts = [self.conj(depth)]
        while self.accept("kw", "or"):
            parts.append(self.conj(depth))
        return parts[0] if len(parts) == 1 else {"any": parts}

    def conj(self, depth: int) -> dict[str, Any]:
        parts = [self.unary(depth)]
        while self.accept("kw", "and"):
            parts.append(self.unary(depth))
        return parts[0] if len(parts) == 1 else {"all": parts}

    def unary(self, depth: int) -> dict[str, Any]:
        if self.accept("kw", "not"):
            if depth + 1 > MAX_DEPTH:
                raise _fail(N_("A condition nests at most %(limit)s levels."), limit=MAX_DEPTH)
            return {"not": self.unary(depth + 1)}
        if self.accept("op", "("):
            inner = self.expr(depth + 1)
            self.take("op", ")")
            return inner
        return self.test()

    def literal(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.unexpected(tok)
        if tok[0] in ("str", "num"):
            self.i += 1
            return tok[1]
        if tok[0] == "kw" and tok[1] in ("true", "false"):
            self.i += 1
            return tok[1] == "true"
        raise self.unexpected(tok)

    def test(self) -> dict[str, Any]:
        name = self.take("name")[1]
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in COMPARISONS:
            self.i += 1
            return {"field": name, "op": tok[1], "value": self.literal()}
        if self.accept("kw", "in"):
            self.take("op", "[")
            values = [self.literal()]
            while self.accept("op", ","):
                values.append(self.literal())
                if len(values) > MAX_LIST:
                    raise _fail(N_("A list in a condition has at most %(limit)s values."), limit=MAX_LIST)
            self.take("op", "]")
            return {"field": name, "op": "in", "value": values}
        if self.accept("kw", "contains"):
            return {"field": name, "op": "contains", "value": self.literal()}
        if self.accept("kw", "is"):
            self.take("kw", "answered")
            return {"field": name, "op": "answered"}
        raise self.unexpected(tok)


def parse(source: str) -> dict[str, Any]:
    """The condition's tree, or ConditionError (422) saying where it is wrong."""
    parser = _Parser(tokenize(source))
    tree = parser.expr(0)
    if parser.peek() is not None:
        raise parser.unexpected(parser.peek())
    return tree


def _walk_tests(tree: dict[str, Any]) -> list[dict[str, Any]]:
    stack, out = [tree], []
    while stack:
        node = stack.pop()
        if "any" in node or "all" in node:
            stack.extend(node.get("any") or node.get("all") or [])
        elif "not" in node:
            stack.append(node["not"])
        else:
            out.append(node)
    return out


def _keys(prop: dict[str, Any]) -> set[str]:
    options = prop.get("oneOf") or (prop.get("items") or {}).get("oneOf") or []
    return {o["const"] for o in options}


def check(tree: dict[str, Any], schema: dict[str, Any]) -> None:
    """Every test names an attribute of the form and compares it with values it can take."""
    props = schema.get("properties") or {}
    for test in _walk_tests(tree):
        name, op, value = test["field"], test["op"], test.get("value")
        prop = props.get(name)
        if prop is None:
            raise _fail(N_("The condition names %(name)s, which is not an attribute of the form."), name=name)
        datatype = prop["x-datatype"]
        values = value if isinstance(value, list) else [value]
        if op == "answered":
            continue
        if op == "contains" and datatype != "multivaluelist":
            raise _fail(N_("%(name)s: 'contains' applies to a multiple-choice attribute."), name=name)
        if op in ("<", "<=", ">", ">=") and datatype not in ("number", "datetime"):
            raise _fail(N_("%(name)s: an order comparison applies to a number or a date."), name=name)
        if datatype == "number" and any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise _fail(N_("%(name)s: compare a number with a whole number."), name=name)
        if datatype in ("singlevaluelist", "multivaluelist"):
            unknown = [v for v in values if v not in _keys(prop)]
            if unknown:
                raise _fail(N_("%(name)s has no value %(value)s."), name=name, value=str(unknown[0]))
        if datatype in ("string", "text", "datetime") and any(not isinstance(v, str) for v in values):
            raise _fail(N_("%(name)s: compare a text with a quoted text."), name=name)


def compile_condition(source: str, schema: dict[str, Any]) -> dict[str, Any]:
    tree = parse(source)
    check(tree, schema)
    return tree


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - str() of an int or float always parses
        return None
    return number if number.is_finite() else None


def _compare(op: str, answer: Any, value: Any) -> bool:
    numeric = isinstance(answer, int | float) and not isinstance(answer, bool)
    if op in ("=", "!="):
        if numeric:
            equal = _number(answer) is not None and _number(answer) == _number(value)
        else:
            equal = answer == value and type(answer) is type(value)
        return equal == (op == "=")
    if numeric:
        left, right = _number(answer), _number(value)
        if left is None or right is None:
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    if isinstance(answer, str) and isinstance(value, str):  # dates: ISO texts compare in date order
        return {"<": answer < value, "<=": answer <= value, ">": answer > value, ">=": answer >= value}[op]
    return False


def evaluate(tree: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Whether the condition holds for these answers (an attribute absent or empty is unanswered)."""
    if "any" in tree:
        return any(evaluate(t, answers) for t in tree["any"])
    if "all" in tree:
        return all(evaluate(t, answers) for t in tree["all"])
    if "not" in tree:
        return not evaluate(tree["not"], answers)
    answer = answers.get(tree["field"])
    answered = answer not in (None, "", [])
    op = tree["op"]
    if op == "answered":
        return answered
    if not answered:
        return False
    value = tree["value"]
    if op == "in":
        return any(_compare("=", answer, v) for v in value)
    if op == "contains":
        return isinstance(answer, list) and value in answer
    return _compare(op, answer, value)


_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def describe(tree: dict[str, Any], schema: dict[str, Any], top: bool = True) -> str:
    """The condition in words of the current language, with the form's titles (for the public guide)."""
    from flask_babel import gettext as _

    props = schema.get("properties") or {}
    if "any" in tree or "all" in tree:
        joiner = " " + (_("or") if "any" in tree else _("and")) + " "
        text = joiner.join(describe(t, schema, top=False) for t in tree.get("any") or tree.get("all") or [])
        return text if top else f"({text})"
    if "not" in tree:
        return str(_("not %(condition)s", condition=describe(tree["not"], schema, top=False)))
    prop = props.get(tree["field"]) or {}
    field = str(prop.get("title") or tree["field"])
    titles = {o["const"]: o["title"] for o in (prop.get("oneOf") or (prop.get("items") or {}).get("oneOf") or [])}

    def shown(value: Any) -> str:
        return str(titles.get(value, value))

    op = tree["op"]
    if op == "answered":
        return str(_("“%(field)s” is filled in", field=field))
    if op == "=":
        return str(_("“%(field)s” is “%(value)s”", field=field, value=shown(tree["value"])))
    if op == "!=":
        return str(_("“%(field)s” is not “%(value)s”", field=field, value=shown(tree["value"])))
    if op == "in":
        values = "、".join(f"“{shown(v)}”" for v in tree["value"])
        return str(_("“%(field)s” is one of %(values)s", field=field, values=values))
    if op == "contains":
        return str(_("“%(field)s” includes “%(value)s”", field=field, value=shown(tree["value"])))
    return f"“{field}” {_SYMBOLS[op]} {shown(tree['value'])}"
