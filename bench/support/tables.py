"""Plain-text tables: each column as wide as its widest cell, two spaces apart, a rule under the header."""

from __future__ import annotations


def format_table(head, body, left):
    """The header, the rule and one line per row; columns whose index is in `left` left-aligned, the rest right."""
    widths = [max(len(cells[i]) for cells in [head, *body]) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [line(head).rstrip(), "  ".join("-" * w for w in widths), *(line(cells).rstrip() for cells in body)]


def print_table(headers, rows):
    """Print rows under headers; columns of numbers (or "-") are right-aligned."""
    rows = [[str(c) for c in row] for row in rows]
    left = {i for i in range(len(headers)) if not rows or not all(_is_number(r[i]) for r in rows)}
    print("\n".join(format_table(list(headers), rows, left)))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True
