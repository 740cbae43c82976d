from __future__ import annotations

import inspect

import pytest

from reclaim import errors
from reclaim.errors import FileTooLarge, InputError, MediaError, ReclaimError, UsageError


def _error_classes() -> list[type[ReclaimError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, ReclaimError)
    ]


def test_every_error_has_a_unique_code_and_a_client_or_server_status() -> None:
    classes = _error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), codes
    for cls in classes:
        assert 400 <= cls.http_status < 600, cls


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    assert errors.__doc__ is not None
    for cls in _error_classes():
        assert cls.__name__ in errors.__doc__, cls.__name__


def test_media_errors_name_the_file_and_the_reason() -> None:
    error = FileTooLarge("/data/x.jpg", "file has 9 bytes, more than the limit of 8")
    assert isinstance(error, MediaError) and isinstance(error, InputError)
    assert error.to_dict() == {
        "code": "file_too_large",
        "message": "/data/x.jpg: file has 9 bytes, more than the limit of 8",
    }
    assert error.http_status == 413


def test_usage_errors_are_reclaim_errors() -> None:
    with pytest.raises(ReclaimError, match="nope"):
        raise UsageError("nope")
