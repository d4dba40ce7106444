"""Cable label sheets with QR codes: one layout, drawn as SVG (web page, `--format svg`)
or PDF (`--format pdf`).

Every size is in millimetres. A sheet is A4 with 3 x 7 labels of 63.5 x 38.1 mm (the
common L7160 layout); each cable gets two labels, one for each end, and each shows the
label, its own end first, the far end, and the cable's colour, length and type. The QR
code holds the cable page's URL (`settings.web.base_url` + `/c/<label>`), so a phone
opens the page of the cable in hand.

Text is set in a monospace face (Courier in the PDF, whose every glyph is 0.6 em wide),
so widths are known without font metrics: a line too long for its box is narrowed (down
to 55 %), then cut with an ellipsis.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from opskit.inventory import LabelRow

PAGE_W, PAGE_H = 210.0, 297.0
COLS, ROWS = 3, 7
LABEL_W, LABEL_H = 63.5, 38.1
MARGIN_LEFT, MARGIN_TOP = 7.2, 15.15
PITCH_X, PITCH_Y = 66.0, 38.1
QR_SIZE = 27.0  # the code with its quiet zone
PAD = 2.0
CHAR_EM = 0.6  # advance of one monospace glyph, in em
MIN_STRETCH = 0.55
FONT_FAMILY = "DejaVu Sans Mono, Liberation Mono, Courier New, monospace"


@dataclass(frozen=True, slots=True)
class Rect:
    """A filled rectangle (top-left corner, size), mm."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text at a baseline; `stretch` < 1 narrows it to fit its box."""

    x: float
    y: float
    size: float
    text: str
    bold: bool = False
    stretch: float = 1.0

    @property
    def width(self) -> float:
        """Advance width of the line, mm."""
        return len(self.text) * CHAR_EM * self.size * self.stretch


@dataclass(frozen=True, slots=True)
class Label:
    """One label on a sheet: its box, what is drawn on it and where its QR code points."""

    x: float
    y: float
    url: str
    cable: str
    modules: tuple[Rect, ...]
    texts: tuple[Text, ...]


def cable_url(base_url: str, label: str) -> str:
    """The cable page of a label: `base_url` + `/c/` + the label, percent-encoded.

    >>> cable_url("https://ops.example.net/", "A-017")
    'https://ops.example.net/c/A-017'
    >>> cable_url("http://127.0.0.1:8080", "B 1/2")
    'http://127.0.0.1:8080/c/B%201%2F2'
    """
    return base_url.rstrip("/") + "/c/" + quote(label, safe="")


def fit_text(x: float, y: float, size: float, text: str, width: float, bold: bool = False) -> Text:
    """A line that fits `width` mm: narrowed as needed, cut with an ellipsis past that.

    >>> fit_text(0, 0, 3, "sw1 Gi1/0/1", 30).stretch
    1.0
    >>> t = fit_text(0, 0, 3, "x" * 40, 30); (t.text[-1], t.width <= 30)
    ('…', True)
    """
    natural = len(text) * CHAR_EM * size
    if natural <= width:
        return Text(x, y, size, text, bold)
    stretch = width / natural
    if stretch < MIN_STRETCH:
        keep = max(1, int(width / (CHAR_EM * size * MIN_STRETCH)) - 1)
        text = text[:keep] + "…"
        stretch = min(1.0, width / (len(text) * CHAR_EM * size))
    return Text(x, y, size, text, bold, math.floor(stretch * 10_000) / 10_000)  # never wider


def qr_modules(url: str, x: float, y: float, size: float) -> tuple[Rect, ...]:
    """The dark modules of the URL's QR code, one rectangle per run in a row, in a
    `size` mm square at (x, y) that includes a quiet zone of 2 modules."""
    import segno

    code = segno.make_qr(url, error="m")
    rows = [list(r) for r in code.matrix_iter(scale=1, border=0)]
    unit = size / (len(rows) + 4)
    out: list[Rect] = []
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            out.append(Rect(x + (start + 2) * unit, y + (r + 2) * unit, (c - start) * unit, unit))
    return tuple(out)


def _details(row: LabelRow) -> str:
    c = row.cable
    bits = [c.color or "", f"{c.length_m:g} m" if c.length_m is not None else "", c.type or ""]
    return " ".join(b for b in bits if b)


def layout_label(row: LabelRow, here: str, far: str, x: float, y: float, url: str) -> Label:
    """One end's label of a cable at (x, y)."""
    text_x = x + PAD + QR_SIZE + 1.5
    width = x + LABEL_W - PAD - text_x
    lines = [
        fit_text(text_x, y + 9.0, 5.0, row.cable.label, width, bold=True),
        fit_text(text_x, y + 16.5, 3.2, here, width, bold=True),
        fit_text(text_x, y + 21.5, 3.2, f"to {far}", width),
    ]
    details = _details(row)
    if details:
        lines.append(fit_text(text_x, y + 27.5, 2.6, details, width))
    qr_y = y + (LABEL_H - QR_SIZE) / 2
    return Label(x, y, url, row.cable.label, qr_modules(url, x + PAD, qr_y, QR_SIZE), tuple(lines))


