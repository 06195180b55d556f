"""A PDF listing: fixed-pitch lines of text on landscape A4 pages, each page headed by the
column headings and footed by the title and "page n of N". The ledger's reports are printed
with it.

Written here rather than with fpdf2 (which the REMS form uses) because a two-year ledger report
is hundreds of thousands of rows: fpdf2 spends about 13 µs on each text call, a page's text
here is one text object built with string joins, so such a report prints in seconds. It uses
the PDF core fonts (Courier, Courier-Bold; nothing embedded, nothing fetched) in their
WinAnsi encoding (anything outside it prints as "?")."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

PAGE_WIDTH_PT, PAGE_HEIGHT_PT = 841.89, 595.28  # A4 landscape
MARGIN_PT = 28.35  # 10 mm
FOOTER_PT = 7.0
COURIER_ADVANCE = 0.6  # every Courier character is 0.6 of the font size wide
TITLE_PT = 12.0


def chars_per_line(size_pt: float) -> int:
    """How many Courier characters of ``size_pt`` fit between the margins."""
    return int((PAGE_WIDTH_PT - 2 * MARGIN_PT) / (size_pt * COURIER_ADVANCE))


def _text(line: str) -> bytes:
    escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("cp1252", "replace")


def _texts(lines: list[str]) -> bytes:
    """Lines as string operands, each shown on the next line (``'``): escaped in one pass over
    the page's text rather than line by line."""
    if not lines:
        return b""
    text = "\n".join(lines).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + text.replace("\n", ") '\n(").encode("cp1252", "replace") + b") '"


@dataclass
class _Page:
    head: list[bytes]  # the title (first page), the headings and the rule
    lines: list[str] = field(default_factory=list)  # the rows' text, one line each


class Listing:
    """Add rows (each one or more lines kept together on a page), then ``output()``."""

    def __init__(
        self, title: str, intro: Sequence[str], headings: Sequence[str], size_pt: float
    ) -> None:
        self.title = title
        self.size_pt = size_pt
        self.leading_pt = size_pt * 1.25
        self.headings = list(headings)
        self.pages: list[_Page] = []
        self._top_pt = PAGE_HEIGHT_PT - MARGIN_PT
        self._bottom_pt = MARGIN_PT + FOOTER_PT + 4
        self._new_page(intro)

    def _new_page(self, intro: Sequence[str] = ()) -> None:
        head: list[bytes] = []
        y = self._top_pt - TITLE_PT
        if intro:
            head.append(
                b"BT /F2 %.2f Tf %.2f %.2f Td (%s) Tj ET"
                % (TITLE_PT, MARGIN_PT, y, _text(self.title))
            )
            y -= TITLE_PT * 0.6
            for line in intro:
                y -= self.leading_pt
                head.append(
                    b"BT /F1 %.2f Tf %.2f %.2f Td (%s) Tj ET"
                    % (self.size_pt, MARGIN_PT, y, _text(line))
                )
            y -= self.leading_pt
        else:
            y = self._top_pt
        # The headings in bold, a rule under them, then the rows' text object: one line each.
        head.append(b"BT /F2 %.2f Tf %.2f TL %.2f %.2f Td" % (
            self.size_pt, self.leading_pt, MARGIN_PT, y
        ))  # fmt: skip
        head.append(_texts(self.headings))
        y -= self.leading_pt * len(self.headings)
        rule_y = y - self.leading_pt * 0.35
        head.append(b"ET")
        head.append(
            b"0.4 w %.2f %.2f m %.2f %.2f l S"
            % (MARGIN_PT, rule_y, PAGE_WIDTH_PT - MARGIN_PT, rule_y)
        )
        top = rule_y - self.leading_pt * 0.2
        head.append(b"BT /F1 %.2f Tf %.2f TL %.2f %.2f Td" % (
            self.size_pt, self.leading_pt, MARGIN_PT, top
        ))  # fmt: skip
        self._lines_left = int((top - self._bottom_pt) / self.leading_pt)
        self.pages.append(_Page(head))

    def add(self, lines: Sequence[str]) -> None:
        """One row's lines, on this page when they fit, else on a new one."""
        if len(lines) > self._lines_left:
            self._new_page()
        self.pages[-1].lines.extend(lines)
        self._lines_left -= len(lines)

    def output(self) -> bytes:
        """The PDF: a catalog, the page tree, two fonts, then each page and its content."""
        total = len(self.pages)
        objects: list[bytes] = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"",  # the page tree, once the pages are numbered
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>",
            b"<< /Title (%s) /Creator (kapcare) >>" % _text(self.title),
        ]
        kids = []
        for number, page in enumerate(self.pages, start=1):
            footer = f"{self.title} - page {number} of {total}"
            footer_x = PAGE_WIDTH_PT - MARGIN_PT - len(footer) * FOOTER_PT * COURIER_ADVANCE
            footing = b"BT /F1 %.2f Tf %.2f %.2f Td (%s) Tj ET" % (
                FOOTER_PT, footer_x, MARGIN_PT, _text(footer)
            )  # fmt: skip
            # Level 1: a two-year report is tens of megabytes of text; the fastest level still
            # shrinks it about fivefold.
            content = zlib.compress(b"\n".join([*page.head, _texts(page.lines), b"ET", footing]), 1)
            objects.append(
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                % (len(content), content)
            )
            content_id = len(objects)
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
                b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>"
                % (PAGE_WIDTH_PT, PAGE_HEIGHT_PT, content_id)
            )
            kids.append(b"%d 0 R" % len(objects))
        objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), total)
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            xref,
        )
        return bytes(out)
