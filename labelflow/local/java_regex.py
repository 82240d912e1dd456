"""Java regular expressions, as AWS services apply botocore's ``pattern`` constraints, in ``re``.

The ``pattern`` of a string shape in botocore's service models is the pattern the service
checks a value against, and the services are written in Java: a value is valid when
``java.util.regex.Pattern.compile(pattern).matcher(value).matches()``, that is when the pattern
matches the *whole* value with Java's semantics. Python's :mod:`re` differs in syntax and in
meaning, in both directions:

* ``.`` is any character but the line terminators ``\\n``, ``\\r``, ``\\u0085``,
  ``\\u2028``, ``\\u2029`` (any with ``(?s)``; all but ``\\n`` with ``(?d)``); ``re``'s ``.``
  also accepts the last four. Translated to a class of exactly those characters;
* ``\\d``, ``\\w``, ``\\s`` are US-ASCII sets (``re``'s are Unicode-wide); ``\\h``, ``\\v``,
  ``\\R`` are horizontal and vertical whitespace and a line break (``re``: ``\\v`` is the
  vertical tab). Translated to explicit classes;
* ``\\p{L}``, ``\\P{L}``: Unicode general categories (one or two letters, ``Is``/``gc=``
  forms, ``LC``, ``LD``, ``L1``, ``all``), and the POSIX classes ``\\p{Alnum}``,
  ``\\p{Print}``... (US-ASCII only). Translated to explicit ranges;
* classes: ``[a[b]]`` (nested union), ``[a&&[^b]]`` (intersection), ``[\\w-_]`` (a ``-``
  after a class escape is a literal; ``re`` rejects the range), ``]`` first is a literal.
  Each class is computed as one set of code points;
* ``\\uD800\\uDC00`` (a surrogate pair is one supplementary code point), ``\\x{h..h}``,
  ``\\0ooo``, ``\\cX``, ``\\Q...\\E``: translated to the characters they name;
* ``$`` is the end of input or the position before a final line terminator (not between
  ``\\r`` and ``\\n``), ``\\Z`` the position before a final terminator, ``\\z`` the end (``re``'s
  ``\\Z``). Translated to lookaheads;
* a quantifier of an assertion (``${1,128}``) repeats it; a second ``{n,m}`` after a
  quantifier (``X{11}{0,1011}``) applies to an empty atom and changes nothing; ``re`` refuses
  both. Translated to a quantified group, and to nothing;
* ``a(?i)b|c``: a flag set inside a group holds to the end of the group, in every later
  alternative. Translated to a scoped ``(?i:...)`` per alternative;
* ``(?<name>x)`` and ``\\k<name>``: translated to ``(?P<name>x)`` and ``(?P=name)``.

Possessive quantifiers, atomic groups, lookarounds and ``\\A`` mean the same in both (Python
3.11+). Case-insensitive matching in Java is US-ASCII only unless ``(?u)`` is given, as
``re.ASCII`` makes it: every translation is compiled with ``re.ASCII``.

A construct whose Java meaning is not reproduced here (Unicode scripts, blocks and binary
properties other than ``IsLetter``, ``IsDigit``, ``IsControl``, ``IsPunctuation``,
``IsWhite_Space`` and ``IsAssigned``; ``(?m)``, ``(?x)``, ``(?u)``, ``(?U)``, ``(?c)``;
``\\G``, ``\\X``, ``\\N{...}``, ``\\b`` and ``\\B`` (Java 17's word boundary counts Unicode
letters and digits, Java 19's only ASCII word characters: which applies depends on the
service's Java)) raises :class:`UntranslatablePattern`, as does a pattern that is not valid
Java: a pattern is never matched with a meaning other than Java's.

Unicode categories come from this Python's :mod:`unicodedata` (Unicode 14.0 in Python
3.11); the service's Java may know another version. Compared with Java 17 (Unicode 13.0),
the only differences are the 838 characters Unicode 14.0 assigned, which Java 17 calls
unassigned (``Cn``): a value holding one of them may pass a ``\\p{L}``-style pattern here
that such a service refuses. Every other translation was checked against
``java.util.regex`` (Java 17) on the patterns of the services LabelFlow calls.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["UntranslatablePattern", "compile_java", "full_match", "translate"]

_MAX = 0x10FFFF
Ranges = tuple[tuple[int, int], ...]
_LINE_TERMINATORS = "\n\r\u0085\u2028\u2029"


class UntranslatablePattern(ValueError):
    """A Java pattern this module cannot reproduce exactly (the message says which part)."""

    def __init__(self, pattern: str, position: int, reason: str) -> None:
        super().__init__(f"cannot translate Java pattern {pattern!r} at {position}: {reason}")
        self.pattern = pattern
        self.position = position
        self.reason = reason


# --------------------------------------------------------------------------------------------
# sets of code points as sorted, disjoint, inclusive ranges
# --------------------------------------------------------------------------------------------


def _normal(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _chars(text: str) -> Ranges:
    return _normal((ord(c), ord(c)) for c in text)


def _union(*sets: Ranges) -> Ranges:
    return _normal(r for ranges in sets for r in ranges)


def _negate(ranges: Ranges) -> Ranges:
    result = []
    start = 0
    for low, high in ranges:
        if low > start:
            result.append((start, low - 1))
        start = high + 1
    if start <= _MAX:
        result.append((start, _MAX))
    return tuple(result)


def _intersect(left: Ranges, right: Ranges) -> Ranges:
    return _negate(_union(_negate(left), _negate(right)))


def _escape_point(point: int) -> str:
    char = chr(point)
    if char.isascii() and (char.isalnum() or char in " _"):
        return char
    if point <= 0xFF:
        return f"\\x{point:02x}"
    if point <= 0xFFFF:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def _class(ranges: Ranges) -> str:
    """A ``re`` class of exactly ``ranges`` (``(?!)`` for the empty set)."""
    if not ranges:
        return "(?!)"
    parts = []
    for low, high in ranges:
        if low == high:
            parts.append(_escape_point(low))
        elif high == low + 1:
            parts.append(_escape_point(low) + _escape_point(high))
        else:
            parts.append(f"{_escape_point(low)}-{_escape_point(high)}")
    return "[" + "".join(parts) + "]"


# --------------------------------------------------------------------------------------------
# named classes
# --------------------------------------------------------------------------------------------

_DIGIT = _normal([(ord("0"), ord("9"))])
_UPPER = _normal([(ord("A"), ord("Z"))])
_LOWER = _normal([(ord("a"), ord("z"))])
_ALPHA = _union(_UPPER, _LOWER)
_ALNUM = _union(_ALPHA, _DIGIT)
_WORD = _union(_ALNUM, _chars("_"))
_SPACE = _chars(" \t\n\x0b\f\r")
_PUNCT = _chars("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_GRAPH = _union(_ALNUM, _PUNCT)
_HORIZONTAL = _union(_chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000"), _normal([(0x2000, 0x200A)]))
_VERTICAL = _chars("\n\x0b\f\r\x85\u2028\u2029")
_WHITE_SPACE = _union(
    _normal([(0x09, 0x0D), (0x2000, 0x200A)]),
    _chars(" \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"),
)
_POSIX: dict[str, Ranges] = {
    "Lower": _LOWER,
    "Upper": _UPPER,
    "ASCII": _normal([(0, 0x7F)]),
    "Alpha": _ALPHA,
    "Digit": _DIGIT,
    "Alnum": _ALNUM,
    "Punct": _PUNCT,
    "Graph": _GRAPH,
    "Print": _union(_GRAPH, _chars(" ")),
    "Blank": _chars(" \t"),
    "Cntrl": _union(_normal([(0, 0x1F)]), _chars("\x7f")),
    "XDigit": _union(_DIGIT, _chars("abcdefABCDEF")),
    "Space": _SPACE,
}
_ESCAPE_CLASSES: dict[str, Ranges] = {
    "d": _DIGIT,
    "w": _WORD,
    "s": _SPACE,
    "h": _HORIZONTAL,
    "v": _VERTICAL,
}


@functools.cache
def _categories() -> dict[str, Ranges]:
    """Every two-letter Unicode general category, as ranges (one pass over the code space)."""
    found: dict[str, list[tuple[int, int]]] = {}
    current = unicodedata.category("\0")
    start = 0
    for point in range(1, _MAX + 2):
        category = unicodedata.category(chr(point)) if point <= _MAX else ""
        if category != current:
            found.setdefault(current, []).append((start, point - 1))
            current, start = category, point
    return {name: _normal(ranges) for name, ranges in found.items()}


def _category(name: str) -> Ranges | None:
    categories = _categories()
    if len(name) == 2:
        return categories.get(name, () if name in _KNOWN_CATEGORIES else None)
    if len(name) == 1 and name in "LMNPSZC":
        return _union(*(ranges for key, ranges in categories.items() if key[0] == name))
    return None


_KNOWN_CATEGORIES = frozenset(
    (
        "Lu",
        "Ll",
        "Lt",
        "Lm",
        "Lo",
        "Mn",
        "Mc",
        "Me",
        "Nd",
        "Nl",
        "No",
        "Pc",
        "Pd",
        "Ps",
        "Pe",
        "Pi",
        "Pf",
        "Po",
        "Sm",
        "Sc",
        "Sk",
        "So",
        "Zs",
        "Zl",
        "Zp",
        "Cc",
        "Cf",
        "Cs",
        "Co",
        "Cn",
    )
)


def _property(name: str) -> Ranges | None:
    """Java's ``\\p{name}`` as ranges; None for a property not reproduced here."""
    if name in _POSIX:
        return _POSIX[name]
    if name == "all":
        return ((0, _MAX),)
    if name == "L1":
        return ((0, 0xFF),)
    if name == "LC":
        return _union(*(_category(c) or () for c in ("Lu", "Ll", "Lt")))
    if name == "LD":
        return _union(_category("L") or (), _category("Nd") or ())
    for prefix in ("general_category=", "gc=", "Is"):
        if name.startswith(prefix) and _category(name[len(prefix) :]) is not None:
            return _category(name[len(prefix) :])
    binary: dict[str, Callable[[], Ranges | None]] = {
        "ISLETTER": lambda: _category("L"),
        "ISDIGIT": lambda: _category("Nd"),
        "ISCONTROL": lambda: _category("Cc"),
        "ISPUNCTUATION": lambda: _category("P"),
        "ISWHITE_SPACE": lambda: _WHITE_SPACE,
        "ISWHITESPACE": lambda: _WHITE_SPACE,
        "ISASSIGNED": lambda: _negate(_category("Cn") or ()),
    }
    if name.upper() in binary:
        return binary[name.upper()]()
    return _category(name)


