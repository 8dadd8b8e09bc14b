"""Token encryption with PIYASA_SECRET_KEY: Fernet keys, newest first, rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from piyasa_bot.crypto import SecretKeyError, TokenCipher, generate_key

TOKEN = "7000000001:AAH-example_secret_part_0123456789abcd"


def cipher(setting: str) -> TokenCipher:
    result = TokenCipher.from_setting(setting)
    assert result is not None
    return result


def test_generate_key_gives_a_usable_fernet_key_each_time() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    Fernet(first)  # raises if malformed
    assert cipher(first).key_count == 1


@pytest.mark.parametrize("setting", [None, "", "   "])
def test_an_unset_or_empty_setting_means_no_cipher(setting: str | None) -> None:
    assert TokenCipher.from_setting(setting) is None


def test_encrypt_returns_an_enc_value_that_decrypts_back() -> None:
    tokens = cipher(generate_key())
    value = tokens.encrypt(TOKEN)
    assert value.startswith("enc:") and TOKEN not in value
    assert tokens.decrypt(value) == TOKEN


def test_decrypt_accepts_a_bare_fernet_token_and_surrounding_spaces() -> None:
    tokens = cipher(generate_key())
    value = tokens.encrypt(TOKEN)
    assert tokens.decrypt(value.removeprefix("enc:")) == TOKEN
    assert tokens.decrypt(f"  {value}\n") == TOKEN


def test_is_encrypted_recognises_the_enc_prefix_only() -> None:
    assert TokenCipher.is_encrypted("enc:gAAAAA")
    assert not TokenCipher.is_encrypted("${AYSE_TOKEN}")
    assert not TokenCipher.is_encrypted(TOKEN)


def test_a_malformed_key_is_named_by_its_position_without_showing_it() -> None:
    good, bad = generate_key(), "not-a-fernet-key-but-secret-text"
    with pytest.raises(SecretKeyError) as caught:
        TokenCipher.from_setting(f"{good},{bad},{generate_key()}")
    message = str(caught.value)
    assert message == "PIYASA_SECRET_KEY: key 2 of 3 is not a valid Fernet key (32 url-safe base64 bytes)"
    assert bad not in message and good not in message
    # The underlying cryptography error is not chained onto ours (tracebacks would print it).
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_key_of_the_wrong_length_is_malformed_too() -> None:
    short = generate_key()[:40]
    with pytest.raises(SecretKeyError, match="key 1 of 1 is not a valid Fernet key"):
        TokenCipher.from_setting(short)


def test_an_empty_slot_between_commas_is_reported() -> None:
    with pytest.raises(SecretKeyError, match="key 2 of 3 is empty"):
        TokenCipher.from_setting(f"{generate_key()},,{generate_key()}")


def test_spaces_around_commas_are_forgiven() -> None:
    new, old = generate_key(), generate_key()
    value = cipher(old).encrypt(TOKEN)
    assert cipher(f" {new} , {old} ").decrypt(value) == TOKEN


def test_a_wrong_key_cannot_decrypt_and_the_message_hides_token_and_key() -> None:
    right, wrong = generate_key(), generate_key()
    value = cipher(right).encrypt(TOKEN)
    with pytest.raises(SecretKeyError) as caught:
        cipher(wrong).decrypt(value)
    message = str(caught.value)
    assert message == "cannot be decrypted with any key in PIYASA_SECRET_KEY"
    assert TOKEN not in message and wrong not in message and right not in message
    assert caught.value.__suppress_context__


def test_a_damaged_value_cannot_be_decrypted() -> None:
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        cipher(generate_key()).decrypt("enc:this-is-not-fernet")


def test_old_tokens_decrypt_while_both_keys_are_listed_and_rotate_moves_them_to_the_new_key() -> None:
    old, new = generate_key(), generate_key()
    stored = cipher(old).encrypt(TOKEN)
    both = cipher(f"{new},{old}")
    assert both.decrypt(stored) == TOKEN
    with pytest.raises(SecretKeyError):
        cipher(new).decrypt(stored)

    rotated = both.rotate(stored)
    assert rotated.startswith("enc:") and rotated != stored
    assert cipher(new).decrypt(rotated) == TOKEN  # the old key can now be dropped
    with pytest.raises(SecretKeyError):
        cipher(old).decrypt(rotated)


def test_rotate_keeps_a_bare_value_bare() -> None:
    old, new = generate_key(), generate_key()
    bare = cipher(old).encrypt(TOKEN).removeprefix("enc:")
    rotated = cipher(f"{new},{old}").rotate(bare)
    assert not rotated.startswith("enc:")
    assert cipher(new).decrypt(rotated) == TOKEN


def test_rotate_refuses_a_value_no_key_can_read() -> None:
    value = cipher(generate_key()).encrypt(TOKEN)
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        cipher(generate_key()).rotate(value)


def test_encrypt_uses_the_newest_key() -> None:
    new, old = generate_key(), generate_key()
    value = cipher(f"{new},{old}").encrypt(TOKEN)
    assert cipher(new).decrypt(value) == TOKEN
    with pytest.raises(SecretKeyError):
        cipher(old).decrypt(value)


def test_repr_never_shows_the_keys() -> None:
    key = generate_key()
    assert key not in repr(cipher(key))
    assert repr(cipher(f"{key},{generate_key()}")) == "TokenCipher(keys=2)"
