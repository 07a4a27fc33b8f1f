"""Photographed documents generated at test time: passport pages with a valid MRZ, bank cards with
Luhn-valid numbers, ID cards, letters with an IBAN, printed pages; each drawn flat, then "shot" on a
table (wood-like texture, perspective, a slight rotation, blur, uneven light, JPEG). Fonts: Pillow's
bundled default TrueType font (no system font needed)."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

KINDS = ("passport", "bank card", "id card", "iban letter", "printed page")
_NAMES = [("ERIKSSON", "ANNA MARIA"), ("MUELLER", "JONAS"), ("GARCIA LOPEZ", "LUCIA"), ("DUPONT", "CLAIRE"),
          ("NOWAK", "PIOTR"), ("SMITH", "OLIVER JAMES")]
_WORDS = ["the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be", "by", "this", "are", "from", "at", "or", "have", "an", "which", "one", "had", "not", "but", "what", "all", "were", "when", "we", "there", "can", "been", "has", "more", "if", "will", "would", "their", "said", "who", "about", "time", "report", "account", "balance", "payment", "invoice", "customer", "service", "meeting", "schedule", "project", "budget"]


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _check_digit(text: str) -> str:
    values = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, "<": 0}
    return str(sum(values[c] * w for c, w in zip(text, [7, 3, 1] * 20)) % 10)


def mrz_passport(surname: str, given: str, rng: random.Random) -> list[str]:
    """ICAO 9303 TD3 lines (2 x 44) with valid check digits."""
    names = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<"))[:39]
    line1 = ("P<UTO" + names).ljust(44, "<")
    number = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9))
    birth, expiry = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}", "310521"
    body = number + _check_digit(number) + "UTO" + birth + _check_digit(birth) + "F" + expiry + _check_digit(expiry)
    personal = "<" * 14
    line2 = body + personal + _check_digit(personal)
    line2 += _check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    return [line1, line2]


def luhn_number(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i:i + 4] for i in range(0, 16, 4))


def iban_de(rng: random.Random) -> str:
    bban = "".join(str(rng.randint(0, 9)) for _ in range(18))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "DE00")) % 97
    text = f"DE{check:02d}{bban}"
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _page(lines: list[tuple[str, int]], size: tuple[int, int], fill="white", ink="black") -> Image.Image:
    image = Image.new("RGB", size, fill)
    draw = ImageDraw.Draw(image)
    y = 40
    for text, points in lines:
        draw.text((40, y), text, fill=ink, font=font(points))
        y += int(points * 1.6)
    return image


def flat_document(kind: str, rng: random.Random) -> Image.Image:
    surname, given = rng.choice(_NAMES)
    if kind == "passport":
        lines = [("PASSPORT / PASSEPORT", 40), (f"Surname: {surname}", 30), (f"Given names: {given}", 30),
                 ("Nationality: UTOPIAN", 30), (f"Date of birth: {rng.randint(1, 28):02d}.0{rng.randint(1, 9)}.19{rng.randint(50, 99)}", 30), ("", 30)]
        lines += [(line, 30) for line in mrz_passport(surname, given, rng)]
        return _page(lines, (1100, 640), fill=(225, 215, 235))
    if kind == "bank card":
        lines = [("UTOPIA BANK", 40), ("DEBIT", 26), ("", 30), (luhn_number(rng), 52),
                 ("VALID THRU 08/29", 28), (f"{given} {surname}", 32)]
        return _page(lines, (860, 540), fill=(20, 50, 110), ink=(235, 235, 235))
    if kind == "id card":
        lines = [("IDENTITY CARD", 42), ("CARTE D'IDENTITE", 30), (f"Name: {given} {surname}", 30),
                 (f"Born: {rng.randint(1, 28)} March 19{rng.randint(50, 99)}", 30), ("", 20),
                 ("IDUTO" + "".join(str(rng.randint(0, 9)) for _ in range(9)) + "<<<<<<<<<<<<<<<<", 28),
                 (f"{surname.replace(' ', '<')}<<{given.replace(' ', '<')}".ljust(30, "<")[:30], 28)]
        return _page(lines, (960, 600), fill=(230, 240, 225))
    if kind == "iban letter":
        lines = [("Utopia Savings Bank", 34), ("12 Harbour Street, Utopia City", 22), ("", 22),
                 (f"Dear {given.title()} {surname.title()},", 24)]
        lines += [(_sentence(rng, 9), 22) for _ in range(5)]
        lines += [(f"IBAN: {iban_de(rng)}", 26), ("BIC: UTOBDEFFXXX", 24), ("Yours sincerely,", 22)]
        return _page(lines, (1000, 1300))
    if kind == "printed page":
        lines = [(_sentence(rng, 10), 24) for _ in range(20)]
        return _page(lines, (1100, 1300))
    raise ValueError(kind)


def table(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A wood-like table top: brown with streaks and noise."""
    w, h = size
    gen = np.random.default_rng(rng.randint(0, 2**31))
    base = np.array([rng.randint(110, 150), rng.randint(75, 95), rng.randint(40, 60)], np.float32)
    streaks = np.sin(np.linspace(0, rng.uniform(20, 60), h))[:, None] * 18 + gen.normal(0, 6, (h, w))
    rgb = np.clip(base[None, None, :] + streaks[..., None], 0, 255).astype(np.uint8)
    return Image.fromarray(rgb)


def photograph(document: Image.Image, rng: random.Random, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """The document on a table, seen at an angle, slightly blurred and unevenly lit, as a JPEG."""
    background = table(size, rng)
    scale = rng.uniform(0.7, 0.85) * min(size[0] / document.width, size[1] / document.height)
    doc = document.resize((int(document.width * scale), int(document.height * scale)), Image.Resampling.LANCZOS)
    doc = doc.rotate(rng.uniform(-8, 8), expand=True, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    mask = Image.new("L", doc.size, 0)
    mask.paste(255, doc.getbbox())
    mask = doc.convert("L").point(lambda v: 255 if v > 0 else 0)
    x, y = (size[0] - doc.width) // 2, (size[1] - doc.height) // 2
    background.paste(doc, (x, y), mask)
    w, h = size
    d = rng.uniform(0.03, 0.07)  # perspective: the far edge shorter
    coeffs = _perspective([(0, 0), (w, 0), (w, h), (0, h)],
                          [(w * d, h * d / 2), (w * (1 - d), h * d / 2), (w, h), (0, h)])
    shot = background.transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    shot = shot.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.3)))
    light = np.linspace(rng.uniform(0.8, 0.95), rng.uniform(1.0, 1.1), w)[None, :, None]
    rgb = np.clip(np.asarray(shot, np.float32) * light, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=rng.randint(80, 92))
    return out.getvalue()


def _perspective(target, source) -> list[float]:
    matrix = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(matrix, np.float64)
    b = np.array(source, np.float64).reshape(8)
    return np.linalg.solve(a, b).tolist()


def photographed_documents(count_per_kind: int, seed: int) -> list[tuple[str, bytes]]:
    """[(kind, jpeg bytes)], count_per_kind of each kind, reproducible from the seed."""
    rng = random.Random(seed)
    return [(kind, photograph(flat_document(kind, rng), rng)) for _ in range(count_per_kind) for kind in KINDS]
