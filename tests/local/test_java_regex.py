"""Java patterns matched with Java's meaning.

Every expected result below is what ``java.util.regex.Pattern.compile(p).matcher(v).matches()``
answers on Java 17 (checked with a small Java program when the cases were written).
"""

from __future__ import annotations

import botocore.session
import pytest

from labelflow.local.java_regex import UntranslatablePattern, full_match, translate, untranslatable

#: The services whose requests LabelFlow builds or whose models the emulator validates with.
SERVICES = (
    "sagemaker",
    "sagemaker-a2i-runtime",
    "s3",
    "dynamodb",
    "stepfunctions",
    "sns",
    "events",
    "secretsmanager",
    "lambda",
    "sqs",
    "iam",
    "sts",
    "kms",
    "cloudformation",
)

JAVA_17 = [
    # "." stops at every Java line terminator, not only "\n"
    (".+", "Choose the tone", True),
    (".+", "line one\nline two", False),
    (".+", "a\rb", False),
    (".+", "a\u0085b", False),
    (".+", "a\u2028b", False),
    ("(?s).+", "a\nb", True),
    # the whole value must match
    ("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "reviews-batch-1-0", True),
    ("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "reviews_batch", False),
    # Unicode categories and POSIX classes
    ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", "caf\u00e9 \u0663 x", True),
    ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", "tag!", False),
    ("[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+", "e\u0301\u20ac\u00ab", True),
    ("[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+", "a b", False),
    ("\\P{C}+", "visible", True),
    ("\\P{C}+", "tab\there", False),
    (
        "arn:[\\p{Alnum}\\-]+:lambda:[\\p{Alnum}\\-]+:[0-9]{12}:function:.*",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        True,
    ),
    (
        "arn:[\\p{Alnum}\\-]+:lambda:[\\p{Alnum}\\-]+:[0-9]{12}:function:.*",
        "arn:\u00e4ws:lambda:us-east-1:123456789012:function:f",
        False,
    ),
    # intersection, nested classes, a literal "-" after a class escape, "]" first
    ("[\\p{Print}&&[^|:/]]+", "a b", True),
    ("[\\p{Print}&&[^|:/]]+", "a|b", False),
    ("[\\w-_ ]+", "a-_ b", True),
    ("[a-c[x-z]]+", "bx", True),
    ("[^a[b]]", "b", False),
    ("[a-z&&[def]]+", "ab", False),
    ("[]a]+", "]a", True),
    # \d, \w, \s are US-ASCII; \v and \h are whitespace classes
    ("\\d+", "\u0663", False),
    ("\\w+", "\u00e9", False),
    ("\\s+", "\u00a0", False),
    ("\\v", "\u000b", True),
    ("\\h", "\u00a0", True),
    # a surrogate pair is one code point
    ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", "a\U0001f600\t", True),
    ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", "a\n", False),
    ("[\\t\\n\\r -\\uD7FF\\uE000-\\uFFFD]*", "LabelFlow reviews", True),
    ("[\\t\\n\\r -\\uD7FF\\uE000-\\uFFFD]*", "a\u0000", False),
    ("\\x{1F600}", "\U0001f600", True),
    ("[^/:|\\000-\\037]+", "a\u0001", False),
    ("[^/:|\\000-\\037]+", "ab", True),
    # quantified assertions and quantifiers of quantifiers
    ("^[-_a-zA-Z0-9]*${2,64}$", "abc", True),
    ("^[-_a-zA-Z0-9]*${2,64}$", "a c", False),
    ("a$", "a\n", False),
    ("a$\n", "a\n", True),
    ("a{2}{3}", "aa", True),
    ("a{2}{3}", "aaaaaa", False),
    ("x{11}{0,1011}", "xxxxxxxxxxx", True),
    # inline flags: the rest of the group, every later alternative; ASCII-only case folding
    ("(?!(?i)AWS_)[a-zA-Z_][a-zA-Z0-9_]*", "aws_key", False),
    ("(?!(?i)AWS_)[a-zA-Z_][a-zA-Z0-9_]*", "awskey", True),
    ("a(?i)b|c", "C", True),
    ("a(?i)b|c", "aB", True),
    ("(?i)k", "\u212a", False),
    # quoting, end of input, named groups, possessive and atomic
    ("\\Qa.b\\E+", "a.bbb", True),
    ("\\Qa.b\\E+", "axb", False),
    ("a\\z", "a", True),
    ("a\\Z", "a\n", False),
    ("(?<year>[0-9]{4})-\\k<year>", "2026-2026", True),
    ("a++a", "aa", False),
    ("(?>a|ab)c", "abc", False),
]


@pytest.mark.parametrize(("pattern", "value", "java"), JAVA_17)
def test_full_match_answers_as_java_does(pattern: str, value: str, java: bool) -> None:
    assert full_match(pattern, value) is java


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("\\p{IsAlphabetic}+", "property"),
        ("((25[0-5]|1\\d|\\d)\\.?\\b){4}", "\\b"),
        ("(?m)^a$", "flag"),
        ("(?x)a b", "flag"),
        ("*a", "dangling"),
        ("a{,3}", "repetition"),
        ("[a-", "unclosed"),
        ("a\\y", "\\y"),
    ],
)
def test_what_is_not_reproduced_exactly_is_an_error(pattern: str, reason: str) -> None:
    with pytest.raises(UntranslatablePattern, match=reason.replace("\\", "\\\\")):
        translate(pattern)


def _patterns(service: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    return {
        str(model.shape_for(name).metadata["pattern"])
        for name in model.shape_names
        if "pattern" in model.shape_for(name).metadata
    }


def test_every_pattern_of_the_services_labelflow_calls_translates_but_three() -> None:
    patterns = set().union(*(_patterns(service) for service in SERVICES))

    problems = untranslatable(sorted(patterns))

    # Only Java's version-dependent word boundary; no request LabelFlow builds carries them
    # (SageMaker cluster addresses, a CloudFormation stack name or id).
    assert problems == {
        "ip-((25[0-5]|(2[0-4]|1\\d|[1-9]|)\\d)-?\\b){4}\\..*": "escape \\b is not translated "
        "(or not valid Java)",
        "((25[0-5]|(2[0-4]|1\\d|[1-9]|)\\d)\\.?\\b){4}": "escape \\b is not translated "
        "(or not valid Java)",
        "([a-zA-Z][-a-zA-Z0-9]*)|(arn:\\b(aws|aws-us-gov|aws-cn)\\b:[-a-zA-Z0-9:/._+]*)": "escape "
        "\\b is not translated (or not valid Java)",
    }
    assert len(patterns) > 400
