"""SecretBox: the first key encrypts, every key decrypts, plain text from before is read as
it is, and no message ever holds a secret or a key."""

from __future__ import annotations

import pytest

from storage.secrets import (
    PREFIX,
    SecretBox,
    SecretKeyMissing,
    UndecryptableSecret,
    new_key,
    parse_keys,
)

SECRET = "the-app-secret-人道"


def test_a_value_round_trips_and_is_not_stored_in_clear() -> None:
    box = SecretBox([new_key()])
    stored = box.encrypt(SECRET)
    assert stored.startswith(PREFIX) and SECRET not in stored
    assert box.decrypt(stored) == SECRET
    assert box.encrypt(SECRET) != stored  # a fresh IV each time


def test_plain_text_left_from_before_is_read_as_it_is_even_without_a_key() -> None:
    assert SecretBox().decrypt("plain-old-token") == "plain-old-token"
    assert SecretBox([new_key()]).decrypt("plain-old-token") == "plain-old-token"


def test_rotation_the_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = new_key(), new_key()
    stored = SecretBox([old]).encrypt(SECRET)
    both = SecretBox(parse_keys(f" {new} , {old} ,"))
    assert both.decrypt(stored) == SECRET
    rotated = both.rotate(stored)
    assert SecretBox([new]).decrypt(rotated) == SECRET
    with pytest.raises(UndecryptableSecret):
        SecretBox([old]).decrypt(rotated)
    assert SecretBox([new]).decrypt(both.rotate("plain-left-over")) == "plain-left-over"


def test_failures_name_no_secret_and_no_key() -> None:
    key, wrong = new_key(), new_key()
    stored = SecretBox([key]).encrypt(SECRET)
    with pytest.raises(UndecryptableSecret) as undecryptable:
        SecretBox([wrong]).decrypt(stored)
    with pytest.raises(SecretKeyMissing) as missing:
        SecretBox().encrypt(SECRET)
    assert "huifang secrets new-key" in str(missing.value)
    with pytest.raises(SecretKeyMissing):
        SecretBox().decrypt(stored)
    with pytest.raises(ValueError) as bad_key:
        SecretBox(["not-a-fernet-key-but-secret"])
    for message in (str(undecryptable.value), str(missing.value), str(bad_key.value)):
        for secret in (SECRET, key, wrong, "not-a-fernet-key-but-secret"):
            assert secret not in message
    assert key not in repr(SecretBox([key]))
