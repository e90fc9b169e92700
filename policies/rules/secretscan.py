"""Finding credentials in names and text: env names, values, command arguments, file contents.

Pure functions over plain strings; `secrets` applies them to every resource type. A value is
never echoed: findings name the variable, argument or line number only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

# Words that make a name a credential when the name ends with them, glued (`PGPASSWORD`,
# `AUTHTOKEN`, `APIKEY`) or after a separator, singular or plural (`OPENAI_API_KEYS`).
GLUED_WORDS = (
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "SECRETKEY",
    "PRIVATEKEY",
    "REQUIREPASS",  # redis-server --requirepass
    "MASTERAUTH",  # redis-server --masterauth
)
SEPARATED_WORDS = ("KEY", "PASS", "PWD", "CREDENTIAL", "CREDENTIALS", "AUTHKEY", "ACCESSKEY")
# A name whose last word counts things is no credential (`MAX_TOKENS`, `NUM_KEYS`).
QUANTITY_WORDS = frozenset({"MAX", "MIN", "NUM", "TOTAL", "LIMIT", "COUNT", "DEFAULT"})
# A credential word inside a name (`SECRET_KEY_BASE`, `JWT_SECRET_KEY`) makes it a credential
# too, unless the name ends by saying it is about one (`PASSWORD_FILE`, `TOKEN_EXPIRY`, `..._ID`).
INNER_WORDS = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY"})
ABOUT_WORDS = frozenset(
    {
        "FILE", "PATH", "DIR", "URL", "URI", "ID", "NAME", "USER", "USERNAME", "HOST", "PORT", "ENABLED",
        "ENABLE", "LENGTH", "LEN", "TTL", "EXPIRY", "EXPIRE", "EXPIRES", "EXPIRATION", "LIFETIME", "TIMEOUT",
        "HEADER", "FIELD", "TYPE", "MODE", "POLICY", "ALGO", "ALGORITHM", "PROVIDER", "ENDPOINT", "ISSUER",
        "AUDIENCE", "SCOPE", "SCOPES", "COOKIE", "PREFIX", "VERSION", "REQUIRED", "AUTH", "LOGIN", "RESET",
        "SIZE", "OVERLAP", "BUDGET", "LIMIT", "RATE", "WINDOW", "STRATEGY", "SPLITTER", "ENCODING", "MODEL",
        "ENV", "VAR", "VARIABLE", "SOURCE", "REF", "STDIN", "COMMAND", "CMD", "HELPER", "STORE", "MANAGER",
    }
)  # fmt: skip
# A flag naming one of these switches a credential off or points at one (`--insecure-no-password`).
NEGATION_WORDS = frozenset({"NO", "NOT", "INSECURE", "DISABLE", "SKIP", "WITHOUT", "ALLOW", "REQUIRE", "PROMPT", "ASK"})
NON_SECRET_VALUES = frozenset({"", "true", "false", "yes", "no", "on", "off", "none", "null", "~"})

_WORD_SPLIT = r"[^A-Z0-9]+"
URL_USERINFO = r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*:([^/@\s]+)@"
URL_QUERY_SECRET = (
    r"(?i)[?&;](password|passwd|pwd|pass|secret|client_secret|token|access_token|auth_token|api_key|apikey|api-key"
    r"|key|sig|signature|x-amz-signature|x-goog-signature)=([^&#\s'\"]*)"
)
KEYWORD_SECRET = r"(?i)(?:^|[\s;])(password|passwd|pwd)\s*=\s*([^\s;'\"]+)"
# A credential as a quoted JSON/YAML member inside a value (`{"password": "..."}`).
QUOTED_MEMBER = (
    r"(?i)[\"'](password|passwd|secret|client_secret|token|api_?key|access_key|private_key)[\"']"
    r"\s*:\s*[\"']([^\"']+)[\"']"
)
PRIVATE_KEY = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
AUTH_HEADER = r"(?i)authorization\s*:\s*(?:bearer|basic|token)\s+([^\s'\"]+)"
# Issued-token shapes, found whatever the name around them (GitHub, Slack, Hugging Face,
# OpenAI-style, Google API keys, Stripe live keys, GitLab). An AWS access key id (AKIA...) names
# a key without being one; its secret is caught by name (`AWS_SECRET_ACCESS_KEY`).
KNOWN_TOKENS = (
    r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|hf_[A-Za-z0-9]{30,}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}"
    r"|sk_live_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_-]{20,})"
)
ASSIGNMENT = r"""^\s*(?:export\s+|-\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]\s*(.*?)\s*[,;]?\s*$"""
PATH_VALUE = r"^(?:/|\./|\.\./|~/)[A-Za-z0-9._@+=:,/-]*$"

# Compiled once: the pack scans every argument and every line of every uploaded file.
_PRIVATE_KEY, _URL_USERINFO, _URL_QUERY_SECRET, _KEYWORD_SECRET, _QUOTED_MEMBER, _AUTH_HEADER, _KNOWN_TOKENS = (
    re.compile(p)
    for p in (PRIVATE_KEY, URL_USERINFO, URL_QUERY_SECRET, KEYWORD_SECRET, QUOTED_MEMBER, AUTH_HEADER, KNOWN_TOKENS)
)
_ASSIGNMENT, _PATH_VALUE, _WORDS = re.compile(ASSIGNMENT), re.compile(PATH_VALUE), re.compile(_WORD_SPLIT)
_FLAG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def words(name: str) -> list[str]:
    return [w for w in _WORDS.split(name.upper()) if w]


def secret_name(name: str, suffixes: Sequence[str] = (), names: Sequence[str] = ()) -> bool:
    """True when a variable, key or flag name says it carries a credential."""
    return _secret_name(name, tuple(suffixes), tuple(names))


@lru_cache(maxsize=4096)
def _secret_name(name: str, suffixes: tuple[str, ...], names: tuple[str, ...]) -> bool:
    # The same names come back in every container (flags, env names): decided once each.
    upper = name.upper().replace("-", "_").replace(".", "_")
    parts = words(upper)
    if not parts:
        return False
    if upper in {n.upper() for n in names} or any(upper.endswith(s.upper()) for s in suffixes if s):
        return True
    last = parts[-1]
    singular = last[:-1] if last.endswith("S") and len(last) > 3 else last
    if len(parts) > 1 and parts[-2] in QUANTITY_WORDS:
        return False
    if singular in SEPARATED_WORDS or last in SEPARATED_WORDS:
        return len(parts) > 1 or last not in ("KEY", "PASS", "PWD")
    if any(form.endswith(w) for w in GLUED_WORDS for form in (last, singular)):
        return True
    return bool(INNER_WORDS & set(parts[:-1])) and last not in ABOUT_WORDS and singular not in ABOUT_WORDS


@lru_cache(maxsize=4096)
def negated(name: str) -> bool:
    return bool(NEGATION_WORDS & set(words(name)))


# A value that is wholly a placeholder in a program's text: Python's `{token}` /
# `{args.key}` (str.format, f-strings) and printf's `%s` / `%(key)s`. The program fills it in at
# run time from somewhere the rule judges on its own (an env var, a secret file, stdin).
PLACEHOLDER = (
    r"^(?:\{[A-Za-z_][A-Za-z0-9_.\[\]'\"]*(?:![rsa])?\}|%(?:\([A-Za-z_][A-Za-z0-9_]*\))?s"
    r"|<[A-Za-z_][^<>]*>?)$"  # and a document's `<token>`, `<sha256 of the key>` (cut at its space)
)


_PLACEHOLDER = re.compile(PLACEHOLDER)


def reference(value: str) -> bool:
    """True for a value that names a secret instead of holding it (an env or template reference)."""
    text = value.strip()
    return (
        text.startswith("$")
        or "${" in text
        or "$(" in text
        or text.startswith("os.environ/")
        or "{{" in text
        # a shell's word splitting may leave the call's closing punctuation on it: `{token});`
        or _PLACEHOLDER.match(text.rstrip(")];,")) is not None
    )


def literal_secret_value(value: str) -> bool:
    """True when ``value`` could be a credential: not empty, a flag, a file path or a reference."""
    text = value.strip().strip("\"'")
    return not (text.lower() in NON_SECRET_VALUES or reference(text) or _PATH_VALUE.match(text))


def embedded(text: str) -> str | None:
    """What kind of credential ``text`` carries inside it, whatever its name, or None.

    Each pattern is tried only when ``text`` holds the characters it cannot match without
    (most arguments and lines hold none of them), in the same order, so the answer is the same."""
    if "PRIVATE KEY-----" in text and _PRIVATE_KEY.search(text):
        return "a private key"
    if "://" in text and "@" in text:
        match = _URL_USERINFO.search(text)
        if match and literal_secret_value(match.group(1)):
            return "a URL with an embedded password"
    if "=" in text:
        for m in _URL_QUERY_SECRET.finditer(text):
            if literal_secret_value(m.group(2)):
                return f"a URL whose query string holds `{m.group(1)}`"
        for m in _KEYWORD_SECRET.finditer(text):
            if literal_secret_value(m.group(2)):
                return f"a connection string holding `{m.group(1)}`"
    if ":" in text:
        for m in _QUOTED_MEMBER.finditer(text):
            if literal_secret_value(m.group(2)):
                return f"a `{m.group(1)}` member"
        header = _AUTH_HEADER.search(text)
        if header and literal_secret_value(header.group(1)):
            return "an Authorization header"
    if _KNOWN_TOKENS.search(text):
        return "an issued API token"
    return None


# One word of a command line as Python's `shlex.split(text, posix=True)` reads it: runs of plain
# characters, backslash escapes, '...' and "..." (where a backslash escapes only `"` and itself),
# ended by a space, tab, CR or LF outside quotes. The same words as shlex, from one regex instead
# of shlex's character-at-a-time reader (the pack splits every `sh -c` script of every container);
# tests/policies/test_secretscan_split.py compares the two.
_SQ, _DQ = r"'[^']*'", r'"(?:[^"\\]|\\[\s\S])*"'
_WORD = re.compile(r"(?:[^ \t\r\n'\"\\]+|\\[\s\S]|" + _SQ + "|" + _DQ + ")+")
_WORD_PART = re.compile(r"[^'\"\\]+|\\([\s\S])|'([^']*)'|\"((?:[^\"\\]|\\[\s\S])*)\"")
_IN_DOUBLE_QUOTES = re.compile(r'\\(["\\])')


def split_words(text: str) -> list[str]:
    """`shlex.split(text, posix=True)`, raising ValueError where it does (an open quote, a
    trailing backslash)."""
    words: list[str] = []
    end = 0
    for match in _WORD.finditer(text):
        if text[end : match.start()].strip(" \t\r\n"):
            break  # something no word can start with: an unclosed quote or a lone backslash
        words.append("".join(_part(m) for m in _WORD_PART.finditer(match.group())))
        end = match.end()
    rest = text[end:]
    if rest.strip(" \t\r\n"):
        stripped = rest.lstrip(" \t\r\n")
        raise ValueError("No escaped character" if stripped == "\\" else "No closing quotation")
    return words


def _part(m: re.Match[str]) -> str:
    escaped, single, double = m.group(1), m.group(2), m.group(3)
    if escaped is not None:
        return escaped
    if single is not None:
        return single
    if double is not None:
        return _IN_DOUBLE_QUOTES.sub(r"\1", double)
    return m.group()


_SPACE = re.compile(r"\s")


def _tokens(args: Iterable[str], depth: int = 0) -> list[str]:
    """Arguments as a shell would see them: strings with spaces (`sh -c "..."`) split once more."""
    out: list[str] = []
    for arg in args:
        out.append(arg)
        if depth < 2 and _SPACE.search(arg):
            try:
                inner = split_words(arg)
            except ValueError:
                inner = arg.split()
            out += _tokens(inner, depth + 1)
    return out


def argument_findings(args: Sequence[str]) -> list[str]:
    """Credentials written into a command line, as "argument `--password`"-style descriptions."""
    return list(_argument_findings(tuple(args)))


@lru_cache(maxsize=1024)
def _argument_findings(args: tuple[str, ...]) -> tuple[str, ...]:
    # The same command lines come back in every instance and on every host (Ollama, its pulls,
    # the exporters): each is scanned once per process.
    tokens = _tokens(args)
    found: list[str] = []
    for i, token in enumerate(tokens):
        name, eq, value = token.partition("=")
        flag = name.lstrip("-")
        named = bool(flag) and _FLAG_NAME.fullmatch(flag) is not None
        credential = named and secret_name(flag) and not negated(flag)
        if eq and credential and literal_secret_value(value):
            found.append(f"argument `{name}=…`")
            continue
        if token.startswith("-") and not eq and i + 1 < len(tokens):
            following = tokens[i + 1]
            alone = not following.startswith("-") and not any(c.isspace() for c in following)
            if credential and alone and literal_secret_value(following):
                found.append(f"argument `{token}`")
                continue
            if flag in ("u", "user") and ":" in following and literal_secret_value(following.split(":", 1)[1]):
                found.append(f"argument `{token}` (user:password)")
                continue
        kind = embedded(token)
        if kind:
            found.append(f"an argument holding {kind}")
    return tuple(sorted(set(found)))


def content_findings(text: str) -> list[str]:
    """Credentials in a file's text, as "line N (`key`)" descriptions."""
    return list(_content_findings(text))


@lru_cache(maxsize=256)
def _content_findings(text: str) -> tuple[str, ...]:
    # The same files are uploaded to every instance and host (configs, scripts): scanned once.
    found: list[str] = []
    if _PRIVATE_KEY.search(text):
        found.append("a private key")
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ASSIGNMENT.match(line)
        if match and secret_name(match.group(1)) and not negated(match.group(1)):
            value = match.group(2)
            if literal_secret_value(value) and not value.startswith(("{", "[", "|", ">")):
                found.append(f"line {number} (`{match.group(1)}`)")
                continue
        kind = embedded(line) if "PRIVATE KEY" not in line else None
        if kind:
            found.append(f"line {number} ({kind})")
    return tuple(found)
