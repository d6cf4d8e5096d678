"""PDF stream filters decoded lazily, a piece at a time, so that a caller can stop at a budget.

qpdf (and every PDF library) decodes a stream whole: a content stream of a few KB that expands to
gigabytes is expanded before anyone can count it. Flate is the usual suspect, but not the only
one: LZW expands a repeated pattern a thousand times and more, RunLength 64 times, ASCII85 four
times (``z``), and filters chain (``[/ASCII85Decode /FlateDecode]``). Each decoder here is a
generator over the pieces of the layer below and yields pieces of at most :data:`PIECE` bytes;
the consumer stops pulling when its budget is spent, and nothing above it is decoded further.
A damaged stream ends where the damage starts, as the renderers read it.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Iterable, Iterator

import numpy as np

PIECE = 2**20
WHITESPACE = b" \t\r\n\f\x00"

Decoder = Callable[[Iterable[bytes], dict[str, object]], Iterator[bytes]]


class UnknownFilter(ValueError):
    """A filter this module does not decode (an image codec, encryption): the caller decides."""


def split(raw: bytes, size: int = PIECE) -> Iterator[bytes]:
    """The stored bytes in pieces, so that the first layer, too, works a piece at a time."""
    view = memoryview(raw)
    for start in range(0, len(raw), size):
        yield bytes(view[start:start + size])


def decode(raw: bytes, filters: list[str], parms: list[dict[str, object]]) -> Iterator[bytes]:
    """``raw`` through ``filters`` in order (as ``/Filter`` lists them), lazily; raises
    :class:`UnknownFilter` before decoding anything when one is not handled here."""
    decoders = []
    for name in filters:
        decoder = DECODERS.get(name)
        if decoder is None:
            raise UnknownFilter(name)
        decoders.append(decoder)
    pieces: Iterable[bytes] = split(raw)
    for decoder, parm in zip(decoders, parms + [{}] * (len(decoders) - len(parms)), strict=False):
        pieces = decoder(pieces, parm)
    return iter(pieces)


def flate(pieces: Iterable[bytes], _parm: dict[str, object]) -> Iterator[bytes]:
    inflater = zlib.decompressobj()
    for data in pieces:
        while data:
            try:
                out = inflater.decompress(data, PIECE)
            except zlib.error:
                return
            data = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                return


def ascii_hex(pieces: Iterable[bytes], _parm: dict[str, object]) -> Iterator[bytes]:
    odd = b""
    for data in pieces:
        data = data.translate(None, WHITESPACE)
        end = data.find(b">")
        if end >= 0:
            data = data[:end]
        data = odd + data
        odd = data[-1:] if len(data) % 2 else b""
        try:
            out = binascii.unhexlify(data[: len(data) - len(odd)])
        except binascii.Error:
            return
        if out:
            yield out
        if end >= 0:
            break
    if odd:
        try:
            yield binascii.unhexlify(odd + b"0")  # a last odd digit is followed by 0 (PDF 7.4.2)
        except binascii.Error:
            return


def ascii85(pieces: Iterable[bytes], _parm: dict[str, object]) -> Iterator[bytes]:
    rest = b""
    first = True
    for data in pieces:
        data = data.translate(None, WHITESPACE)
        if first and data.startswith(b"<~"):
            data = data[2:]
        first = False
        end = data.find(b"~")
        if end >= 0:
            data = data[:end]
        # ``z`` stands for a group of four zero bytes and only between groups: spelt out, the
        # groups stay five characters each and a piece can be cut between them.
        data = rest + data.replace(b"z", b"!!!!!")
        whole = len(data) - len(data) % 5 if end < 0 else len(data)
        rest = data[whole:]
        for start in range(0, whole - whole % 5, PIECE):
            out = _a85_groups(data[start:min(whole - whole % 5, start + PIECE)])
            if out is None:
                return
            if out:
                yield out
        if whole % 5:  # the last, short group
            try:
                yield base64.a85decode(data[whole - whole % 5:whole])
            except ValueError:
                return
        if end >= 0:
            return
    if rest:
        try:
            yield base64.a85decode(rest)
        except ValueError:
            return


_A85_POWERS = np.array([85**4, 85**3, 85**2, 85, 1], dtype=np.uint64)


def _a85_groups(text: bytes) -> bytes | None:
    """Whole groups of five ASCII85 digits, decoded with numpy (``base64.a85decode`` is a Python
    loop: 1.4 s for 12 MB); None when a digit or a group is out of range."""
    digits = np.frombuffer(text, np.uint8).reshape(-1, 5).astype(np.int64) - 33
    if digits.size and (digits.min() < 0 or digits.max() > 84):
        return None
    values = digits.astype(np.uint64) @ _A85_POWERS
    if values.size and int(values.max()) > 0xFFFFFFFF:
        return None
    return values.astype(">u4").tobytes()


def run_length(pieces: Iterable[bytes], _parm: dict[str, object]) -> Iterator[bytes]:
    out = bytearray()
    pending = b""
    for data in pieces:
        data = pending + data
        i, n = 0, len(data)
        while i < n:
            length = data[i]
            if length == 128:  # end of data
                if out:
                    yield bytes(out)
                return
            if length < 128:
                if i + 1 + length + 1 > n:
                    break
                out += data[i + 1:i + 2 + length]
                i += length + 2
            else:
                if i + 1 >= n:
                    break
                out += data[i + 1:i + 2] * (257 - length)
                i += 2
            if len(out) >= PIECE:
                yield bytes(out)
                out.clear()
        pending = data[i:]
    if out:
        yield bytes(out)


def lzw(pieces: Iterable[bytes], parm: dict[str, object]) -> Iterator[bytes]:
    """LZW as PDF uses it (TIFF's bit order, 9 to 12 bit codes, ``EarlyChange`` 1 by default)."""
    early = 1 if parm.get("/EarlyChange", 1) not in (0, "0") else 0
    clear, eod = 256, 257
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    width = 9
    previous: bytes | None = None
    out = bytearray()
    bits = 0
    count = 0
    for data in pieces:
        for byte in data:
            bits = (bits << 8) | byte
            count += 8
            while count >= width:
                count -= width
                code = (bits >> count) & ((1 << width) - 1)
                bits &= (1 << count) - 1
                if code == clear:
                    del table[258:]
                    width, previous = 9, None
                    continue
                if code == eod:
                    if out:
                        yield bytes(out)
                    return
                if code < len(table) and code not in (clear, eod):
                    entry = table[code]
                    if previous is not None and len(table) < 4096:
                        table.append(previous + entry[:1])
                elif code == len(table) and previous is not None and len(table) < 4096:
                    entry = previous + previous[:1]
                    table.append(entry)
                else:  # a code not yet defined: damaged
                    if out:
                        yield bytes(out)
                    return
                out += entry
                previous = entry
                size = len(table) + early
                width = 9 if size < 512 else 10 if size < 1024 else 11 if size < 2048 else 12
                if len(out) >= PIECE:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


DECODERS: dict[str, Decoder] = {
    "/FlateDecode": flate,
    "/Fl": flate,
    "/LZWDecode": lzw,
    "/LZW": lzw,
    "/ASCIIHexDecode": ascii_hex,
    "/AHx": ascii_hex,
    "/ASCII85Decode": ascii85,
    "/A85": ascii85,
    "/RunLengthDecode": run_length,
    "/RL": run_length,
}
