from __future__ import annotations

import json

import pytest

from inference.knowledge import (
    KnowledgeError,
    chunk_text,
    extract_text,
    parse_faq_csv,
    parse_kb_jsonl,
)
from inference.knowledge.documents import MAX_DOCUMENT_BYTES, detect_format

pytestmark = pytest.mark.unit


def test_jsonl_reports_bad_lines_by_number_and_imports_the_rest():
    lines = [
        json.dumps({"id": "a", "question": "Q a?", "answer": "A a.", "examples": ["qa 1", "qa 2"]}),
        "{not json",
        "",
        json.dumps({"id": "b", "question": "Q b?"}),  # no answer
        json.dumps({"id": "doc1", "title": "Guide", "text": "Some text."}),
        json.dumps({"id": "a", "question": "again", "answer": "dup"}),  # duplicate id
        json.dumps({"id": "c", "question": "Q c?", "answer": "A c.", "examples": "not a list"}),
        json.dumps(["a list"]),
        json.dumps({"id": "bad id", "question": "Q", "answer": "A"}),
        "# a comment",
        json.dumps({"id": "d", "question": "Q d?", "answer": "A d."}),
    ]
    report = parse_kb_jsonl(lines)
    assert [f.id for f in report.faqs] == ["a", "d"]
    assert report.faqs[0].examples == ("qa 1", "qa 2")
    assert [d.id for d in report.documents] == ["doc1"]
    assert [e.line for e in report.errors] == [2, 4, 6, 7, 8, 9]
    assert "answer" in report.errors[1].message
    assert "duplicate" in report.errors[2].message


def test_source_urls_must_be_http_or_https():
    lines = [
        json.dumps({"id": "ok", "question": "Q?", "answer": "A.", "url": "https://shop.example.com/help"}),
        json.dumps({"id": "js", "question": "Q?", "answer": "A.", "url": "javascript:alert(1)"}),
        json.dumps({"id": "doc", "title": "T", "text": "Text.", "url": "data:text/html,<b>x</b>"}),
    ]
    report = parse_kb_jsonl(lines)
    assert [(f.id, f.url) for f in report.faqs] == [("ok", "https://shop.example.com/help")]
    assert [(e.line, e.message) for e in report.errors] == [
        (2, "url must be an http:// or https:// address"),
        (3, "url must be an http:// or https:// address"),
    ]


def test_jsonl_accepts_bytes_and_reports_non_utf8():
    report = parse_kb_jsonl([b'{"id":"x","question":"q","answer":"a"}', b"\xff\xfe{"])
    assert [f.id for f in report.faqs] == ["x"]
    assert report.errors[0].line == 2


def test_csv_with_multiline_cells_reports_file_line_numbers():
    text = (
        "id,question,answer,examples\n"
        'hours,When are you open?,"9 to 5,\nweekdays",when open|opening times\n'
        "broken,only two\n"
        ",Missing id?,An answer,\n"
        'refund,How do I get a refund?,Within 14 days.,"money back\nrefund please"\n'
    )
    report = parse_faq_csv(text)
    assert [f.id for f in report.faqs] == ["hours", "refund"]
    assert report.faqs[0].answer == "9 to 5,\nweekdays"
    assert report.faqs[0].examples == ("when open", "opening times")
    assert report.faqs[1].examples == ("money back", "refund please")
    assert [(e.line, "fields" in e.message) for e in report.errors] == [(4, True), (5, False)]


def test_csv_header_must_name_the_columns():
    report = parse_faq_csv("name,text\nx,y\n")
    assert report.errors and report.errors[0].line == 1 and not report.faqs


def test_markdown_keeps_headings_and_drops_syntax():
    title, text = extract_text(
        b"# Title here\n\nSome *bold* and [a link](http://x).\n\n## Part\n\n- one\n- two\n", "guide.md"
    )
    assert title == "Title here"
    assert "Some bold and a link." in text
    assert "## Part" in text and "one" in text and "http" not in text


