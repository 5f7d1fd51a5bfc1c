"""Why a write was made, as a header, a form field or an option gives it."""

import pytest

from catalog.rules.reasons import ReasonError, checked_reason, reason_from_header


def test_a_header_carries_utf8_as_it_is():
    raw = "Pausé für Wartung".encode().decode("latin-1")  # what WSGI hands over
    assert reason_from_header(raw) == "Pausé für Wartung"


def test_a_header_may_percent_encode_utf8():
    assert reason_from_header("Paus%C3%A9%20f%C3%BCr%20Wartung") == "Pausé für Wartung"


def test_a_percent_sign_that_encodes_nothing_stays():
    assert reason_from_header("100% sure") == "100% sure"


def test_no_header_or_blank_text_is_no_reason():
    assert reason_from_header(None) is None
    assert checked_reason("   ") is None


def test_500_characters_are_kept_501_are_refused():
    assert checked_reason("x" * 500) == "x" * 500
    with pytest.raises(ReasonError) as refused:
        checked_reason("x" * 501)
    assert refused.value.code == "string_too_long"


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "%00"])
def test_control_characters_are_refused(text):
    with pytest.raises(ReasonError):
        reason_from_header(text)


def test_bytes_that_are_not_utf8_are_refused():
    with pytest.raises(ReasonError) as refused:
        reason_from_header("\xff\xfe")
    assert refused.value.code == "unicode_error"
    with pytest.raises(ReasonError):
        reason_from_header("%FF")
