"""The identifier scanner reads what a reader or a tool could read: PDF text, image
metadata, HTML attributes and comments, Parquet metadata, codes broken into groups,
US-style dates, timestamps and base64. Every input is tiny and written by hand."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from sendlink.scan.scanner import Identifiers, Scanner, scan

CHILDREN = pd.DataFrame({
    "forename": ["Gavin", "Jack"], "middle_names": ["James", None], "surname": ["Edwards", "Smith"],
    "date_of_birth": ["2008-10-31", "2009-01-02"],
})
CODES = {"upn": ["A901001713019"], "survey_id": ["SF100559"], "postcode": ["QB10 4WZ"], "phone": ["07700 900050"]}


@pytest.fixture(scope="module")
def scanner():
    return Scanner(Identifiers.from_frames(children=[CHILDREN], codes=CODES))


def found(tmp_path, scanner):
    result = scan([tmp_path], scanner)
    return {(h.path.name, h.kind, h.value) for h in result.hits}, result


def b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode()


# --- hand-written files ------------------------------------------------------------


def pdf(lines: list[str], info: dict[str, str] | None = None, uri: str | None = None) -> bytes:
    """A one-page PDF written out object by object, with a correct cross-reference table."""
    text = " T* ".join(f"({line})Tj" for line in lines)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {text} ET".encode()
    annots = " /Annots [6 0 R]" if uri else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R{annots} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    if uri:
        objects.append(f"<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] /A << /S /URI /URI ({uri}) >> >>".encode())
    if info:
        entries = " ".join(f"/{k} ({v})" for k, v in info.items())
        objects.append(f"<< {entries} >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {len(objects)} 0 R" if info else "") + " >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png(**text: str) -> bytes:
    """A 2x2 PNG with text chunks (tEXt) before the pixels."""
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "white").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def png_with_chunk_after_pixels(chunk_type: bytes, payload: bytes) -> bytes:
    """A PNG whose text chunk comes after IDAT, where some readers never look."""
    data = png()
    end = data.rindex(b"IEND") - 4

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return data[:end] + chunk(chunk_type, payload) + data[end:]


# --- PDF ---------------------------------------------------------------------------


def test_pdf_page_text_is_read(tmp_path, scanner):
    (tmp_path / "summary.pdf").write_bytes(pdf(["Summary of results", "Pupil Gavin Edwards, survey SF100559"]))
    hits, _ = found(tmp_path, scanner)
    assert ("summary.pdf", "full name", "Gavin Edwards") in hits
    assert ("summary.pdf", "survey_id", "SF100559") in hits


def test_pdf_name_broken_across_lines_is_found(tmp_path, scanner):
    (tmp_path / "wrapped.pdf").write_bytes(pdf(["The pupil was Gavin", "Edwards, as the school wrote it."]))
    hits, _ = found(tmp_path, scanner)
    assert ("wrapped.pdf", "full name", "Gavin Edwards") in hits


def test_pdf_metadata_and_link_targets_are_read(tmp_path, scanner):
    (tmp_path / "meta.pdf").write_bytes(
        pdf(["Nothing here"], info={"Author": "Edwards, Gavin"}, uri="https://example.org/pupil?upn=A901001713019")
    )
    hits, _ = found(tmp_path, scanner)
    assert ("meta.pdf", "full name", "Edwards, Gavin") in hits
    assert ("meta.pdf", "upn", "A901001713019") in hits


def test_clean_pdf_passes(tmp_path, scanner):
    (tmp_path / "clean.pdf").write_bytes(pdf(["Precision 99.96%, recall 99.27%.", "Jack alone; Smith alone."]))
    hits, result = found(tmp_path, scanner)
    assert not hits, result.summary()
    assert [p.name for p in result.scanned] == ["clean.pdf"]


def test_broken_or_locked_pdf_fails_the_scan(tmp_path, scanner):
    from pypdf import PdfReader, PdfWriter

    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["Gavin Edwards"]))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    with open(tmp_path / "locked.pdf", "wb") as handle:
        writer.write(handle)
    hits, _ = found(tmp_path, scanner)
    assert {(name, kind) for name, kind, _ in hits} == {
        ("broken.pdf", "unreadable PDF (cannot be checked)"),
        ("locked.pdf", "unreadable PDF (cannot be checked)"),
    }


# --- images ------------------------------------------------------------------------


def test_png_text_chunks_are_read(tmp_path, scanner):
    (tmp_path / "figure.png").write_bytes(png(Title="Absence", Author="Gavin Edwards"))
    (tmp_path / "late.png").write_bytes(png_with_chunk_after_pixels(b"tEXt", b"Comment\x00postcode QB10 4WZ"))
    (tmp_path / "zipped.png").write_bytes(png_with_chunk_after_pixels(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"SF100559")))
    hits, _ = found(tmp_path, scanner)
    assert ("figure.png", "full name", "Gavin Edwards") in hits
    assert ("late.png", "postcode", "QB10 4WZ") in hits
    assert ("zipped.png", "survey_id", "SF100559") in hits


def test_jpeg_exif_and_comment_are_read(tmp_path, scanner):
    exif = Image.Exif()
    exif[0x013B] = "Gavin Edwards"  # Artist
    Image.new("RGB", (2, 2)).save(tmp_path / "photo.jpg", exif=exif, comment="upn A901001713019")
    hits, _ = found(tmp_path, scanner)
    assert ("photo.jpg", "full name", "Gavin Edwards") in hits
    assert ("photo.jpg", "upn", "A901001713019") in hits


def test_plain_figure_passes(tmp_path, scanner):
    (tmp_path / "figure.png").write_bytes(png(Software="matplotlib version 3.10"))
    hits, result = found(tmp_path, scanner)
    assert not hits and [p.name for p in result.scanned] == ["figure.png"]


def test_notebook_image_metadata_is_read(tmp_path, scanner):
    image = base64.b64encode(png(Author="Gavin Edwards")).decode()
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "plot()",
                     "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": image, "text/plain": "<Figure>"}}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "05_page.ipynb").write_text(json.dumps(nb))
    hits, _ = found(tmp_path, scanner)
    assert ("05_page.ipynb", "full name", "Gavin Edwards") in hits


# --- HTML --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('<img src="fig.png" alt="Gavin Edwards at school">', ("full name", "Gavin Edwards")),
        ('<div data-pupil="A901001713019">row</div>', ("upn", "A901001713019")),
        ('<a href="?id=SF100559" title="the survey">x</a>', ("survey_id", "SF100559")),
        ("<p>ok</p><!-- reviewer: Edwards, Gavin -->", ("full name", "Edwards, Gavin")),
        ("<p>UPN A9010<span>0171</span>3019</p>", ("upn", "A901001713019")),
        ("<p><b>SF10</b><i>0559</i></p>", ("survey_id", "SF100559")),
        ("<p>The pupil is Gavin\n      Edwards.</p>", ("full name", "Gavin Edwards")),
        ('<script>var row = {"postcode": "QB10 4WZ"};</script>', ("postcode", "QB10 4WZ")),
        (f'<img src="data:image/png;base64,{base64.b64encode(png(Author="Gavin Edwards")).decode()}">', ("full name (base64)", "Gavin Edwards")),
    ],
)
def test_html_text_attributes_comments_and_split_codes(tmp_path, scanner, page, expected):
    (tmp_path / "page.html").write_text(f"<html><body>{page}</body></html>")
    hits, result = found(tmp_path, scanner)
    assert ("page.html", *expected) in hits, result.summary()


def test_clean_html_with_attributes_passes(tmp_path, scanner):
    (tmp_path / "page.html").write_text(
        '<html><head><meta name="description" content="Linking SEND survey answers"></head><body>'
        '<nav class="sidebar" id="quarto-sidebar"><a href="../notebooks/03_linkage.html">3. Linkage</a></nav>'
        '<p>Jack alone.</p><p>Smith alone.</p><!-- rendered by Quarto 1.7.34 -->'
        '<table><tr><td>A901</td><td>0017</td><td>13019</td></tr></table>'  # separate cells are not one code
        '<span>2008</span>-<span>10</span>-<span>31</span></body></html>'
    )
    hits, result = found(tmp_path, scanner)
    assert not hits, result.summary()


# --- codes in groups ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("upn: A901 0017 13019", ("upn", "A901001713019")),
        ("upn: A901-0017-13019.", ("upn", "A901001713019")),
        ("survey number SF 100 559", ("survey_id", "SF100559")),
        ("call 077 009 000 50", ("phone", "07700 900050")),
        ("postcode Q B10 4W Z", ("postcode", "QB10 4WZ")),
    ],
)
def test_codes_written_in_groups_are_found(tmp_path, scanner, text, expected):
    (tmp_path / "note.txt").write_text(text)
    hits, result = found(tmp_path, scanner)
    assert ("note.txt", *expected) in hits, result.summary()


@pytest.mark.parametrize(
    "text",
    [
        "upn A9010017130195 has one digit too many",
        "xA901 0017 13019: the first group is not a whole word",
        "A901 0017 1301: a digit short",
        "A901, 0017, 13019: a list of three numbers",
    ],
)
def test_near_misses_of_grouped_codes_pass(tmp_path, scanner, text):
    (tmp_path / "note.txt").write_text(text)
    hits, result = found(tmp_path, scanner)
    assert not hits, result.summary()


def test_grouped_code_in_a_table_cell_is_found(tmp_path, scanner):
    pd.DataFrame({"note": ["ok", "A901 0017 13019"]}).to_csv(tmp_path / "t.csv", index=False)
    hits, _ = found(tmp_path, scanner)
    assert ("t.csv", "upn", "A901001713019") in hits


# --- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Born 10/31/2008, Gavin likes school.",  # US, month first
        "Gavin, born October 31, 2008.",
        "Gavin (DOB Oct 31 2008)",
        "Gavin, 31/10/08",  # two-digit year
        "Gavin: 2008-10-31 00:00:00",
        "Gavin: 2008-10-31T00:00:00Z",
    ],
)
def test_dates_of_birth_in_other_forms_next_to_a_name(tmp_path, scanner, text):
    (tmp_path / "note.md").write_text(text + "\n")
    hits, result = found(tmp_path, scanner)
    assert any(kind == "date of birth with name" for _, kind, _ in hits), result.summary()


def test_us_date_alone_or_with_another_persons_name_passes(tmp_path, scanner):
    (tmp_path / "note.md").write_text("Dated 10/31/2008.\n\nJack wrote on 10/31/2008.\n")
    hits, result = found(tmp_path, scanner)
    assert not hits, result.summary()


def test_forename_next_to_a_timestamp_cell(tmp_path, scanner):
    frame = pd.DataFrame({"who": ["Gavin", "Jack"], "when": pd.to_datetime(["2008-10-31", "2008-10-31"])})
    frame.to_parquet(tmp_path / "rows.parquet")  # a datetime64 column
    (tmp_path / "rows.csv").write_text("who,when\nGavin,2008-10-31 00:00:00\nJack,2008-10-31 00:00:00\n")
    pd.DataFrame({"f": ["gavin"], "d": ["2008-10-31T00:00:00.000Z"]}).to_csv(tmp_path / "iso.csv", index=False)
    hits, result = found(tmp_path, scanner)
    for name in ("rows.parquet", "rows.csv"):
        assert (name, "date of birth with name (two cells)", "Gavin | 2008-10-31 00:00:00") in hits, result.summary()
    assert ("iso.csv", "date of birth with name (two cells)", "gavin | 2008-10-31T00:00:00.000Z") in hits
    # Jack was not born that day: his row is not a hit.
    assert not any("Jack" in value for _, _, value in hits)


# --- base64 ------------------------------------------------------------------------


@pytest.mark.parametrize("urlsafe", [False, True])
def test_base64_text_is_decoded_and_read(tmp_path, scanner, urlsafe):
    (tmp_path / "note.txt").write_text(f"token={b64('pupil: Gavin Edwards??>', urlsafe)};\n")
    (tmp_path / "data.json").write_text(json.dumps({"blob": b64("upn A901001713019")}))
    pd.DataFrame({"payload": [b64("Edwards, Gavin")]}).to_csv(tmp_path / "t.csv", index=False)
    hits, result = found(tmp_path, scanner)
    assert ("note.txt", "full name (base64)", "Gavin Edwards") in hits, result.summary()
    assert ("data.json", "upn (base64)", "A901001713019") in hits
    assert ("t.csv", "full name (base64)", "Edwards, Gavin") in hits


def test_base64_inside_base64_is_followed(tmp_path, scanner):
    (tmp_path / "note.txt").write_text(b64("inner=" + b64("SF100559 is the survey id")))
    hits, result = found(tmp_path, scanner)
    assert ("note.txt", "survey_id (base64)", "SF100559") in hits, result.summary()


def test_hashes_and_long_words_are_not_mistaken_for_base64(tmp_path, scanner):
    pd.DataFrame({"research_id": ["3f2a9c0e5d7b4a1f8e6c2b9d0a7f3e5c", "77b1e0c4a9d2f6e8b3a5c7d9e1f2a4b6"]}).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "note.md").write_text("Characteristically, internationalisation_of_SEND counts; a sha256 of 5d930a23f0f4.\n")
    hits, result = found(tmp_path, scanner)
    assert not hits, result.summary()


# --- Parquet metadata --------------------------------------------------------------


def test_parquet_file_and_column_metadata_are_read(tmp_path, scanner):
    table = pa.table({"x": [1, 2]})
    table = table.replace_schema_metadata({"note": "extracted for Gavin Edwards"})
    pq.write_table(table, tmp_path / "file_meta.parquet")
    field = pa.field("y", pa.int64(), metadata={"source": "postcode QB10 4WZ"})
    pq.write_table(pa.table({"y": [1]}, schema=pa.schema([field])), tmp_path / "column_meta.parquet")
    hits, result = found(tmp_path, scanner)
    assert ("file_meta.parquet", "full name", "Gavin Edwards") in hits, result.summary()
    assert ("column_meta.parquet", "postcode", "QB10 4WZ") in hits


def test_pandas_index_name_in_parquet_metadata_is_read(tmp_path, scanner):
    frame = pd.DataFrame({"x": [1]}, index=pd.Index(["row"], name="SF100559"))
    frame.to_parquet(tmp_path / "index.parquet")
    hits, result = found(tmp_path, scanner)
    assert any(name == "index.parquet" and kind == "survey_id" for name, kind, _ in hits), result.summary()


def test_ordinary_parquet_metadata_passes(tmp_path, scanner):
    pd.DataFrame({"research_id": ["3f2a"], "npd_ethnicity": ["White"]}).to_parquet(tmp_path / "clean.parquet")
    hits, result = found(tmp_path, scanner)
    assert not hits, result.summary()


# --- a search index -----------------------------------------------------------------


def test_search_index_records_are_read_as_prose(tmp_path, scanner):
    """Quarto's search.json holds whole sections in one field: a full name in it is
    found, but a forename and a surname far apart (or a reference list) are not."""
    clean = "References\n\nHarron K, Smith P (2018). Linkage. Jack wrote the first draft; Smith reviewed it. " * 3
    leak = "The worked example follows one family: the child, Gavin Edwards, was linked by the second pass."
    (tmp_path / "search.json").write_text(json.dumps([
        {"objectID": "a", "href": "pages/methods.html#references", "title": "References", "text": clean},
        {"objectID": "b", "href": "notebooks/02.html#example", "title": "Example", "text": leak},
    ]))
    hits, result = found(tmp_path, scanner)
    assert {(kind, value) for _, kind, value in hits} == {("full name", "Gavin Edwards")}, result.summary()
