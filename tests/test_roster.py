"""bots.yaml: loading, validation, token resolution, and problems a user can act on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from piyasa_bot import roster_loader
from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.roster import BotConfig, ChatConfig, HourRange, Persona
from piyasa_bot.roster_loader import LoadedRoster, Problem, RosterError, load_roster, parse_roster, redact

REPO = Path(__file__).resolve().parent.parent
CHAT = -1001234567890
AYSE = "7000000001:AAH-ayse_secret_part_0123456789abcdefgh"
MEHMET = "7000000002:AAH-mehmet_secret_part_0123456789abcdef"
ENV = {"AYSE_TOKEN": AYSE, "MEHMET_TOKEN": MEHMET}

MINIMAL = f"""\
chats:
  - id: {CHAT}
    title: Piyasa Sohbet
bots:
  - name: ayse
    token: ${{AYSE_TOKEN}}
    chats: [{CHAT}]
"""


def roster_text(*bots: str, chats: str = f"  - id: {CHAT}\n") -> str:
    """A roster whose `bots:` entries are given as YAML snippets (two-space indented)."""
    return "chats:\n" + chats + "bots:\n" + "".join(bots)


def bot(name: str, token: str, extra: str = "", chats: str = f"[{CHAT}]") -> str:
    return f"  - name: {name}\n    token: {token}\n    chats: {chats}\n{extra}"


def problems_of(text: str, env: dict[str, str] | None = None, cipher: TokenCipher | None = None) -> list[str]:
    with pytest.raises(RosterError) as caught:
        parse_roster(text, "bots.yaml", ENV if env is None else env, cipher)
    return [str(problem) for problem in caught.value.problems]


def only_problem(text: str, **kwargs: object) -> str:
    problems = problems_of(text, **kwargs)  # type: ignore[arg-type]
    assert len(problems) == 1, problems
    return problems[0]


# --- files that are valid ------------------------------------------------------------------


def test_the_minimal_roster_from_the_design_is_valid_with_defaults() -> None:
    loaded = parse_roster(MINIMAL, "bots.yaml", ENV, None)
    assert loaded.tokens == {"ayse": AYSE}
    assert loaded.warnings == [] and loaded.source == "bots.yaml"
    assert loaded.roster.bot("ayse").persona == Persona()
    assert loaded.roster.chat(CHAT).title == "Piyasa Sohbet"


def test_the_shipped_bots_yaml_is_valid_and_uses_every_persona_field() -> None:
    env = {
        f"{name.upper()}_TOKEN": f"{7000000100 + i}:AAH-{name}_" + "x" * 32
        for i, name in enumerate(["fatma", "emre", "selin", "can", "murat", "kemal"])
    }
    loaded = load_roster(REPO / "bots.yaml", env, None)
    roster = loaded.roster
    assert loaded.warnings == []
    assert [chat.id for chat in roster.chats] == [CHAT] and roster.chats[0].title == "Piyasa Sohbet"
    assert set(roster.chats[0].topics) == {"bist", "usdtry", "gold", "crypto", "macro"}
    assert len(roster.bots) == 6 and len({bot.persona.tone for bot in roster.bots}) == 6
    assert all(bot.token.startswith("${") for bot in roster.bots)
    assert loaded.tokens == {bot.name: env[f"{bot.name.upper()}_TOKEN"] for bot in roster.bots}
    raw = yaml.safe_load((REPO / "bots.yaml").read_text(encoding="utf-8"))
    written = {key for entry in raw["bots"] for key in entry["persona"]}
    assert written == set(Persona.model_fields)
    assert all(entry["persona"]["signature_phrases"] for entry in raw["bots"])


def test_an_encrypted_token_is_decrypted_without_a_warning() -> None:
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    loaded = parse_roster(roster_text(bot("ayse", cipher.encrypt(AYSE))), "bots.yaml", {}, cipher)
    assert loaded.tokens == {"ayse": AYSE} and loaded.warnings == []


def test_an_environment_variable_may_hold_an_encrypted_token() -> None:
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    env = {"AYSE_TOKEN": cipher.encrypt(AYSE)}
    assert parse_roster(MINIMAL, "bots.yaml", env, cipher).tokens == {"ayse": AYSE}


def test_a_plain_token_is_accepted_with_a_warning_on_how_to_encrypt_it() -> None:
    loaded = parse_roster(roster_text(bot("ayse", AYSE)), "bots.yaml", {}, None)
    assert loaded.tokens == {"ayse": AYSE}
    [warning] = loaded.warnings
    assert warning.path == "bots[0].token"
    assert "python -m piyasa_bot encrypt-token" in warning.message and "enc:" in warning.message
    assert AYSE not in str(warning)


def test_anchors_and_merge_keys_within_reason_are_allowed() -> None:
    text = roster_text(
        bot("ayse", "${AYSE_TOKEN}", "    persona: &calm {tone: calm, risk: low}\n"),
        bot("mehmet", "${MEHMET_TOKEN}", "    persona: {<<: *calm, risk: high}\n"),
    )
    roster = parse_roster(text, "bots.yaml", ENV, None).roster
    assert roster.bot("mehmet").persona.tone == "calm" and roster.bot("mehmet").persona.risk == "high"


def test_load_roster_reads_a_file_and_remembers_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "bots.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_roster(path, ENV, None).source == str(path)


def test_loaded_roster_repr_hides_tokens() -> None:
    loaded = parse_roster(roster_text(bot("ayse", AYSE)), "bots.yaml", {}, None)
    assert AYSE not in repr(loaded) and AYSE not in repr(loaded.roster)


# --- the file itself ---------------------------------------------------------------------


def test_a_missing_file_names_the_path_and_piyasa_config(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(RosterError) as caught:
        load_roster(path, ENV, None)
    [problem] = caught.value.problems
    assert problem.path == str(path) and "no such file" in problem.message and "PIYASA_CONFIG" in problem.message


def test_a_directory_is_not_a_roster(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="is a directory"):
        load_roster(tmp_path, ENV, None)


@pytest.mark.parametrize("text", ["", "\n  \n", "# only a comment\n"])
def test_an_empty_file_is_reported_as_empty(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bots.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError, match=r"bots.yaml: is empty; a roster needs at least `chats:` and `bots:`"):
        load_roster(path, ENV, None)


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bots.yaml"
    path.write_bytes(b"chats: [\xff]\n")
    with pytest.raises(RosterError, match=r"is not UTF-8 text \(byte 8\)"):
        load_roster(path, ENV, None)


def test_a_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bots.yaml"
    path.write_text(MINIMAL + "#" * (1 << 20), encoding="utf-8")

    def must_not_parse(*_: object) -> None:
        raise AssertionError("parsed a file that is too large")

    monkeypatch.setattr(roster_loader, "_load_yaml", must_not_parse)
    with pytest.raises(RosterError, match="is larger than 1024 KiB"):
        load_roster(path, ENV, None)
    with pytest.raises(RosterError, match="is larger than 1024 KiB"):
        parse_roster(path.read_text(encoding="utf-8"), "bots.yaml", ENV, None)


def test_malformed_yaml_gives_line_and_column() -> None:
    problem = only_problem("chats:\n  - id: -100\n    title: [unclosed\nbots: []\n")
    assert problem.startswith("bots.yaml: invalid YAML at line 4, column ")
    assert "while parsing a flow sequence at line 3, column 12" in problem


def test_a_yaml_error_never_quotes_the_line_it_is_on() -> None:
    problem = only_problem(f"bots:\n  - token: {AYSE}\n  bad: [\n")
    assert AYSE not in problem and "<token>" not in problem


def test_more_than_one_document_is_refused() -> None:
    assert "expected a single document" in only_problem(MINIMAL + "---\n" + MINIMAL)


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "text"), ("42\n", "a number")])
def test_a_top_level_that_is_not_a_mapping_is_refused(text: str, kind: str) -> None:
    assert only_problem(text) == f"bots.yaml: the top level must be a mapping with `chats:` and `bots:`, not {kind}"


def billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def merge_key_laughs(levels: int = 9) -> str:
    lines = ["a: &a {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}"]
    for level in range(1, levels + 1):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} {{<<: [" + ", ".join([f"*{previous}"] * 10) + "]}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("document", [billion_laughs(), merge_key_laughs()], ids=["aliases", "merge-keys"])
def test_a_billion_laughs_document_is_refused_quickly(document: str) -> None:
    started = time.perf_counter()
    problem = only_problem(document)
    assert time.perf_counter() - started < 0.5
    assert problem == "bots.yaml: has more than 200,000 values once YAML aliases (*name) are expanded"


def test_an_alias_that_contains_itself_is_refused() -> None:
    assert only_problem("chats: &loop [*loop]\n") == (
        "bots.yaml: line 1, column 8: an alias refers to a value that contains it"
    )


def test_a_duplicate_key_is_reported_with_its_line() -> None:
    text = MINIMAL + f"bots:\n  - name: mehmet\n    token: ${{MEHMET_TOKEN}}\n    chats: [{CHAT}]\n"
    assert only_problem(text) == "bots.yaml: line 8, column 1: duplicate key 'bots' (YAML keeps only the last)"


# --- fields ------------------------------------------------------------------------------


def test_an_invalid_field_is_named_by_its_path() -> None:
    bots = [bot(name, f"${{{name.upper()}_TOKEN}}") for name in ("ayse", "mehmet", "zeynep")]
    env = {
        **ENV,
        "ZEYNEP_TOKEN": "7000000003:AAH-zeynep_secret_part_0123456789abcde",
        "ALI_TOKEN": "7000000004:AAH-ali_secret_part_0123456789abcdefghi",
    }
    text = roster_text(*bots, bot("ali", "${ALI_TOKEN}", "    persona:\n      risk: extreme\n"))
    assert only_problem(text, env=env) == "bots[3].persona.risk: input should be 'low', 'medium' or 'high'"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    persona: [calm]\n", "bots[0].persona: should be a mapping (key: value lines), not a list"),
        ("    persona:\n", "bots[0].persona: should be a mapping (key: value lines), not empty"),
        (
            "    persona: {emoji_rate: lots}\n",
            "bots[0].persona.emoji_rate: input should be a valid number, unable to parse string as a number",
        ),
        ("    persona: {typo_rate: 0.5}\n", "bots[0].persona.typo_rate: input should be less than or equal to 0.2"),
        (
            "    persona: {stances: {crypt: bearish}}\n",
            "bots[0].persona.stances.crypt: key should be 'bist', 'usdtry', 'gold', 'crypto' or 'macro'",
        ),
        (
            "    persona: {active_hours: ['24:30-02:00']}\n",
            "bots[0].persona.active_hours: not a time of day: '24:30-02:00'",
        ),
    ],
)
def test_wrong_types_and_values_read_naturally(extra: str, expected: str) -> None:
    assert only_problem(roster_text(bot("ayse", "${AYSE_TOKEN}", extra))) == expected


def test_a_chats_value_that_is_not_a_list_is_reported_once() -> None:
    assert only_problem(roster_text(bot("ayse", "${AYSE_TOKEN}", chats=str(CHAT)))) == (
        "bots[0].chats: should be a list, not a number"
    )


def test_a_missing_field_is_required() -> None:
    assert only_problem(f"chats:\n  - id: {CHAT}\nbots:\n  - name: ayse\n    chats: [{CHAT}]\n") == (
        "bots[0].token: is required"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            roster_text(bot("ayse", "${AYSE_TOKEN}", "    persna: {risk: low}\n")),
            "bots[0].persna: unknown key (did you mean 'persona'?)",
        ),
        (MINIMAL + "limit: {}\n", "limit: unknown key (did you mean 'limits'?)"),
        (MINIMAL + "zzz: 1\n", "zzz: unknown key; expected one of: limits, market, chats, bots"),
        (
            roster_text(bot("ayse", "${AYSE_TOKEN}"), chats=f"  - id: {CHAT}\n    titel: x\n"),
            "chats[0].titel: unknown key (did you mean 'title'?)",
        ),
    ],
)
def test_an_unknown_key_is_named_with_a_suggestion(text: str, expected: str) -> None:
    assert only_problem(text) == expected


def test_a_positive_chat_id_is_not_a_group() -> None:
    problems = problems_of(roster_text(bot("ayse", "${AYSE_TOKEN}", chats="[12345]"), chats="  - id: 12345\n"))
    assert problems == ["chats[0].id: a group chat id is negative (supergroups start with -100)"]


def test_duplicate_bot_names_are_reported() -> None:
    text = roster_text(bot("ayse", "${AYSE_TOKEN}"), bot("ayse", "${MEHMET_TOKEN}"))
    assert only_problem(text) == "bots[1].name: 'ayse' is already the name of bots[0]"


def test_the_same_token_written_twice_is_reported() -> None:
    text = roster_text(bot("ayse", "${AYSE_TOKEN}"), bot("mehmet", "${AYSE_TOKEN}"))
    assert only_problem(text) == "bots[1].token: the same token as bots[0]"


def test_two_variables_with_the_same_token_are_reported() -> None:
    text = roster_text(bot("ayse", "${AYSE_TOKEN}"), bot("mehmet", "${MEHMET_TOKEN}"))
    problem = only_problem(text, env={"AYSE_TOKEN": AYSE, "MEHMET_TOKEN": AYSE})
    assert problem == "bots[1].token: resolves to the same bot token as bots[0]"


def test_a_bot_in_a_chat_that_is_not_listed_is_reported() -> None:
    text = roster_text(bot("ayse", "${AYSE_TOKEN}", chats=f"[{CHAT}, -1009999]"))
    assert only_problem(text) == "bots[0].chats[1]: chat -1009999 is not in chats"


def test_a_chat_listed_twice_for_one_bot_is_reported() -> None:
    text = roster_text(bot("ayse", "${AYSE_TOKEN}", chats=f"[{CHAT}, {CHAT}]"))
    assert only_problem(text) == f"bots[0].chats[1]: chat {CHAT} is already bots[0].chats[0]"


# --- tokens ------------------------------------------------------------------------------


def test_an_unset_environment_variable_is_named() -> None:
    assert only_problem(MINIMAL, env={}) == "bots[0].token: environment variable AYSE_TOKEN is not set"


def test_an_empty_environment_variable_is_named() -> None:
    assert only_problem(MINIMAL, env={"AYSE_TOKEN": "  "}) == "bots[0].token: environment variable AYSE_TOKEN is empty"


def test_a_malformed_reference_is_explained() -> None:
    assert only_problem(roster_text(bot("ayse", "$AYSE_TOKEN"))) == (
        "bots[0].token: write an environment reference as ${NAME} (letters, digits and '_')"
    )


def test_an_encrypted_token_without_a_key_says_the_key_is_missing() -> None:
    value = TokenCipher.from_setting(generate_key()).encrypt(AYSE)  # type: ignore[union-attr]
    assert only_problem(roster_text(bot("ayse", value))) == (
        "bots[0].token: is encrypted but PIYASA_SECRET_KEY is not set"
    )


def test_an_encrypted_token_with_the_wrong_key_is_reported() -> None:
    value = TokenCipher.from_setting(generate_key()).encrypt(AYSE)  # type: ignore[union-attr]
    wrong = TokenCipher.from_setting(generate_key())
    assert only_problem(roster_text(bot("ayse", value)), cipher=wrong) == (
        "bots[0].token: cannot be decrypted with any key in PIYASA_SECRET_KEY"
    )


def test_a_variable_that_does_not_hold_a_bot_token_is_reported_without_its_value() -> None:
    problem = only_problem(MINIMAL, env={"AYSE_TOKEN": "ghp_not-a-telegram-token-secret"})
    assert (
        problem == "bots[0].token: environment variable AYSE_TOKEN does not hold a bot token (like 123456:ABC-DEF...)"
    )


def test_a_plain_value_that_is_not_a_token_is_reported_without_its_value() -> None:
    problem = only_problem(roster_text(bot("ayse", "AYSE_TOKEN")))
    assert problem == "bots[0].token: is neither ${ENV_NAME}, enc:... nor a bot token (like 123456:ABC-DEF...)"


def test_an_encrypted_value_that_is_not_a_bot_token_is_reported() -> None:
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    problem = only_problem(roster_text(bot("ayse", cipher.encrypt("hunter2-password"))), cipher=cipher)
    assert problem == "bots[0].token: decrypts to something that is not a bot token (like 123456:ABC-DEF...)"


# --- all at once, in order, and nothing secret ---------------------------------------------


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = (
        "limits: {per_chat_per_minute: 50}\n"
        "chats:\n  - id: 5\n"
        "bots:\n"
        + bot("ayse", "${AYSE_TOKEN}", "    persona: {risk: extreme}\n", chats="[5, -100777]")
        + bot("Ayse", "${NOPE_TOKEN}")
        + bot("ali", "${AYSE_TOKEN}", "    colour: red\n", chats="[-100777]")
    )
    assert problems_of(text) == [
        "limits.per_chat_per_minute: input should be less than or equal to 20",
        "chats[0].id: a group chat id is negative (supergroups start with -100)",
        "bots[0].chats[1]: chat -100777 is not in chats",
        "bots[0].persona.risk: input should be 'low', 'medium' or 'high'",
        f"bots[1].chats[0]: chat {CHAT} is not in chats",
        "bots[1].name: use 2-32 lowercase letters, digits or '_', starting with a letter",
        "bots[1].token: environment variable NOPE_TOKEN is not set",
        "bots[2].chats[0]: chat -100777 is not in chats",
        "bots[2].colour: unknown key; expected one of: name, token, chats, persona",
        "bots[2].token: the same token as bots[0]",
    ]


def test_no_problem_or_warning_ever_contains_a_token_or_the_key() -> None:
    key = generate_key()
    cipher = TokenCipher.from_setting(key)
    assert cipher is not None
    other_plain = "7000000009:AAH-other_secret_part_0123456789abcdefg"
    text = (
        f"chats:\n  - id: {CHAT}\n    title: [{MEHMET}]\n"
        "bots:\n"
        + bot("ayse", AYSE, f"    persona: {{signature_phrases: {MEHMET}}}\n")  # plain, warned; wrong type
        + bot("mehmet", "${MEHMET_TOKEN}", f"    {other_plain}: 1\n")  # a token as an unknown key
        + bot("zeynep", "${BAD_TOKEN}")  # a value that is not a token
        + bot("ali", cipher.encrypt(other_plain), chats="[-100]")  # undecryptable here
    )
    env = {**ENV, "BAD_TOKEN": "almost-a-token-but-not-quite-secret"}
    wrong = TokenCipher.from_setting(generate_key())
    with pytest.raises(RosterError) as caught:
        parse_roster(text, "bots.yaml", env, wrong)
    texts = [str(caught.value), repr(caught.value), *map(repr, caught.value.problems)]
    secrets = [AYSE, MEHMET, other_plain, key, env["BAD_TOKEN"]]
    assert len(caught.value.problems) >= 5
    for secret in secrets:
        assert all(secret not in text for text in texts), secret
    assert caught.value.__suppress_context__ or caught.value.__context__ is None

    warned = parse_roster(roster_text(bot("ayse", AYSE)), "bots.yaml", {}, None)
    assert all(AYSE not in str(warning) for warning in warned.warnings)


def test_roster_error_prints_one_problem_per_line() -> None:
    error = RosterError([Problem("bots[0].token", "is required"), Problem("chats", "should be a list")])
    assert str(error) == "bots[0].token: is required\nchats: should be a list"


def test_redact_replaces_known_tokens_and_anything_token_shaped() -> None:
    text = f"a {AYSE} b {MEHMET} c short-secret-value d 123:not-a-token"
    assert redact(text, ["short-secret-value", ""]) == "a <token> b <token> c <token> d 123:not-a-token"


# --- roster.py details -------------------------------------------------------------------


def test_hour_ranges_end_at_24_00_and_cover_the_whole_day() -> None:
    whole_day = HourRange.parse("00:00-24:00")
    assert whole_day.contains(HourRange.parse("23:59-00:00").start)
    with pytest.raises(ValueError, match="not a time of day"):
        HourRange.parse("24:30-01:00")
    night = HourRange.parse("22:00-02:00")
    assert night.contains(HourRange.parse("01:00-02:00").start) and not night.contains(whole_day.start.replace(hour=12))


def test_bot_and_chat_models_stay_importable_for_other_modules() -> None:
    assert BotConfig.model_fields["token"].repr is False
    assert ChatConfig(id=CHAT).is_supergroup
    assert isinstance(parse_roster(MINIMAL, "x", ENV, None), LoadedRoster)
