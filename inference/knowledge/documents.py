"""Knowledge-base input: FAQ files (JSONL, CSV) and documents (Markdown, HTML, PDF, text).

Everything here is pure: bytes or lines in, records and errors out.  A malformed FAQ line
never stops an import: it is reported with its line number and the rest is imported.
A document that cannot be read raises :class:`KnowledgeError` with a stable ``code``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # a 20 MiB upload is already a book
MAX_PDF_PAGES = 2000
# A PDF bomb (a few KB that inflate to megabytes of page content) would keep the shared
# loader busy for every tenant: each stream may inflate to 1 MiB (a long page of text is
# ~50 KB), and reading a PDF's text gets a time budget.
MAX_PDF_STREAM_BYTES = 1024 * 1024
MAX_PDF_SECONDS = 30.0
MAX_TEXT_CHARS = 5_000_000  # after extraction
MAX_ID_CHARS = 200
MAX_FIELD_CHARS = 20_000  # one FAQ question/answer/example
MAX_EXAMPLES = 1000  # per FAQ entry

CHUNK_WORDS = 160  # target chunk size (words)
CHUNK_OVERLAP_WORDS = 30  # carried into the next chunk when a section is split

_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f#]+\Z")


class KnowledgeError(ValueError):
    """A knowledge-base input could not be used.  ``code`` is stable and machine-readable:
    ``unsupported_format``, ``too_large``, ``unreadable``, ``empty``, ``invalid``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    examples: tuple[str, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    title: str
    text: str
    url: str = ""


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class ParseReport:
    faqs: list[FaqEntry] = field(default_factory=list)
    documents: list[DocumentRecord] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Chunk:
    seq: int
    heading: str
    text: str


# ---------------------------------------------------------------- FAQ and KB lines


def check_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError("invalid", "id must be a non-empty string")
    value = value.strip()
    if len(value) > MAX_ID_CHARS:
        raise KnowledgeError("invalid", f"id longer than {MAX_ID_CHARS} characters")
    if not _ID_RE.match(value):
        raise KnowledgeError("invalid", "id may not contain spaces, control characters or #")
    return value


def _text_field(obj: dict, name: str, required: bool = True) -> str:
    value = obj.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise KnowledgeError("invalid", f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise KnowledgeError("invalid", f"{name} is missing or empty")
    if len(value) > MAX_FIELD_CHARS and name not in ("text",):
        raise KnowledgeError("invalid", f"{name} longer than {MAX_FIELD_CHARS} characters")
    return value


def check_url(url: str) -> str:
    """An entry's source link, shown to customers as a citation: http(s) only, so a
    `javascript:` or `data:` address can never become a link in anyone's page."""
    if not url:
        return ""
    parsed = urlsplit(url)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in url):
        raise KnowledgeError("invalid", "url must be an http:// or https:// address")
    return url


def record_from_object(obj: object) -> FaqEntry | DocumentRecord:
    """One KB object: ``{"id","question","answer","examples"?,"url"?}`` is an FAQ entry,
    ``{"id","title","text","url"?}`` a document."""
    if not isinstance(obj, dict):
        raise KnowledgeError("invalid", "expected a JSON object")
    entry_id = check_id(obj.get("id"))
    url = check_url(_text_field(obj, "url", required=False))
    if "question" in obj or "answer" in obj:
        examples = obj.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise KnowledgeError("invalid", "examples must be a list of strings")
        if len(examples) > MAX_EXAMPLES:
            raise KnowledgeError("invalid", f"more than {MAX_EXAMPLES} examples")
        cleaned = tuple(dict.fromkeys(e.strip() for e in examples if e.strip()))
        if any(len(e) > MAX_FIELD_CHARS for e in cleaned):
            raise KnowledgeError("invalid", f"an example is longer than {MAX_FIELD_CHARS} characters")
        return FaqEntry(entry_id, _text_field(obj, "question"), _text_field(obj, "answer"), cleaned, url)
    if "text" in obj or "title" in obj:
        text = _text_field(obj, "text")
        if len(text) > MAX_TEXT_CHARS:
            raise KnowledgeError("too_large", f"text longer than {MAX_TEXT_CHARS} characters")
        return DocumentRecord(entry_id, _text_field(obj, "title", required=False) or entry_id, text, url)
    raise KnowledgeError("invalid", "expected question+answer (FAQ) or title+text (document)")


def parse_kb_jsonl(lines: Iterable[str | bytes]) -> ParseReport:
    """KB.jsonl: one object a line; blank lines and lines starting with ``#`` are skipped.
    A repeated id is an error on the later line (the first one wins)."""
    report = ParseReport()
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                report.errors.append(LineError(number, "not UTF-8"))
                continue
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.errors.append(LineError(number, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        try:
            record = record_from_object(obj)
        except KnowledgeError as exc:
            report.errors.append(LineError(number, exc.message))
            continue
        if record.id in seen:
            report.errors.append(LineError(number, f"duplicate id {record.id!r}"))
            continue
        seen.add(record.id)
        if isinstance(record, FaqEntry):
            report.faqs.append(record)
        else:
            report.documents.append(record)
    return report


def parse_faq_csv(text: str) -> ParseReport:
    """FAQ CSV with a header row: ``id,question,answer[,examples][,url]``; examples are
    separated by ``|`` or new lines inside the quoted cell.  Line numbers are those of the
    file (a quoted cell may span lines: the record's first line is reported)."""
    report = ParseReport()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return report
    except csv.Error as exc:
        report.errors.append(LineError(1, f"bad CSV header: {exc}"))
        return report
    missing = {"id", "question", "answer"} - set(header)
    if missing:
        report.errors.append(LineError(1, f"header lacks {', '.join(sorted(missing))}"))
        return report
    seen: set[str] = set()
    line_start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.errors.append(LineError(line_start, f"bad CSV: {exc}"))
            line_start = reader.line_num + 1
            continue
        number, line_start = line_start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            report.errors.append(LineError(number, f"expected {len(header)} fields, got {len(row)}"))
            continue
        obj: dict = dict(zip(header, row, strict=False))
        if "examples" in obj:
            obj["examples"] = [e for e in re.split(r"[|\n]", obj["examples"]) if e.strip()]
        try:
            record = record_from_object(
                {k: obj[k] for k in obj if k in ("id", "question", "answer", "examples", "url")}
            )
        except KnowledgeError as exc:
            report.errors.append(LineError(number, exc.message))
            continue
        if record.id in seen:
            report.errors.append(LineError(number, f"duplicate id {record.id!r}"))
            continue
        seen.add(record.id)
        report.faqs.append(record)  # type: ignore[arg-type]
    return report


# ---------------------------------------------------------------- document extraction

_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
    "": "text",
}
_MIME = {
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/plain": "text",
}


def detect_format(filename: str = "", content_type: str = "", data: bytes = b"") -> str:
    """``markdown``, ``html``, ``pdf`` or ``text``; :class:`KnowledgeError`
    ``unsupported_format`` otherwise.  The content type wins over the file name; a PDF
    signature wins over both."""
    if data[:5] == b"%PDF-":
        return "pdf"
    mime = content_type.split(";")[0].strip().lower()
    if mime in _MIME:
        return _MIME[mime]
    name = filename.rsplit("/", 1)[-1].lower()
    ext = "." + name.rsplit(".", 1)[1] if "." in name else ""
    if ext in _FORMATS:
        return _FORMATS[ext]
    raise KnowledgeError(
        "unsupported_format", f"unsupported document format {ext or mime or '?'}: use Markdown, HTML, PDF or plain text"
    )


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise KnowledgeError("unreadable", "broken UTF-16 text") from exc
    if b"\x00" in data[:4096]:
        raise KnowledgeError("unreadable", "binary data is not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _inline_text(child) -> str:
    if child.type in ("text", "code_inline", "image"):
        return child.content
    if child.type in ("softbreak", "hardbreak"):
        return " "
    return ""


def _markdown_to_text(source: str) -> tuple[str, str]:
    """Plain text with ``#`` headings kept as heading markers for the chunker."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": False}).enable("table").parse(source)
    out: list[str] = []
    title = ""
    heading_level = 0
    for tok in tokens:
        if tok.type == "heading_open":
            heading_level = int(tok.tag[1])
        elif tok.type == "heading_close":
            heading_level = 0
        elif tok.type == "inline":
            text = "".join(_inline_text(child) for child in tok.children) if tok.children else tok.content
            text = text.strip()
            if not text:
                continue
            if heading_level:
                title = title or text
                out.append("\n" + "#" * heading_level + " " + text)
            else:
                out.append(text)
        elif tok.type in ("fence", "code_block"):
            out.append(tok.content.strip())
    return title, _clean("\n".join(out))


def _html_to_text(source: str) -> tuple[str, str]:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(source)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    for node in tree.css("script, style, noscript, template, svg, nav, footer, head"):
        node.decompose()
    body = tree.body or tree.root
    if body is None:
        return title, ""
    for level in range(1, 7):
        for node in body.css(f"h{level}"):
            text = node.text(separator=" ", strip=True)
            title = title or text
            node.replace_with(f"\n{'#' * level} {text}\n")
    for node in body.css("p, li, tr, div, br, section, article, blockquote, pre, dt, dd"):
        node.insert_after("\n")
    return title, _clean(body.text(separator=" ", strip=False))


def _pdf_to_text(data: bytes) -> tuple[str, str]:
    import pypdf
    from pypdf.errors import LimitReachedError

    try:
        with pypdf.apply_configuration(
            zlib_maximum_output_length=MAX_PDF_STREAM_BYTES,
            lzw_maximum_output_length=MAX_PDF_STREAM_BYTES,
            run_length_maximum_output_length=MAX_PDF_STREAM_BYTES,
            array_based_stream_maximum_output_length=MAX_PDF_STREAM_BYTES,
            brotli_maximum_output_length=MAX_PDF_STREAM_BYTES,
        ):
            return _read_pdf(data)
    except LimitReachedError:
        raise KnowledgeError(
            "too_large",
            f"the PDF holds a stream that decompresses to more than {MAX_PDF_STREAM_BYTES // 1024} KiB; "
            "export it again or upload its text",
        ) from None


def _read_pdf(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    started = time.monotonic()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise KnowledgeError("unreadable", "the PDF is password-protected")
            except KnowledgeError:
                raise
            except Exception as exc:
                raise KnowledgeError("unreadable", f"the PDF is encrypted: {exc}") from exc
        if len(reader.pages) > MAX_PDF_PAGES:
            raise KnowledgeError("too_large", f"the PDF has more than {MAX_PDF_PAGES} pages")
        title = ""
        try:
            title = str(reader.metadata.get("/Title") or "" if reader.metadata else "").strip()
        except Exception:  # noqa: BLE001 - malformed metadata costs the title only, never the document
            title = ""
        pages = []
        for page in reader.pages:
            if time.monotonic() - started > MAX_PDF_SECONDS:
                raise KnowledgeError(
                    "too_large",
                    f"reading the PDF's text took longer than {MAX_PDF_SECONDS:.0f} s; split it into smaller files",
                )
            pages.append(page.extract_text() or "")
    except (KnowledgeError, LimitReachedError):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise KnowledgeError("unreadable", f"the PDF could not be read: {exc}") from exc
    text = _clean("\n\n".join(pages))
    return title, text


def extract_text(data: bytes, filename: str = "", content_type: str = "") -> tuple[str, str]:
    """(title, text) from a document's bytes.  Headings come out as Markdown ``#`` lines
    so that the chunker can keep each chunk under its section heading."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise KnowledgeError("too_large", f"document larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    if not data.strip():
        raise KnowledgeError("empty", "the document is empty")
    kind = detect_format(filename, content_type, data)
    if kind == "pdf":
        title, text = _pdf_to_text(data)
    else:
        source = _decode(data)
        if kind == "markdown":
            title, text = _markdown_to_text(source)
        elif kind == "html":
            title, text = _html_to_text(source)
        else:
            title, text = "", _clean(source)
    if len(text) > MAX_TEXT_CHARS:
        raise KnowledgeError("too_large", f"more than {MAX_TEXT_CHARS} characters of text")
    if not text.strip():
        raise KnowledgeError("empty", "no text could be extracted (a scanned PDF needs OCR first)")
    if not title:
        first = text.lstrip("# ").split("\n", 1)[0].strip()
        title = first[:120] if len(first) <= 120 else ""
    return title, text


# ---------------------------------------------------------------- chunking

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """[(heading path, paragraphs)]; headings are Markdown ``#`` lines."""
    sections: list[tuple[str, list[str]]] = []
    path: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    current: list[str] = []

    def flush_paragraph() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    def flush_section() -> None:
        flush_paragraph()
        if paragraphs:
            sections.append((" > ".join(h for _, h in path), list(paragraphs)))
            paragraphs.clear()

    for line in text.split("\n"):
        match = _HEADING_RE.match(line)
        if match:
            flush_section()
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, match.group(2))]
            continue
        stripped = line.strip()
        if not stripped:
            flush_paragraph()
        elif re.match(r"^([-*+]|\d+[.)])\s", stripped):
            flush_paragraph()  # list items are paragraphs of their own
            current.append(stripped)
        else:
            current.append(stripped)
    flush_section()
    return sections


def _split_long(paragraph: str, limit: int) -> list[str]:
    words = paragraph.split()
    if len(words) <= limit:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_RE.split(paragraph):
        sw = sentence.split()
        while len(sw) > limit:
            pieces.append(" ".join(sw[:limit]))
            sw = sw[limit:]
        if sw:
            pieces.append(" ".join(sw))
    return pieces


def chunk_text(text: str, max_words: int = CHUNK_WORDS, overlap_words: int = CHUNK_OVERLAP_WORDS) -> list[Chunk]:
    """Split a document into chunks of at most about ``max_words`` words that never cross a
    section heading; a long section is split at paragraph, then sentence boundaries, and
    each following piece starts with the last ``overlap_words`` words of the one before."""
    chunks: list[Chunk] = []
    for heading, paragraphs in _sections(text):
        pieces: list[str] = []
        for paragraph in paragraphs:
            pieces.extend(_split_long(paragraph, max_words))
        buf: list[str] = []
        count = 0
        for piece in pieces:
            n = len(piece.split())
            if buf and count + n > max_words:
                chunks.append(Chunk(len(chunks), heading, "\n".join(buf)))
                tail = " ".join(" ".join(buf).split()[-overlap_words:]) if overlap_words else ""
                buf, count = ([tail] if tail else []), len(tail.split())
            buf.append(piece)
            count += n
        if buf:
            chunks.append(Chunk(len(chunks), heading, "\n".join(buf)))
    return chunks
