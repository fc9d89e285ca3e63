"""A small markdown-to-HTML converter for the benchmark page (headings, paragraphs, pipe tables, fenced code,
inline code, bold, links, block quotes): docs/benchmarks.md uses nothing else, and no dependency is needed."""
from __future__ import annotations

import re
from html import escape

__all__ = ["markdown_to_html"]


def _inline(text: str, link_base: str) -> str:
    """Code spans, links, bold and italics of one line or cell; everything else escaped (``<br>`` kept)."""
    codes: list[str] = []
    text = re.sub(r"`([^`]+)`", lambda m: codes.append(f"<code>{escape(m[1])}</code>") or f"\x00{len(codes) - 1}\x00",
                  text)
    text = escape(text, quote=False).replace("&lt;br&gt;", "<br>")
    href = lambda url: url if re.match(r"[a-z]+:|#", url) else link_base + url  # relative: to docs/  # noqa: E731
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{escape(href(m[2]))}">{m[1]}</a>', text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m[1])], text)


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


BLOCK_START, LIST_ITEM = re.compile(r"^(#{1,6}\s|```|\||>|[-*]\s|\d+\.\s)"), r"^(?:[-*]|(\d+)\.)\s+"


def markdown_to_html(text: str, link_base: str = "") -> str:
    """The subset docs/benchmarks.md uses: headings, paragraphs, lists, pipe tables, fenced code, quotes, inline."""
    lines, out, i = re.sub(r"<!--.*?-->", "", text, flags=re.S).splitlines(), [], 0
    inline = lambda s: _inline(s, link_base)  # noqa: E731
    until = lambda start, stop: next((j for j in range(start, len(lines)) if stop(lines[j])), len(lines))  # noqa: E731
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = until(i + 1, lambda s: s.startswith("```"))
            out.append("<pre><code>" + escape("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            level, slug = min(6, len(m[1]) + 1), re.sub(r"[^\w\- ]", "", m[2].lower()).strip().replace(" ", "-")
            out.append(f'<h{level} id="{slug}">{inline(m[2])}</h{level}>')  # h1 is the page's own title
            i += 1
        elif line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|?\s*:?-{3,}", lines[i + 1]):
            end = until(i + 2, lambda s: not s.startswith("|"))
            head = "".join(f"<th>{inline(c)}</th>" for c in _cells(line))
            body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in _cells(r)) + "</tr>"
                           for r in lines[i + 2:end])
            out.append(f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')
            i = end
        elif line.startswith(">"):
            end = until(i, lambda s: not s.startswith(">"))
            out.append(f"<blockquote>{markdown_to_html(chr(10).join(q[1:].lstrip() for q in lines[i:end]), link_base)}"
                       "</blockquote>")
            i = end
        elif m := re.match(LIST_ITEM, line):  # one line per item, as report.py writes them
            tag, end = "ol" if m[1] else "ul", until(i, lambda s: not re.match(LIST_ITEM, s))
            out.append(f"<{tag}>" + "".join(f"<li>{inline(re.sub(LIST_ITEM, '', it))}</li>" for it in lines[i:end])
                       + f"</{tag}>")
            i = end
        elif not line.strip():
            i += 1
        else:
            end = max(i + 1, until(i, lambda s: not s.strip() or bool(BLOCK_START.match(s))))
            out.append("<p>" + "\n".join(inline(p) for p in lines[i:end]) + "</p>")
            i = end
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------- page

CSS = """body{font:15px/1.5 system-ui,sans-serif;color:#222;margin:0;background:#f4f5f7}
main{max-width:1240px;margin:0 auto;padding:24px 32px;background:white}.meta{color:#555;font-size:14px}
h1{margin:0 0 4px}h2{border-bottom:2px solid #dde;padding-bottom:4px;margin-top:40px}
.plots{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}svg.plot{display:block;max-width:100%;height:auto}
figure{margin:0;padding:12px;border:1px solid #ddd;border-radius:6px;max-width:100%;box-sizing:border-box}
figure h3{margin:0 0 6px;font-size:15px}figcaption,.note{font-size:12.5px;color:#555;max-width:560px;margin-top:6px}
.note{background:#fff7e0;color:#333;border-left:4px solid #e0a800;padding:6px 10px}.table{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:10px 0}th{background:#eef0f5}pre{background:#f0f1f4;padding:10px}
th,td{border:1px solid #ccd;padding:3px 7px;text-align:left;vertical-align:top}blockquote{border-left:4px solid #ccd}
code{background:#f0f1f4;padding:0 3px;border-radius:3px;font-size:12.5px}blockquote{margin:8px 0;padding:0 12px}"""