def layout_sheets(rows: Sequence[LabelRow], base_url: str) -> list[list[Label]]:
    """Pages of labels: two per cable (its A end's, then its B end's), 21 a page."""
    labels: list[tuple[LabelRow, str, str]] = []
    for row in rows:
        labels.append((row, row.a, row.b))
        labels.append((row, row.b, row.a))
    per_page = COLS * ROWS
    pages: list[list[Label]] = []
    for start in range(0, len(labels), per_page):
        page = []
        for i, (row, here, far) in enumerate(labels[start : start + per_page]):
            x = MARGIN_LEFT + (i % COLS) * PITCH_X
            y = MARGIN_TOP + (i // COLS) * PITCH_Y
            page.append(layout_label(row, here, far, x, y, cable_url(base_url, row.cable.label)))
        pages.append(page)
    return pages


# -- SVG -------------------------------------------------------------------------------
def _n(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _svg_label(label: Label, link: str | None) -> str:
    esc = html.escape
    parts = [
        f'<rect x="{_n(label.x)}" y="{_n(label.y)}" width="{_n(LABEL_W)}" '
        f'height="{_n(LABEL_H)}" rx="2" fill="#fff" stroke="#bbb" stroke-width="0.2"/>',
        '<path fill="#000" d="'
        + "".join(f"M{_n(m.x)} {_n(m.y)}h{_n(m.w)}v{_n(m.h)}h-{_n(m.w)}z" for m in label.modules)
        + '"/>',
    ]
    for t in label.texts:
        fit = (
            f' textLength="{_n(t.width)}" lengthAdjust="spacingAndGlyphs"' if t.stretch < 1 else ""
        )
        weight = ' font-weight="bold"' if t.bold else ""
        parts.append(
            f'<text x="{_n(t.x)}" y="{_n(t.y)}" font-size="{_n(t.size)}"{weight}{fit}>'
            f"{esc(t.text)}</text>"
        )
    body = "".join(parts)
    if link is None:
        return f"<g>{body}</g>"
    return f'<a href="{esc(link)}">{body}</a>'


def render_svg_page(
    page: Sequence[Label], *, link_base: str | None = None, standalone: bool = True
) -> str:
    """One A4 sheet as SVG (sized in mm). With `link_base`, each label links to its cable
    page there (the web page's sheet); `standalone` adds the XML namespace for a file."""
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    labels = "".join(
        _svg_label(lb, None if link_base is None else cable_url(link_base, lb.cable)) for lb in page
    )
    return (
        f'<svg{ns} width="{_n(PAGE_W)}mm" height="{_n(PAGE_H)}mm" '
        f'viewBox="0 0 {_n(PAGE_W)} {_n(PAGE_H)}" font-family="{FONT_FAMILY}" '
        f'role="img" aria-label="cable labels">{labels}</svg>'
    )


def render_svg(pages: Sequence[Sequence[Label]]) -> str:
    """Every sheet in one SVG file, one below the other (a label printer's layout)."""
    height = PAGE_H * max(1, len(pages))
    inner = "".join(
        f'<g transform="translate(0 {_n(i * PAGE_H)})">'
        + "".join(_svg_label(lb, None) for lb in page)
        + "</g>"
        for i, page in enumerate(pages)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(PAGE_W)}mm" '
        f'height="{_n(height)}mm" viewBox="0 0 {_n(PAGE_W)} {_n(height)}" '
        f'font-family="{FONT_FAMILY}">{inner}</svg>\n'
    )


# -- PDF -------------------------------------------------------------------------------
def render_pdf(pages: Sequence[Sequence[Label]]) -> bytes:
    """The sheets as a PDF (A4 pages; Courier, so text outside Windows-1252 shows as ?)."""
    from opskit.web.pdf import PdfPage, write_pdf

    out: list[PdfPage] = []
    for page in pages or [[]]:
        sheet = PdfPage(PAGE_W, PAGE_H)
        for lb in page:
            sheet.outline(lb.x, lb.y, LABEL_W, LABEL_H, grey=0.75)
            for m in lb.modules:
                sheet.fill(m.x, m.y, m.w, m.h)
            for t in lb.texts:
                sheet.text(t.x, t.y, t.size, t.text, bold=t.bold, stretch=t.stretch)
            sheet.link(lb.x, lb.y, LABEL_W, LABEL_H, lb.url)
        out.append(sheet)
    return write_pdf(out)
