"""Wire-level helpers of the fake Magento store: JSON the way PHP writes it, gzip, HTTP dates, poisoned blobs.

Nothing here knows about orders or routes; the store (``_magento_routes.py``) calls these to turn answers into
bytes. ``dumps`` / ``loads`` / ``http_date`` / ``truncate`` are the fake-store base's, re-exported.

* JSON: ``encode_json(value, php=False)`` renders compact UTF-8 JSON (the base's ``dumps``); with ``php=True``
  it renders what PHP's ``json_encode`` writes with its default flags, which is what Magento's REST renderer
  calls: every non-ASCII character as a ``\\uXXXX`` escape (UTF-16 surrogate pairs above U+FFFF) and ``/``
  as ``\\/`` (``JSON_UNESCAPED_SLASHES`` / ``JSON_UNESCAPED_UNICODE`` not set). ``php_escape`` converts
  already-rendered compact JSON, so a stored blob is escaped once, not re-encoded.
* gzip: ``deflate_segment`` compresses one piece of a body on its own (raw deflate ended by a sync flush);
  ``gzip_join`` concatenates such segments into one valid single-member gzip stream, compressing on the fly
  only the pieces that have no segment yet. Concatenating segments compressed separately is valid deflate:
  each ends byte-aligned on an empty stored block and never refers back past its own start. So a page of
  pre-compressed orders costs a join and a CRC, not a compression.
* ``poison`` plants the raw defects of ``add_malformed_order``.
"""

from __future__ import annotations

import gzip as _gzip
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

from ._base_http import dumps, http_date, loads, truncate

__all__ = [
    "DEFECTS",
    "GZIP_LEVEL",
    "GZIP_MIN_LENGTH",
    "POISON_DEFECTS",
    "accepts_gzip",
    "deflate_segment",
    "dumps",
    "encode_json",
    "gzip_join",
    "gzip_whole",
    "http_date",
    "loads",
    "loads_tolerant",
    "php_escape",
    "poison",
    "truncate",
]

# Magento's sample nginx configuration (nginx.conf.sample): gzip_comp_level 6, gzip_min_length 1100.
GZIP_LEVEL = 6
GZIP_MIN_LENGTH = 1100

# Defects planted in the stored payload (a dict) versus raw byte defects planted in its rendered JSON.
DEFECTS = ("bad_amount", "missing_items", "bad_date", "no_increment_id", "not_an_object")
POISON_DEFECTS = ("huge_exponent", "invalid_utf8", "deep_nesting")

# Non-ASCII characters, except the lone surrogates that stand for undecodable bytes (surrogateescape).
_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


def _u_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def php_escape(blob: bytes) -> bytes:
    """Compact UTF-8 JSON -> the same JSON as PHP's ``json_encode`` default flags write it.

    ``/`` can only occur inside strings in JSON text, so a byte replace is exact; non-ASCII characters (only
    ever inside strings too) become ``\\uXXXX``, lower-case hex like PHP.
    """
    blob = blob.replace(b"/", b"\\/")
    if blob.isascii():
        return blob
    text = blob.decode("utf-8", errors="surrogateescape")  # raw invalid bytes (a poison) pass through as is
    return _NON_ASCII.sub(_u_escape, text).encode("ascii", errors="surrogateescape")


def encode_json(value: Any, php: bool = False) -> bytes:
    """Compact JSON of ``value``; ``php=True``: as PHP's ``json_encode`` writes it (see the module notes)."""
    blob = dumps(value)
    return php_escape(blob) if php else blob


def loads_tolerant(data: bytes) -> Any:
    """Decode JSON a strict parser refuses when Python's json module can read it (e.g. ``1e1000000`` -> inf).

    Used only for the fake's own reads of stored blobs; callers keep a clean copy of poisoned orders, so this
    is a fallback, not the main path."""
    try:
        return loads(data)
    except ValueError:
        return json.loads(data.decode("utf-8", errors="replace"))


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip`` or ``*`` with a non-zero q-value)."""
    if not accept_encoding:
        return False
    allowed: dict[str, bool] = {}
    for entry in accept_encoding.split(","):
        coding, _, params = entry.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[coding] = quality > 0
    if "gzip" in allowed or "x-gzip" in allowed:
        return allowed.get("gzip", allowed.get("x-gzip", False))
    return allowed.get("*", False)


def deflate_segment(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """``data`` as raw deflate ending on a sync flush: a piece ``gzip_join`` can splice into any stream."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no flags, mtime 0, OS unknown
_FINAL_BLOCK = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)


def gzip_join(pieces: Sequence[tuple[bytes, bytes | None]], body: bytes, level: int = GZIP_LEVEL) -> bytes:
    """One gzip member holding ``body``, which is the concatenation of the pieces' raw bytes.

    Each piece is ``(raw, segment)``: ``segment`` is ``deflate_segment(raw)`` computed earlier, or ``None``
    (then runs of such pieces are compressed here, together)."""
    out = [_GZIP_HEADER]
    pending: list[bytes] = []
    for raw, segment in pieces:
        if segment is None:
            pending.append(raw)
            continue
        if pending:
            out.append(deflate_segment(b"".join(pending), level))
            pending = []
        out.append(segment)
    if pending:
        out.append(deflate_segment(b"".join(pending), level))
    out.append(_FINAL_BLOCK)
    out.append((zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "little"))
    out.append((len(body) & 0xFFFFFFFF).to_bytes(4, "little"))
    return b"".join(out)


def gzip_whole(body: bytes, level: int = GZIP_LEVEL) -> bytes:
    return _gzip.compress(body, compresslevel=level, mtime=0)


_GRAND_TOTAL = re.compile(rb'("grand_total":)-?[0-9][0-9.eE+-]*')


def poison(blob: bytes, defect: str, depth: int = 5000) -> bytes:
    """Plant a raw defect in one order's rendered JSON (the bytes a broken extension or database would send).

    ``huge_exponent``: ``"grand_total":1e1000000`` as a bare number (no IEEE double holds it);
    ``invalid_utf8``: the bytes ``FF FE`` inside the customer's first name (else e-mail) string;
    ``deep_nesting``: an extra field ``"x":[[[...]]]`` nested ``depth`` arrays deep, before the closing brace.
    """
    if defect == "huge_exponent":
        poisoned, count = _GRAND_TOTAL.subn(rb"\g<1>1e1000000", blob)
        if not count:
            poisoned = blob[:-1] + b',"grand_total":1e1000000}'
        return poisoned
    if defect == "invalid_utf8":
        for key in (b'"customer_firstname":"', b'"customer_email":"'):
            at = blob.find(key)
            if at >= 0:
                at += len(key)
                return blob[:at] + b"\xff\xfe" + blob[at:]
        return blob[:-1] + b',"customer_firstname":"\xff\xfe"}'
    if defect == "deep_nesting":
        return blob[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}"
    raise ValueError(f"unknown poison {defect!r}")
