"""A small PDF writer for label sheets: filled and outlined rectangles, Courier text and
link areas, on pages sized in millimetres (PDF 1.4, one compressed stream a page).

Label sheets need nothing more, and the two standard Courier faces need no embedded font
(every PDF reader has them; every glyph is 0.6 em wide). Text is encoded as
Windows-1252 (`WinAnsiEncoding`); a character outside it prints as `?`.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

MM = 72 / 25.4  # PDF units (points) per millimetre


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def pdf_string(text: str) -> bytes:
    r"""A PDF literal string: `(`, `)` and `\` escaped, Windows-1252 encoded.

    >>> pdf_string("a(b)\\c")
    b'(a\\(b\\)\\\\c)'
    """
    raw = text.encode("cp1252", errors="replace")
    escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    escaped = escaped.replace(b"\r", b"\\r").replace(b"\n", b"\\n")
    return b"(" + escaped + b")"


class PdfPage:
    """One page; coordinates are millimetres from the top-left corner."""

    def __init__(self, width_mm: float, height_mm: float) -> None:
        self.width = width_mm
        self.height = height_mm
        self.ops: list[bytes] = []
        self.links: list[tuple[tuple[float, float, float, float], str]] = []

    def _box(self, x: float, y: float, w: float, h: float) -> str:
        return f"{_num(x * MM)} {_num((self.height - y - h) * MM)} {_num(w * MM)} {_num(h * MM)}"

    def fill(self, x: float, y: float, w: float, h: float) -> None:
        """A black rectangle."""
        self.ops.append(f"{self._box(x, y, w, h)} re f".encode())

    def outline(self, x: float, y: float, w: float, h: float, grey: float = 0.0) -> None:
        """A thin (0.2 mm) rectangle outline in a grey level (0 black, 1 white)."""
        self.ops.append(
            f"q {_num(grey)} G {_num(0.2 * MM)} w {self._box(x, y, w, h)} re S Q".encode()
        )

    def text(
        self, x: float, y: float, size: float, text: str, bold: bool = False, stretch: float = 1
    ) -> None:
        """A line of text with its baseline at `y`; `stretch` narrows the glyphs."""
        font = "/F2" if bold else "/F1"
        head = (
            f"BT {font} {_num(size * MM)} Tf {_num(stretch * 100)} Tz "
            f"{_num(x * MM)} {_num((self.height - y) * MM)} Td "
        )
        self.ops.append(head.encode() + pdf_string(text) + b" Tj ET")

    def link(self, x: float, y: float, w: float, h: float, url: str) -> None:
        """A clickable area opening `url`."""
        self.links.append(
            (((x) * MM, (self.height - y - h) * MM, (x + w) * MM, (self.height - y) * MM), url)
        )


def write_pdf(pages: Sequence[PdfPage]) -> bytes:
    """The pages as one PDF document."""
    objects: list[bytes] = [b"", b"", b"", b""]  # 1 catalog, 2 pages, 3-4 fonts
    objects[2] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
    objects[3] = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>"
    )
    kids: list[int] = []
    for page in pages:
        stream = zlib.compress(b"\n".join(page.ops))
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream"
        )
        content = len(objects)
        annots: list[int] = []
        for (x1, y1, x2, y2), url in page.links:
            objects.append(
                f"<< /Type /Annot /Subtype /Link /Rect [{_num(x1)} {_num(y1)} {_num(x2)} "
                f"{_num(y2)}] /Border [0 0 0] /A << /S /URI /URI ".encode()
                + pdf_string(url)
                + b" >> >>"
            )
            annots.append(len(objects))
        annot_refs = " ".join(f"{n} 0 R" for n in annots)
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_num(page.width * MM)} "
                f"{_num(page.height * MM)}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                f"/Contents {content} 0 R /Annots [{annot_refs}] >>"
            ).encode()
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    ).encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