# --------------------------------------------------------------------------------------------
# the translator
# --------------------------------------------------------------------------------------------

_PY_FLAGS = "i"  # the only Java flag passed on to re; s and d change the translation itself
_SUPPORTED_FLAGS = "isd"


def _scope(outer: frozenset[str], inner: frozenset[str]) -> str:
    """The ``re`` scoped-flags opener from ``outer`` to ``inner`` flags ("" when the same)."""
    on = "".join(sorted(f for f in inner - outer if f in _PY_FLAGS))
    off = "".join(sorted(f for f in outer - inner if f in _PY_FLAGS))
    if not on and not off:
        return ""
    return f"(?{on}{'-' if off else ''}{off}:"


@dataclass
class _Group:
    """One open group: its flags, and whether a scope of changed flags is open in it."""

    #: Flags in effect at the group's start (what ``re`` applies inside it).
    start_flags: frozenset[str]
    #: Flags in effect now (``(?i)`` inside the group changes them).
    flags: frozenset[str]
    #: Index in the output of the group's opening text (-1 for the whole pattern).
    out_index: int = -1
    scope_open: bool = False


@dataclass
class _Translator:
    pattern: str
    pos: int = 0
    out: list[str] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list)
    #: Index in ``out`` where the last atom begins (None: no atom to quantify).
    atom_start: int | None = None
    #: The last atom was already quantified (``X{2}`` followed by ``{3}``).
    atom_quantified: bool = False
    #: The last atom is an assertion (re refuses to quantify one directly).
    atom_zero_width: bool = False
    capture_count: int = 0

    def fail(self, reason: str, position: int | None = None) -> UntranslatablePattern:
        return UntranslatablePattern(
            self.pattern, self.pos if position is None else position, reason
        )

    # ---------------------------------------------------------------------------- helpers

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.pattern[index] if index < len(self.pattern) else ""

    def take(self) -> str:
        if self.pos >= len(self.pattern):
            raise self.fail("unexpected end of pattern")
        char = self.pattern[self.pos]
        self.pos += 1
        return char

    @property
    def flags(self) -> frozenset[str]:
        return self.groups[-1].flags

    def emit_atom(self, text: str, *, zero_width: bool = False) -> None:
        self.atom_start = len(self.out)
        self.atom_quantified = False
        self.atom_zero_width = zero_width
        self.out.append(text)

    def no_atom(self) -> None:
        self.atom_start = None
        self.atom_quantified = False
        self.atom_zero_width = False

    # ---------------------------------------------------------------------------- the walk

    def run(self) -> str:
        self.groups.append(_Group(frozenset(), frozenset()))
        while self.pos < len(self.pattern):
            self.step()
        if len(self.groups) != 1:
            raise self.fail("unclosed group")
        self.close_scope()
        return "".join(self.out)

    def step(self) -> None:
        char = self.peek()
        if char == "\\":
            self.escape()
        elif char == "[":
            self.pos += 1
            self.emit_atom(_class(self.char_class()))
        elif char == "(":
            self.open_group()
        elif char == ")":
            self.close_group()
        elif char == "|":
            self.pos += 1
            self.close_scope()
            self.out.append("|")
            self.open_scope()
            self.no_atom()
        elif char in "*+?{":
            self.quantifier()
        elif char == ".":
            self.pos += 1
            self.emit_atom(self.dot())
        elif char == "^":
            self.pos += 1
            self.emit_atom("^", zero_width=True)
        elif char == "$":
            self.pos += 1
            self.emit_atom(self.dollar(), zero_width=True)
        else:
            self.pos += 1
            self.emit_atom(re.escape(char))

    def dot(self) -> str:
        if "s" in self.flags:
            return "(?s:.)"
        if "d" in self.flags:
            return "[^\\n]"
        return _class(_negate(_chars(_LINE_TERMINATORS)))

    def dollar(self) -> str:
        if "d" in self.flags:
            return "(?=\\n?\\Z)"
        return "(?:(?=\\r\\n\\Z)|(?<!\\r)(?=\\n\\Z)|(?=[\\r\\x85\\u2028\\u2029]\\Z)|\\Z)"

    # ----------------------------------------------------------------------------- groups

    def open_scope(self) -> None:
        """Open ``(?i:`` (or ``(?-i:``) where the group's flags differ from its start."""
        group = self.groups[-1]
        opener = _scope(group.start_flags, group.flags)
        if opener:
            self.out.append(opener)
            group.scope_open = True

    def close_scope(self) -> None:
        group = self.groups[-1]
        if group.scope_open:
            self.out.append(")")
            group.scope_open = False

    def open_group(self) -> None:
        start = self.pos
        self.pos += 1
        flags = self.flags
        if self.peek() != "?":
            self.capture_count += 1
            self.push_group("(", flags)
            return
        self.pos += 1
        kind = self.peek()
        if kind in (":", "=", "!", ">"):
            self.pos += 1
            self.push_group("(?" + kind, flags)
            return
        if kind == "<":
            follower = self.peek(1)
            if follower in ("=", "!"):
                self.pos += 2
                self.push_group("(?<" + follower, flags)
                return
            match = re.match(r"<([a-zA-Z][a-zA-Z0-9]*)>", self.pattern[self.pos :])
            if match is None:
                raise self.fail("invalid named group", start)
            self.pos += match.end()
            self.capture_count += 1
            self.push_group(f"(?P<{match.group(1)}>", flags)
            return
        match = re.match(r"([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])", self.pattern[self.pos :])
        if match is None:
            raise self.fail("unknown group construct", start)
        on, off, end = match.group(1), match.group(2) or "", match.group(3)
        unsupported = sorted(set(on + off) - set(_SUPPORTED_FLAGS))
        if unsupported:
            raise self.fail(f"flag(s) {''.join(unsupported)} are not translated", start)
        new_flags = frozenset((flags | set(on)) - set(off))
        self.pos += match.end()
        if end == ":":
            # (?i:X): a non-capturing group with its own flags
            self.push_group(_scope(flags, new_flags) or "(?:", new_flags)
            return
        # (?i): the flags apply to the rest of the enclosing group, every later alternative
        group = self.groups[-1]
        self.close_scope()
        group.flags = new_flags
        self.open_scope()
        self.no_atom()

    def push_group(self, opener: str, flags: frozenset[str]) -> None:
        self.groups.append(_Group(start_flags=flags, flags=flags, out_index=len(self.out)))
        self.out.append(opener)
        self.no_atom()

    def close_group(self) -> None:
        if len(self.groups) == 1:
            raise self.fail("unmatched ')'")
        self.pos += 1
        self.close_scope()
        group = self.groups.pop()
        self.out.append(")")
        self.atom_start = group.out_index
        self.atom_quantified = False
        self.atom_zero_width = self.out[group.out_index] in ("(?=", "(?!", "(?<=", "(?<!")

    # ------------------------------------------------------------------------ quantifiers

    def quantifier(self) -> None:
        start = self.pos
        char = self.take()
        if char == "{":
            match = re.match(r"(\d+)(,(\d*))?\}", self.pattern[self.pos :])
            if match is None:
                raise self.fail("illegal repetition (not a valid Java pattern)", start)
            self.pos += match.end()
            low = int(match.group(1))
            high = match.group(3)
            if match.group(2) is None:
                text = f"{{{low}}}"
            elif high == "":
                text = f"{{{low},}}"
            else:
                if int(high) < low:
                    raise self.fail("illegal repetition range", start)
                text = f"{{{low},{int(high)}}}"
        else:
            text = char
        if self.peek() in ("?", "+"):
            text += self.take()
        if self.atom_start is None:
            raise self.fail(f"dangling meta character {char!r} (not a valid Java pattern)", start)
        if self.atom_quantified:
            if char != "{":
                raise self.fail(f"dangling meta character {char!r} (not a valid Java pattern)")
            # Java applies a second {n,m} to an empty atom: "X{2}{3}" matches what "X{2}" does
            return
        if self.atom_zero_width:
            # re refuses to quantify an assertion ("$" in "${1,128}"): group it first
            self.out[self.atom_start] = "(?:" + self.out[self.atom_start]
            self.out.append(")")
        self.out.append(text)
        self.atom_quantified = True
        self.atom_zero_width = False

    # ---------------------------------------------------------------------------- escapes

    def escape(self) -> None:
        start = self.pos
        self.pos += 1
        char = self.take()
        if char in _ESCAPE_CLASSES or char.lower() in _ESCAPE_CLASSES:
            ranges = _ESCAPE_CLASSES[char.lower()]
            self.emit_atom(_class(_negate(ranges) if char.isupper() else ranges))
        elif char in "pP":
            ranges = self.property(start)
            self.emit_atom(_class(_negate(ranges) if char == "P" else ranges))
        elif char == "A":
            self.emit_atom("\\A", zero_width=True)
        elif char == "z":
            self.emit_atom("\\Z", zero_width=True)
        elif char == "Z":
            terminators = "\\n" if "d" in self.flags else "\\r\\n|[\\n\\r\\x85\\u2028\\u2029]"
            self.emit_atom(f"(?=(?:{terminators})?\\Z)", zero_width=True)
        elif char == "R":
            self.emit_atom("(?:\\r\\n|[\\n\\x0b\\x0c\\r\\x85\\u2028\\u2029])")
        elif char == "Q":
            end = self.pattern.find("\\E", self.pos)
            literal = self.pattern[self.pos :] if end < 0 else self.pattern[self.pos : end]
            self.pos = len(self.pattern) if end < 0 else end + 2
            if literal:
                # each quoted character is an atom of its own for a following quantifier
                for quoted in literal[:-1]:
                    self.out.append(re.escape(quoted))
                self.emit_atom(re.escape(literal[-1]))
        elif char == "k":
            match = re.match(r"<([a-zA-Z][a-zA-Z0-9]*)>", self.pattern[self.pos :])
            if match is None:
                raise self.fail("invalid named back reference", start)
            self.pos += match.end()
            self.emit_atom(f"(?P={match.group(1)})")
        elif char.isdigit() and char != "0":
            if self.peek().isdigit():
                raise self.fail("multi-digit back reference", start)
            if int(char) > self.capture_count:
                raise self.fail("back reference to a group not yet defined", start)
            self.emit_atom(f"(?:\\{char})")
        else:
            point = self.literal_escape(char, start)
            self.emit_atom(_class(((point, point),)))

    def literal_escape(self, char: str, start: int) -> int:
        """The code point of a literal escape (``\\t``, ``\\x41``, ``\\u0041``, ``\\.``...)."""
        simple = {"t": 9, "n": 10, "r": 13, "f": 12, "a": 7, "e": 27}
        if char in simple:
            return simple[char]
        if char == "0":
            match = re.match(r"[0-3][0-7]{2}|[0-7]{1,2}", self.pattern[self.pos :])
            if match is None:
                raise self.fail("illegal octal escape", start)
            self.pos += match.end()
            return int(match.group(0), 8)
        if char == "x":
            match = re.match(r"\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{2})", self.pattern[self.pos :])
            if match is None:
                raise self.fail("illegal hexadecimal escape", start)
            self.pos += match.end()
            point = int(match.group(1) or match.group(2), 16)
            if point > _MAX:
                raise self.fail("hexadecimal code point out of range", start)
            return point
        if char == "u":
            point = self.hex4(start)
            if 0xD800 <= point <= 0xDBFF and self.pattern.startswith("\\u", self.pos):
                saved = self.pos
                self.pos += 2
                low = self.hex4(start)
                if 0xDC00 <= low <= 0xDFFF:
                    return 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00)
                self.pos = saved
            return point
        if char == "c":
            return ord(self.take()) ^ 64
        if char.isascii() and char.isalnum():
            raise self.fail(f"escape \\{char} is not translated (or not valid Java)", start)
        return ord(char)

    def hex4(self, start: int) -> int:
        digits = self.pattern[self.pos : self.pos + 4]
        if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
            raise self.fail("illegal unicode escape", start)
        self.pos += 4
        return int(digits, 16)

    def property(self, start: int) -> Ranges:
        """The set of ``\\p{name}``/``\\pL`` (after the ``p``)."""
        if self.peek() == "{":
            end = self.pattern.find("}", self.pos)
            if end < 0:
                raise self.fail("unclosed property", start)
            name = self.pattern[self.pos + 1 : end]
            self.pos = end + 1
        else:
            name = self.take()
        ranges = _property(name)
        if ranges is None:
            raise self.fail(f"property \\p{{{name}}} is not translated", start)
        return ranges

    # --------------------------------------------------------------------- character class

    def char_class(self) -> Ranges:
        """The set of a class whose ``[`` was consumed; consumes its ``]``."""
        start = self.pos - 1
        negated = False
        if self.peek() == "^":
            negated = True
            self.pos += 1
        operands: list[Ranges] = []  # intersected
        items: list[Ranges] = []  # united
        first = True
        while True:
            if self.pos >= len(self.pattern):
                raise self.fail("unclosed character class", start)
            char = self.peek()
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            if char == "[":
                self.pos += 1
                items.append(self.char_class())
                continue
            if char == "&" and self.peek(1) == "&":
                self.pos += 2
                if not items and not operands:
                    raise self.fail("bad class syntax", start)
                operands.append(_union(*items))
                items = []
                continue
            items.append(self.class_range())
        if operands:
            if not items:
                raise self.fail("bad class syntax", start)
            result = _union(*items)
            for operand in operands:
                result = _intersect(operand, result)
        else:
            result = _union(*items)
        return _negate(result) if negated else result

    def class_range(self) -> Ranges:
        """One item of a class: a character, a range, or a class escape."""
        start = self.pos
        char = self.take()
        if char == "\\":
            escaped = self.take()
            if escaped in "pP":
                ranges = self.property(start)
                return _negate(ranges) if escaped == "P" else ranges
            if escaped.lower() in _ESCAPE_CLASSES:
                ranges = _ESCAPE_CLASSES[escaped.lower()]
                return _negate(ranges) if escaped.isupper() else ranges
            if escaped == "Q":
                raise self.fail("\\Q inside a character class is not translated", start)
            if escaped.isdigit() and escaped != "0":
                raise self.fail("back reference inside a character class", start)
            low = self.literal_escape(escaped, start)
        else:
            low = ord(char)
        if self.peek() == "-" and self.peek(1) not in ("]", "[", ""):
            self.pos += 1
            end_start = self.pos
            end_char = self.take()
            if end_char == "\\":
                escaped = self.take()
                if escaped in "pP" or escaped.lower() in _ESCAPE_CLASSES or escaped == "Q":
                    raise self.fail("illegal character range", end_start)
                high = self.literal_escape(escaped, end_start)
            else:
                high = ord(end_char)
            if high < low:
                raise self.fail("illegal character range", start)
            return ((low, high),)
        return ((low, low),)


