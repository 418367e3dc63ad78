"""Reading a response body in chunks, decompressing it ourselves, with a cap on the result.

aiohttp's own decompression (auto_decompress) inflates each network chunk completely, so one
64 KB chunk of a brotli bomb can become gigabytes before any size check sees it. Here every
decoder is asked for at most "what is left of the cap, plus one byte", so memory stays bounded by
the cap whatever the compression ratio, and the overflow is noticed at the first byte past it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Protocol

import brotli

ACCEPT_ENCODING = "gzip, deflate, br"
CHUNK_SIZE = 64 * 1024  # raw bytes read from the socket per step


class DecodeError(Exception):
    """The body is not valid for its Content-Encoding (or the encoding is unknown)."""


class TooLarge(Exception):
    """The decoded body went past the cap."""


class _Decoder(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes:
        """Decoded output, at most `limit` bytes; exactly `limit` means more may be pending."""

    def finish(self) -> None:
        """Raise DecodeError if the stream ended in the middle of the compressed data."""


class _Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data[:limit]

    def finish(self) -> None:
        return None


class _Zlib:
    """gzip (possibly several members) or deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj: zlib._Decompress | None = zlib.decompressobj(31) if gzip else None

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._obj is None:
            if not data:
                return b""
            # RFC 9110 "deflate" is zlib-wrapped; a raw deflate stream has no valid zlib header.
            zlib_header = (
                len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            )
            self._obj = zlib.decompressobj(15 if zlib_header else -15)
        out = bytearray()
        try:
            while len(out) < limit:
                chunk = self._obj.decompress(data, limit - len(out))
                out += chunk
                data = self._obj.unconsumed_tail
                if self._obj.eof:
                    rest = self._obj.unused_data
                    if not (self._gzip and rest.startswith(b"\x1f\x8b")):
                        break  # trailing garbage after the stream is ignored, as browsers do
                    # A gzip body may be several concatenated members.
                    self._obj = zlib.decompressobj(31)
                    data = rest
                    continue
                if not data:
                    break
        except zlib.error as exc:
            raise DecodeError(str(exc)) from None
        return bytes(out)

    def finish(self) -> None:
        if self._obj is not None and not self._obj.eof:
            raise DecodeError("compressed stream ended early")


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        try:
            if data:
                if not self._obj.can_accept_more_data():
                    # Should not happen (we always drain), but never silently drop input.
                    raise DecodeError("brotli decoder refused input")
                out += self._obj.process(data, output_buffer_limit=max(limit, 1))
            while len(out) < limit and not self._obj.can_accept_more_data():
                out += self._obj.process(b"", output_buffer_limit=max(limit - len(out), 1))
        except brotli.error as exc:
            raise DecodeError(str(exc)) from None
        return bytes(out[:limit])

    def finish(self) -> None:
        if not self._obj.is_finished():
            raise DecodeError("compressed stream ended early")


def _decoder_for(coding: str) -> _Decoder:
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br":
        return _Brotli()
    raise DecodeError(f"unsupported Content-Encoding {coding!r}")


class _Chain:
    """Several codings, applied in order (RFC 9110: listed in the order they were applied)."""

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        if len(codings) > 3:
            raise DecodeError("too many stacked Content-Encodings")
        self._decoders = [_decoder_for(c) for c in reversed(codings)] or [_Identity()]

    def feed(self, data: bytes, limit: int) -> bytes:
        last = len(self._decoders) - 1
        for index, decoder in enumerate(self._decoders):
            data = decoder.feed(data, limit)
            if index < last and len(data) >= limit:
                # An intermediate layer as large as the cap may have input pending that the
                # next feed would lose; a result that large is over the cap in practice.
                raise TooLarge
        return data

    def finish(self) -> None:
        for decoder in self._decoders:
            decoder.finish()


async def read_capped(
    chunks: AsyncIterator[bytes],
    content_encoding: str | None,
    max_bytes: int,
    *,
    truncate: bool = False,
) -> bytes:
    """The decoded body from raw chunks, at most `max_bytes`.

    Raises TooLarge past the cap (or, with `truncate`, returns the first `max_bytes` bytes
    and stops reading), DecodeError for a broken or unknown encoding.
    """
    decoder = _Chain(content_encoding)
    # The pieces joined once at the end: a body is copied once (a plain one read in one
    # piece, not at all), where growing a buffer copied it twice.
    pieces: list[bytes] = []
    size = 0
    async for raw in chunks:
        room = max_bytes - size
        # Asking for one byte more than the room: a decoder that returns less has consumed all
        # its input, one that fills the request proves the body is over the cap.
        try:
            piece = decoder.feed(raw, room + 1)
        except TooLarge:
            if truncate:
                return b"".join(pieces)
            raise
        if len(piece) > room:
            if truncate:
                pieces.append(piece[:room])
                return b"".join(pieces)
            raise TooLarge
        pieces.append(piece)
        size += len(piece)
    if not truncate:
        decoder.finish()
    return b"".join(pieces)


__all__ = ["ACCEPT_ENCODING", "CHUNK_SIZE", "DecodeError", "TooLarge", "read_capped"]
