"""Bytes in the JSON files wireproof reads and writes, losslessly.

A bytes value is written either as a JSON string, meaning its UTF-8
encoding (what a hand-written session of a text protocol wants), or as
``{"base64": "..."}`` for any bytes at all.  :func:`to_json` picks the string
form whenever the bytes are valid UTF-8, so a recording stays readable where
the protocol is text and exact everywhere.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any


class FormatError(ValueError):
    """A value that is not bytes in either form; the message names where."""


def to_json(data: bytes) -> str | dict[str, str]:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def from_json(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FormatError(f"{where}: not encodable as UTF-8 ({exc.reason})") from None
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except binascii.Error as exc:
            raise FormatError(f"{where}: not base64 ({exc})") from None
    raise FormatError(f"{where}: bytes are a string or {{\"base64\": \"...\"}}, not {value!r:.60}")