@functools.cache
def translate(pattern: str) -> str:
    """The :mod:`re` pattern (to compile with ``re.ASCII``) equivalent to a Java pattern.

    Raises:
        UntranslatablePattern: the pattern uses a construct not reproduced exactly, or is
            not a valid Java pattern.
    """
    return _Translator(pattern).run()


@functools.cache
def compile_java(pattern: str) -> re.Pattern[str]:
    """The compiled translation of a Java pattern (cached).

    Raises:
        UntranslatablePattern: as :func:`translate`.
    """
    translated = translate(pattern)
    try:
        return re.compile(translated, re.ASCII)
    except re.error as exc:  # a translation re refuses is a bug of the translator
        raise UntranslatablePattern(pattern, 0, f"translation {translated!r}: {exc}") from None


def full_match(pattern: str, value: str) -> bool:
    """Whether Java's ``Pattern.compile(pattern).matcher(value).matches()`` is true.

    Raises:
        UntranslatablePattern: as :func:`translate`.
    """
    return compile_java(pattern).fullmatch(value) is not None


def untranslatable(patterns: Sequence[str]) -> dict[str, str]:
    """Which of ``patterns`` cannot be translated, with the reason."""
    problems = {}
    for pattern in patterns:
        try:
            compile_java(pattern)
        except UntranslatablePattern as exc:
            problems[pattern] = exc.reason
    return problems