def test_html_drops_scripts_and_keeps_structure():
    html = (
        b"<html><head><title>Help page</title><script>var x=1;</script></head>"
        b"<body><nav>menu</nav><h1>Returns</h1><p>Send it back within <b>30 days</b>.</p>"
        b"<h2>Costs</h2><ul><li>Free in the EU</li><li>10 EUR elsewhere</li></ul></body></html>"
    )
    title, text = extract_text(html, "help.html")
    assert title == "Help page"
    assert "var x" not in text and "menu" not in text
    assert "# Returns" in text and "## Costs" in text
    assert "Send it back within 30 days ." in text or "Send it back within 30 days." in text
    assert "Free in the EU" in text


def _pdf_with_text(lines: list[str]) -> bytes:
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({s}) '" for s in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text_is_extracted():
    title, text = extract_text(_pdf_with_text(["Warranty terms", "The warranty lasts two years."]), "terms.pdf")
    assert "The warranty lasts two years." in text
    assert title == "Warranty terms"


def test_pdf_signature_wins_over_the_name():
    assert detect_format("notes.txt", "", b"%PDF-1.4 ...") == "pdf"


def test_broken_pdf_is_unreadable():
    with pytest.raises(KnowledgeError) as err:
        extract_text(b"%PDF-1.4\nthis is not really a pdf", "x.pdf")
    assert err.value.code in ("unreadable", "empty")


def test_clear_errors_for_unknown_huge_and_empty_inputs():
    with pytest.raises(KnowledgeError) as err:
        extract_text(b"PK\x03\x04...", "slides.pptx")
    assert err.value.code == "unsupported_format"
    with pytest.raises(KnowledgeError) as err:
        extract_text(b"x" * (MAX_DOCUMENT_BYTES + 1), "big.txt")
    assert err.value.code == "too_large"
    with pytest.raises(KnowledgeError) as err:
        extract_text(b"   \n", "empty.txt")
    assert err.value.code == "empty"
    with pytest.raises(KnowledgeError) as err:
        extract_text(b"\x00\x01\x02binary" * 10, "blob.txt")
    assert err.value.code == "unreadable"


def test_plain_text_in_latin1_is_decoded():
    title, text = extract_text("Café opening hours".encode("latin-1"), "notes.txt")
    assert text == "Café opening hours"


def test_chunks_stay_under_their_heading_and_respect_the_size():
    body = " ".join(f"Sentence number {i} talks about shipping." for i in range(120))
    text = f"# Shipping\n\n{body}\n\n# Returns\n\nReturn within 30 days."
    chunks = chunk_text(text, max_words=100, overlap_words=10)
    assert len(chunks) >= 6
    assert all(len(c.text.split()) <= 115 for c in chunks)
    assert chunks[-1].heading == "Returns" and chunks[-1].text == "Return within 30 days."
    assert {c.heading for c in chunks[:-1]} == {"Shipping"}
    # overlap: the next chunk starts with the end of the previous one
    assert chunks[1].text.split()[:10] == chunks[0].text.split()[-10:]
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_nested_headings_form_a_path():
    chunks = chunk_text("# Guide\n\nIntro.\n\n## Setup\n\nSteps.\n\n# Other\n\nMore.")
    assert [c.heading for c in chunks] == ["Guide", "Guide > Setup", "Other"]


def _pdf_bomb(inflated_bytes: int, streams: int = 2) -> bytes:
    """A one-page PDF whose content streams are a few KB on disk and `inflated_bytes` each once decompressed."""
    import zlib

    op = b"BT /F1 12 Tf 72 720 Td (x) Tj ET\n"
    packed = zlib.compress(op * (inflated_bytes // len(op)), 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(streams)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [" + kids + b"] "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + streams),
        *[b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"] * streams,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets
    )
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_a_pdf_bomb_is_refused_before_it_is_read():
    bomb = _pdf_bomb(3 * 1024 * 1024)  # the outside tester's shape: ~18 KB inflating to 2 x 3 MB of page content
    assert len(bomb) < 64 * 1024
    with pytest.raises(KnowledgeError) as err:
        extract_text(bomb, "bomb.pdf")
    assert err.value.code == "too_large" and "decompresses to more than" in err.value.message


def test_a_compressed_page_of_ordinary_size_is_still_read():
    _, text = extract_text(_pdf_bomb(200 * 1024, streams=1), "long-page.pdf")
    assert text.count("x") > 1000
