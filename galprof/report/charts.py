"""Inline SVG charts for the report: a share bar, the demography as a stacked histogram, photos per
month as a timeline. Each chart is an image with a text alternative (role="img", <title>, aria-label);
the report also gives the numbers as text, so nothing is only in a picture."""

from __future__ import annotations

from html import escape

GENDER_COLOURS = {"female": "#8e3b9c", "male": "#1f6fb2"}  # >= 4.5:1 against white, told apart without hue too
OTHER_COLOUR = "#5c5c5c"
BAR_COLOUR = "#1f6fb2"


def share_bar(share: float, width: int = 160, height: int = 14) -> str:
    """A horizontal bar for a share in 0-1 (decorative: the share is written next to it)."""
    filled = max(0.0, min(1.0, share)) * width
    return (f'<svg class="bar" width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-hidden="true" '
            f'focusable="false"><rect width="{width}" height="{height}" rx="3" fill="#e4e8ee"/>'
            f'<rect width="{filled:.1f}" height="{height}" rx="3" fill="{BAR_COLOUR}"/></svg>')


def stacked_histogram(age_ranges: list[str], counts: dict[str, dict[str, int]]) -> str:
    """People per age range, one stacked column per range (female below, male above)."""
    genders = [g for g in ("female", "male") if g in counts] + sorted(g for g in counts if g not in GENDER_COLOURS)
    totals = [sum(counts[g].get(r, 0) for g in genders) for r in age_ranges]
    top = max(totals + [1])
    col, gap, chart_h, left, bottom = 44, 12, 160, 28, 40
    scale = top * 1.15  # headroom for the total written above the tallest column
    width = left + len(age_ranges) * (col + gap) + 90
    label = "; ".join(f"{r}: " + ", ".join(f"{counts[g].get(r, 0)} {g}" for g in genders)
                      for r, t in zip(age_ranges, totals, strict=True) if t)
    parts = [(f'<svg class="chart" width="{width}" height="{chart_h + bottom + 10}" '
              f'viewBox="0 0 {width} {chart_h + bottom + 10}" role="img" '
              f'aria-label="{escape("People by age range and gender. " + (label or "nobody counted"))}">'),
             "<title>People by age range and gender</title>"]
    for tick in range(0, top + 1, max(1, top // 4)):
        y = 10 + chart_h - chart_h * tick / scale
        parts.append(f'<line x1="{left}" x2="{width - 90}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d5dc"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    for i, (rng, total) in enumerate(zip(age_ranges, totals, strict=True)):
        x, y = left + gap / 2 + i * (col + gap), 10 + chart_h
        for g in genders:
            n = counts[g].get(rng, 0)
            if n:
                h = chart_h * n / scale
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col}" height="{h:.1f}" '
                             f'fill="{GENDER_COLOURS.get(g, OTHER_COLOUR)}" stroke="#fff"/>')
        if total:
            parts.append(f'<text x="{x + col / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="tick">{total}</text>')
        parts.append(f'<text x="{x + col / 2:.1f}" y="{chart_h + 28}" text-anchor="middle" class="tick">'
                     f'{escape(rng)}</text>')
    for j, g in enumerate(genders):
        y = 20 + j * 22
        parts.append(f'<rect x="{width - 80}" y="{y}" width="14" height="14" '
                     f'fill="{GENDER_COLOURS.get(g, OTHER_COLOUR)}"/>'
                     f'<text x="{width - 60}" y="{y + 12}" class="tick">{escape(g)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(months: list[tuple[str, int]]) -> str:
    """Photos per month as columns, the year written under each January (and the first month)."""
    top = max([n for _, n in months] + [1])
    step = max(3.0, min(40.0, 720 / max(1, len(months))))
    chart_h, left = 120, 30
    width = left + step * len(months) + 10
    busiest = sorted(months, key=lambda m: -m[1])[:3]
    label = (f"Photos per month from {months[0][0]} to {months[-1][0]}; busiest: "
             + ", ".join(f"{m} ({n})" for m, n in busiest if n)) if months else "no dated photos"
    parts = [(f'<svg class="chart" width="{width:.0f}" height="{chart_h + 40}" '
              f'viewBox="0 0 {width:.0f} {chart_h + 40}" role="img" aria-label="{escape(label)}">'),
             "<title>Photos per month</title>",
             f'<text x="{left - 6}" y="16" text-anchor="end" class="tick">{top}</text>',
             f'<line x1="{left}" x2="{width - 10:.0f}" y1="{chart_h + 10}" y2="{chart_h + 10}" stroke="#8a93a0"/>']
    labelled_at = -1e9
    for i, (month, n) in enumerate(months):
        x = left + i * step
        if n:
            h = max(1.0, chart_h * n / top)
            parts.append(f'<rect x="{x + step * 0.1:.1f}" y="{chart_h + 10 - h:.1f}" width="{step * 0.8:.1f}" '
                         f'height="{h:.1f}" fill="{BAR_COLOUR}"><title>{escape(month)}: {n}</title></rect>')
        if (i == 0 or month.endswith("-01")) and x - labelled_at >= 44:  # a label needs about 40 px
            labelled_at = x
            parts.append(f'<text x="{x:.1f}" y="{chart_h + 30}" class="tick">{escape(month if i == 0 else month[:4])}'
                         "</text>")
    parts.append("</svg>")
    return "".join(parts)
