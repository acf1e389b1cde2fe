"""Secrets never leave through log records: known values and token-looking patterns are masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from crosspost.core.secrets import (
    REDACTOR,
    install_log_redaction,
    redact,
    register_secret,
    uninstall_log_redaction,
)

UPLOAD_URL = "https://open-upload.tiktokapis.com/upload?upload_id=7497888937493822177&upload_token=4534354-c51c-b4ef"


def test_redact_masks_tokens_in_query_strings_form_bodies_json_and_headers() -> None:
    text = (
        f"PUT {UPLOAD_URL} "
        "body=client_key=k&client_secret=s3cr3t-value&code_verifier=abcdef "
        '{"access_token": "act.AAA", "refresh_token":"rft.BBB"} '
        "Authorization: Bearer act.CCC"
    )
    out = redact(text)
    for secret in ("4534354-c51c-b4ef", "s3cr3t-value", "abcdef", "act.AAA", "rft.BBB", "act.CCC"):
        assert secret not in out
    assert "upload_id=7497888937493822177" in out  # non-secret context survives
    assert "client_key=k" in out


def test_redact_masks_bare_tiktok_token_prefixes_and_known_values() -> None:
    out = redact("token act.abc123 and rft.xyz-9 and my-client-secret-value", ["my-client-secret-value"])
    assert out == "token act.*** and rft.*** and ***"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    uninstall_log_redaction()
    assert logging.getLogRecordFactory() is factory


@pytest.fixture
def crosspost_records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    install_log_redaction()
    caplog.set_level(logging.DEBUG, logger="crosspost")
    return caplog


def test_filter_masks_args_of_a_child_logger_record(crosspost_records: pytest.LogCaptureFixture) -> None:
    logging.getLogger("crosspost.plugins.tiktok.upload").info("PUT %s", UPLOAD_URL)
    assert "4534354-c51c-b4ef" not in crosspost_records.text
    assert "upload_token=***" in crosspost_records.text


def test_filter_masks_registered_secrets_in_messages_and_tracebacks(
    crosspost_records: pytest.LogCaptureFixture,
) -> None:
    register_secret("s3cret-client-value-42")
    try:
        raise RuntimeError("server said s3cret-client-value-42 is wrong")
    except RuntimeError:
        logging.getLogger("crosspost.core").exception("refresh failed with %s", "s3cret-client-value-42")
    record = crosspost_records.records[-1]
    formatted = logging.Formatter().format(record)
    assert "s3cret-client-value-42" not in formatted
    assert "RuntimeError" in formatted


def test_install_is_idempotent_and_attaches_to_the_crosspost_logger() -> None:
    install_log_redaction()
    install_log_redaction()
    assert logging.getLogger("crosspost").filters.count(REDACTOR) == 1


def test_records_of_other_loggers_are_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    caplog.set_level(logging.INFO, logger="someapp")
    logging.getLogger("someapp").info("value %s", "access_token=kept")
    assert caplog.records[-1].args == ("access_token=kept",)


def test_short_values_are_not_registered_to_avoid_garbling_text() -> None:
    REDACTOR.add("ab")
    assert REDACTOR.redact("about ab") == "about ab"
