"""Makes the two report templates, national.docx and province.docx, beside this file: the layout of a
Vietnamese administrative report (Nghị định 30/2020/NĐ-CP): A4, Times New Roman 13-14, the agency and the
national motto side by side, the number and the date, the title, the sections, "Nơi nhận" and the signature
block left for the signer, then the annex tables.

The templates are docxtpl templates (Jinja tags in the document), kept in git, and the data team edits them in
Word or LibreOffice: move a section, restyle the named styles ("ANTQ ..."), widen a column. This script only
made their first version; running it again (`.venv/bin/python reports/template/make_template.py`) overwrites
such edits. Words are not here but in reports/text/*.yaml: a template holds tags, never text of its own."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

HERE = Path(__file__).resolve().parent
FONT = "Times New Roman"

BODY, SECTION, GROUP, TITLE, CELL, NUMBER, HEAD, CAPTION, CENTRE = (
    "ANTQ Đoạn văn",
    "ANTQ Mục",
    "ANTQ Tiểu mục",
    "ANTQ Tiêu đề",
    "ANTQ Ô bảng",
    "ANTQ Ô số",
    "ANTQ Đầu bảng",
    "ANTQ Chú thích",
    "ANTQ Giữa",
)


def _fonts(element, size: float, bold: bool = False, italic: bool = False) -> None:
    font = element.font
    font.name, font.size, font.bold, font.italic = FONT, Pt(size), bold, italic
    fonts = element.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)


def _style(document, name: str, size: float, **options) -> None:
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    _fonts(style, size, options.get("bold", False), options.get("italic", False))
    layout = style.paragraph_format
    layout.alignment = options.get("align", WD_ALIGN_PARAGRAPH.JUSTIFY)
    layout.first_line_indent = options.get("indent")
    layout.space_before = Pt(options.get("before", 0))
    layout.space_after = Pt(options.get("after", 6))
    layout.line_spacing = options.get("spacing", 1.15)
    layout.keep_with_next = options.get("keep", False)


def _document():
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    _fonts(document.styles["Normal"], 14)
    _style(document, BODY, 14, indent=Cm(1))
    _style(document, SECTION, 14, bold=True, before=6, keep=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(document, GROUP, 14, bold=True, indent=Cm(1), keep=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(document, TITLE, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, spacing=1.0)
    _style(document, CELL, 13, after=0, spacing=1.0, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(document, NUMBER, 13, after=0, spacing=1.0, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _style(document, HEAD, 13, bold=True, after=0, spacing=1.0, align=WD_ALIGN_PARAGRAPH.CENTER)
    _style(document, CAPTION, 13, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    _style(document, CENTRE, 14, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, keep=True)
    return document


def _paragraph(container, text: str, style: str, size: float | None = None, **options):
    paragraph = container.add_paragraph(style=style)
    run = paragraph.add_run(text)  # one run: docxtpl reads a tag whole only within a run
    if size or options:
        run.font.size = Pt(size) if size else None
        run.font.bold = options.get("bold")
        run.font.italic = options.get("italic")
    if "align" in options:
        paragraph.paragraph_format.alignment = options["align"]
    return paragraph


def _tag(container, tag: str):
    """A paragraph holding only a docxtpl paragraph tag ({%p ... %}): removed when rendered."""
    return container.add_paragraph(tag, style=CELL)


def _rule(paragraph, left: float, right: float) -> None:
    """A short line under a paragraph (the header's rules under the agency and the motto)."""
    paragraph.paragraph_format.left_indent, paragraph.paragraph_format.right_indent = Cm(left), Cm(right)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for attribute, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(attribute), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _widths(table, widths: list[float]) -> None:
    """Fixed column widths (the grid Word and LibreOffice lay out by, and each cell's)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "nil")
        borders.append(edge)
    table._tbl.tblPr.append(borders)


def _first_paragraph(cell, text: str, style: str, **options):
    paragraph = cell.paragraphs[0]
    paragraph.style = cell.part.document.styles[style]
    run = paragraph.add_run(text)
    run.font.bold = options.get("bold")
    run.font.italic = options.get("italic")
    if options.get("size"):
        run.font.size = Pt(options["size"])
    return paragraph


def _header(document) -> None:
    """The agency (left) and the national motto (right), each with its rule; the number; the date."""
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [6.8, 9.7])
    left, right = table.rows[0].cells
    _first_paragraph(left, "{{ parent_agency }}", CENTRE, size=13)
    _paragraph(left, "{{ agency }}", CENTRE, 13, bold=True)
    _rule(_paragraph(left, "", CENTRE, 2), 2.2, 2.2)
    _paragraph(left, "", CENTRE, 13)
    _paragraph(left, "{{ number }}", CENTRE, 13)
    _first_paragraph(right, "{{ motto }}", CENTRE, size=12, bold=True)
    _paragraph(right, "{{ motto_subtitle }}", CENTRE, 14, bold=True)
    _rule(_paragraph(right, "", CENTRE, 2), 1.8, 1.8)
    _paragraph(right, "", CENTRE, 13)
    _paragraph(right, "{{ date_line }}", CENTRE, 14, italic=True)
    _paragraph(document, "", BODY)
    _paragraph(document, "{{ report }}", TITLE)
    _paragraph(document, "{{ title }}", TITLE)
    _rule(_paragraph(document, "", TITLE), 6.0, 6.0)
    _paragraph(document, "", BODY)


def _paragraphs(container, items: str, style: str = BODY) -> None:
    _tag(container, f"{{%p for text in {items} %}}")
    _paragraph(container, "{{ text }}", style)
    _tag(container, "{%p endfor %}")


def _table(
    document, caption: str, headers: list[str], cells: list[str], rows: str, widths: list[float], text_columns: int = 1
) -> None:
    """A caption, then a table: a header row, and one row per item of `rows` (docxtpl's {%tr %} rows); the
    columns after the first `text_columns` hold figures, aligned right."""
    _paragraph(document, "{{ " + caption + " }}", CAPTION).paragraph_format.keep_with_next = True
    table = document.add_table(rows=4, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head, loop, body, end = table.rows
    _widths(table, widths)
    for cell, text in zip(head.cells, headers, strict=True):
        _first_paragraph(cell, "{{ " + text + " }}", HEAD)
    _first_paragraph(loop.cells[0], "{%tr for row in " + rows + " %}", CELL)
    for index, (cell, text) in enumerate(zip(body.cells, cells, strict=True)):
        _first_paragraph(cell, "{{ " + text + " }}", CELL if index < text_columns else NUMBER)
    _first_paragraph(end.cells[0], "{%tr endfor %}", CELL)
    # the header row repeats on every page the table runs over
    head._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    _paragraph(document, "", CELL)


def _charts(document, charts: str) -> None:
    _tag(document, f"{{%p for chart in {charts} %}}")
    _paragraph(document, "{{ chart.image }}", CENTRE)
    _paragraph(document, "{{ chart.caption }}", CAPTION)
    _tag(document, "{%p endfor %}")


def _results(document) -> None:
    _paragraph(document, "{{ results.heading }}", SECTION)
    _tag(document, "{%p for group in results.groups %}")
    _paragraph(document, "{{ group.heading }}", GROUP)
    _paragraphs(document, "group.paragraphs")
    _tag(document, "{%p endfor %}")
    _charts(document, "results.charts")


def _signature(document) -> None:
    """ "Nơi nhận" (left) and the signer's title with room to sign (right)."""
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, [8.0, 8.5])
    left, right = table.rows[0].cells
    _first_paragraph(left, "{{ recipients_title }}", CELL, size=12, bold=True, italic=True)
    _tag(left, "{%p for recipient in recipients %}")
    _paragraph(left, "{{ recipient }}", CELL, 11)
    _tag(left, "{%p endfor %}")
    _first_paragraph(right, "{{ signer_title }}", CENTRE, bold=True)
    for _ in range(4):
        _paragraph(right, "", CENTRE)


def _annex_start(document) -> None:
    document.add_paragraph(style=CELL).add_run().add_break(WD_BREAK.PAGE)
    _paragraph(document, "{{ annex.title }}", TITLE)
    _paragraph(document, "{{ annex.subtitle }}", TITLE)
    _paragraph(document, "{{ annex.note }}", CAPTION)


def _ranked(document, items: str) -> None:
    """Each indicator by province: rank, province, the period's figure, a year earlier, the change, a note."""
    _tag(document, f"{{%p for table in {items} %}}")
    _table(
        document,
        "table.caption",
        ["h.rank", "h.province", "h.value", "h.previous", "h.change", "h.note"],
        ["row.rank", "row.province", "row.value", "row.previous", "row.change", "row.note"],
        "table.rows",
        [1.6, 4.4, 2.8, 2.8, 2.4, 2.0],
        text_columns=2,
    )
    _tag(document, "{%p endfor %}")


def _replicated(document) -> None:
    _tag(document, "{%p if models.replicated %}")
    _table(
        document,
        "models.replicated_caption",
        ["h.rank", "h.model", "h.province", "h.replicas", "h.provinces_reached"],
        ["row.rank", "row.model", "row.province", "row.replicas", "row.provinces_reached"],
        "models.replicated",
        [1.6, 5.8, 3.6, 2.5, 2.5],
        text_columns=3,
    )
    _tag(document, "{%p endif %}")


def national() -> Document:
    document = _document()
    _header(document)
    _paragraphs(document, "intro")
    _results(document)
    _paragraph(document, "{{ models.heading }}", SECTION)
    _paragraphs(document, "models.paragraphs")
    _replicated(document)
    _tag(document, "{%p if models.by_province %}")
    _table(
        document,
        "models.by_province_caption",
        ["h.province", "h.launched", "h.active", "h.note"],
        ["row.province", "row.launched", "row.active", "row.note"],
        "models.by_province",
        [6.0, 3.5, 3.5, 3.0],
    )
    _tag(document, "{%p endif %}")
    _paragraph(document, "{{ reporting.heading }}", SECTION)
    _paragraphs(document, "reporting.paragraphs")
    _paragraph(document, "", BODY)
    _signature(document)
    _annex_start(document)
    _ranked(document, "annex.tables")
    return document


def province() -> Document:
    document = _document()
    _header(document)
    _paragraphs(document, "intro")
    _results(document)
    _paragraph(document, "{{ models.heading }}", SECTION)
    _paragraphs(document, "models.paragraphs")
    _tag(document, "{%p if models.counts %}")
    _table(
        document,
        "models.counts_caption",
        ["h.model_type", "h.model_level", "h.models", "h.models_active", "h.models_closed", "h.replicas"],
        ["row.model_type", "row.model_level", "row.models", "row.models_active", "row.models_closed", "row.replicas"],
        "models.counts",
        [4.6, 2.6, 2.2, 2.4, 2.0, 2.4],
        text_columns=2,
    )
    _tag(document, "{%p endif %}")
    _replicated(document)
    _paragraph(document, "{{ communes.heading }}", SECTION)
    _paragraphs(document, "communes.paragraphs")
    _tag(document, "{%p if communes.rows %}")
    _table(
        document,
        "communes.caption",
        [
            "communes.headers[0]",
            "communes.headers[1]",
            "communes.headers[2]",
            "communes.headers[3]",
            "communes.headers[4]",
        ],
        ["row.cells[0]", "row.cells[1]", "row.cells[2]", "row.cells[3]", "row.cells[4]"],
        "communes.rows",
        [5.0, 2.75, 2.75, 2.75, 2.75],
    )
    _tag(document, "{%p endif %}")
    _paragraph(document, "{{ reporting.heading }}", SECTION)
    _paragraphs(document, "reporting.paragraphs")
    _paragraph(document, "", BODY)
    _signature(document)
    _annex_start(document)
    _table(
        document,
        "annex.caption",
        ["h.indicator", "h.own", "h.national", "h.rank", "h.previous", "h.change", "h.note"],
        ["row.indicator", "row.value", "row.national", "row.rank", "row.previous", "row.change", "row.note"],
        "annex.rows",
        [4.2, 2.1, 2.1, 1.6, 2.1, 2.1, 1.8],
    )
    return document


if __name__ == "__main__":
    for name, make in (("national", national), ("province", province)):
        make().save(HERE / f"{name}.docx")
        print(f"wrote {HERE / f'{name}.docx'}")
