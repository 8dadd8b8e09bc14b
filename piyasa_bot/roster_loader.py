"""Reading bots.yaml: validation, token resolution, and readable problems.

The YAML itself is read by `yaml_bounded` (sizes checked before anything is
built); `Problem` and `RosterError` live in `problems`.

Every problem is collected and raised together in one RosterError, named by the path a
user reads in the file (`bots[3].persona.risk`). Tokens are resolved here and never
appear in a message: everything that leaves this module passes through a `Redactor`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from piyasa_bot.crypto import PREFIX, SETTING, SecretKeyError, TokenCipher
from piyasa_bot.problems import Problem, Refused, RosterError
from piyasa_bot.redaction import MIN_SECRET, TOKEN, Redactor, looks_like_token
from piyasa_bot.roster import BotConfig, BotKeys, ChatConfig, Limits, Persona, Roster, RosterKeys, consistency_problems
from piyasa_bot.yaml_bounded import MAX_NODES, load_bounded

__all__ = [  # Problem, RosterError and MAX_NODES live in their own modules; importable from here too
    "MAX_BYTES",
    "MAX_NODES",
    "LoadedRoster",
    "Problem",
    "RosterError",
    "load_roster",
    "parse_roster",
    "redact",
]

MAX_BYTES = 1 << 20
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOO_BIG = f"is larger than {MAX_BYTES // 1024} KiB; a roster is a few KiB"
_LIKE_TOKEN = "a bot token (like 123456:ABC-DEF...)"
# Where an unknown key was found -> the model whose keys are allowed there (for "did you mean").
_MODELS: dict[str | None, type[BaseModel]] = {
    None: Roster,
    "limits": Limits,
    "chats": ChatConfig,
    "bots": BotConfig,
    "persona": Persona,
}


@dataclass(frozen=True)
class LoadedRoster:
    roster: Roster
    tokens: dict[str, str] = field(repr=False)  # bot name -> plain token; never in a repr
    warnings: list[Problem]
    source: str


def redact(text: str, tokens: Iterable[str]) -> str:
    """`text` with each known token, and anything shaped like a bot token, replaced by "<token>"."""
    return Redactor(tokens, label=TOKEN)(text)


def load_roster(path: Path, env: Mapping[str, str], cipher: TokenCipher | None) -> LoadedRoster:
    source = str(path)
    try:
        if path.is_dir():
            problem = "is a directory; PIYASA_CONFIG must name the roster file itself (e.g. bots.yaml)"
        elif path.stat().st_size > MAX_BYTES:  # refused before a byte is read
            problem = _TOO_BIG
        else:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)  # bounded even if the file grows meanwhile
            return parse_roster(data.decode("utf-8-sig"), source, env, cipher)
    except FileNotFoundError:
        problem = "no such file; create it (the repository ships an example) or set PIYASA_CONFIG to its path"
    except UnicodeDecodeError as error:
        problem = f"is not UTF-8 text (byte {error.start})"
    except OSError as error:
        problem = f"cannot be read: {error.strerror or type(error).__name__}"
    raise RosterError([Problem(source, problem)])


def parse_roster(text: str, source: str, env: Mapping[str, str], cipher: TokenCipher | None) -> LoadedRoster:
    try:
        if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise Refused(_TOO_BIG)
        data, problems = _load_yaml(text, source)
        if data is None:
            raise Refused("is empty; a roster needs at least `chats:` and `bots:`")
        if not isinstance(data, dict):
            raise Refused(f"the top level must be a mapping with `chats:` and `bots:`, not {_kind(data)}")
    except Refused as refused:
        raise RosterError([Problem(source, str(refused))]) from None

    roster: Roster | None = None
    try:
        roster = Roster.model_validate(data)
    except ValidationError as error:
        problems += [_problem(detail) for detail in error.errors(include_url=False)]
    tokens, secrets, token_problems, warnings = _resolve_tokens(data, env, cipher)
    problems += token_problems
    reported = [problem.path for problem in problems]
    for path, message in consistency_problems(RosterKeys.of(roster) if roster else _raw_keys(data)):
        if not any(path == seen or path.startswith((seen + ".", seen + "[")) for seen in reported):
            problems.append(Problem(path, message))  # one complaint per field is enough
    if problems or roster is None:
        raise RosterError(_clean(problems, secrets, source))
    named = {bot.name: tokens[index] for index, bot in enumerate(roster.bots)}
    return LoadedRoster(roster=roster, tokens=named, warnings=_clean(warnings, secrets, source), source=source)


def _load_yaml(text: str, source: str) -> tuple[Any, list[Problem]]:
    if not text.strip():
        return None, []
    data, duplicates = load_bounded(text)
    return data, [Problem(source, note) for note in duplicates]


# --- pydantic errors -> readable problems ----------------------------------------------------


def _kind(value: object) -> str:
    kinds = {
        type(None): "empty",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a mapping",
    }
    return kinds.get(type(value), type(value).__name__)


def _path(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(detail: Mapping[str, Any]) -> Problem:
    loc, kind, message = tuple(detail["loc"]), detail["type"], detail["msg"]
    if kind == "extra_forbidden":
        parent = next((part for part in reversed(loc[:-1]) if isinstance(part, str)), None)
        known = list(_MODELS[parent].model_fields) if parent in _MODELS else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = (
            f" (did you mean '{close[0]}'?)" if close else (f"; expected one of: {', '.join(known)}" if known else "")
        )
        return Problem(_path(loc), f"unknown key{hint}")
    if loc and loc[-1] == "[key]":  # a dict key, e.g. an unknown topic under stances
        loc, message = loc[:-1], message.replace("Input should", "key should", 1)
    elif kind == "invalid_key":
        loc, message = loc[:-1], f"key {loc[-1]!r} should be text"
    elif kind == "missing":
        message = "is required"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"should be a mapping (key: value lines), not {_kind(detail.get('input'))}"
    elif kind in ("list_type", "string_type"):
        message = f"should be {'a list' if kind == 'list_type' else 'text'}, not {_kind(detail.get('input'))}"
    message = message.removeprefix("Value error, ").replace(" after validation", "")
    return Problem(_path(loc) or "(top level)", message[:1].lower() + message[1:])


def _clean(problems: list[Problem], secrets: set[str], source: str) -> list[Problem]:
    """Redacted and in reading order: the file itself, limits, chats, bots (bots[2] before bots[10])."""
    sections = ("limits", "chats", "bots")

    def order(problem: Problem) -> tuple[int, str]:
        top = re.split(r"[.\[]", problem.path, maxsplit=1)[0]
        rank = 0 if problem.path == source else (sections.index(top) + 2 if top in sections else 1)
        return rank, re.sub(r"\d+", lambda number: number[0].zfill(12), problem.path)

    redactor = Redactor(secrets, label=TOKEN)
    return [Problem(redactor(p.path), redactor(p.message)) for p in sorted(problems, key=order)]


# --- tokens and cross-field checks, on the raw mapping so they are reported even when
# --- some other field is invalid ------------------------------------------------------------


def _decrypt(value: str, cipher: TokenCipher | None, origin: str) -> str:
    if cipher is None:
        raise Refused(f"{origin}is encrypted but {SETTING} is not set")
    try:
        token = cipher.decrypt(value)
    except SecretKeyError as error:
        raise Refused(f"{origin}{error}") from None
    if not looks_like_token(token):
        raise Refused(f"{origin}decrypts to something that is not {_LIKE_TOKEN}")
    return token


def _resolve(raw: str, env: Mapping[str, str], cipher: TokenCipher | None) -> tuple[str, str | None]:
    """(plain token, warning or None) for what a `token:` field says."""
    if match := _ENV_REF.fullmatch(raw):
        name = match[1]
        value = env.get(name, "").strip()
        if not value:
            raise Refused(f"environment variable {name} is {'empty' if name in env else 'not set'}")
        if value.startswith(PREFIX):  # the variable may hold an enc: value too
            return _decrypt(value, cipher, f"environment variable {name} "), None
        if not looks_like_token(value):
            raise Refused(f"environment variable {name} does not hold {_LIKE_TOKEN}")
        return value, None
    if "$" in raw:
        raise Refused("write an environment reference as ${NAME} (letters, digits and '_')")
    if raw.startswith(PREFIX):
        return _decrypt(raw, cipher, ""), None
    if not looks_like_token(raw):
        raise Refused(f"is neither ${{ENV_NAME}}, enc:... nor {_LIKE_TOKEN}")
    return raw, (
        "a plain token is written in the file; run `python -m piyasa_bot encrypt-token` "
        "and paste the enc: value here (or use ${ENV_NAME})"
    )


def _resolve_tokens(
    data: dict[str, Any], env: Mapping[str, str], cipher: TokenCipher | None
) -> tuple[dict[int, str], set[str], list[Problem], list[Problem]]:
    """(bot index -> token, every secret seen, problems, warnings)."""
    tokens: dict[int, str] = {}
    raws: dict[int, str] = {}
    secrets: set[str] = set()
    problems: list[Problem] = []
    warnings: list[Problem] = []
    bots = data.get("bots")
    for index, bot in enumerate(bots if isinstance(bots, list) else []):
        raw = bot.get("token") if isinstance(bot, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            continue  # pydantic has already said what is wrong with it
        raw, path = raw.strip(), f"bots[{index}].token"
        reference = _ENV_REF.fullmatch(raw)
        secrets.add(env.get(reference[1], "").strip() if reference else raw)
        try:
            token, warning = _resolve(raw, env, cipher)
        except Refused as refused:
            problems.append(Problem(path, str(refused)))
            continue
        secrets.add(token)
        if warning:
            warnings.append(Problem(path, warning))
        # Equal as written is consistency_problems' report; this catches two names for one token.
        twin = next((other for other, known in tokens.items() if known == token and raws[other] != raw), None)
        if twin is not None:
            problems.append(Problem(path, f"resolves to the same bot token as bots[{twin}]"))
        tokens[index], raws[index] = token, raw
    return tokens, {secret for secret in secrets if len(secret) >= MIN_SECRET}, problems, warnings


def _as_int(value: object) -> Hashable:
    if isinstance(value, int | float | str):  # ids written as text count, as in pydantic
        try:
            return int(value)
        except (ValueError, OverflowError):
            pass
    return object()  # equal only to itself: an invalid id neither clashes nor is found


def _raw_keys(data: dict[str, Any]) -> RosterKeys:
    """The usable raw values of a roster that failed validation, only for consistency_problems."""
    raw_chats, raw_bots = data.get("chats"), data.get("bots")
    chat_ids = [
        _as_int(item.get("id") if isinstance(item, dict) else None)
        for item in (raw_chats if isinstance(raw_chats, list) else [])
    ]
    bots = []
    for item in raw_bots if isinstance(raw_bots, list) else []:
        item = item if isinstance(item, dict) else {}
        name, token, listed = item.get("name"), item.get("token"), item.get("chats")
        bots.append(
            BotKeys(
                name=name if isinstance(name, str) else object(),
                token=token.strip() if isinstance(token, str) else object(),
                # Without a usable `chats:` every reference would look dangling: check none.
                chats=[_as_int(chat) for chat in listed] if isinstance(listed, list) and chat_ids else [],
            )
        )
    return RosterKeys(chat_ids, bots)
