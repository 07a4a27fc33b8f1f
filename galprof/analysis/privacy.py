"""Privacy: decide on the device whether each photo is private, and say why.

The paper's rules, applied to the stored per-frame facts:
- portrait: a face whose centre lies in the central two thirds of the frame and whose width exceeds
  `settings.private_face_width` (0.05) of the frame width;
- close person: a face of a person seen in >= `close_person_photos` photos on >= `close_person_days`
  days (the people stage's `close_people`);
- OCR: text read by tesseract holds sensitive content (identity-document, licence or card words in
  several languages, machine-readable-zone lines, card numbers passing the Luhn check, IBANs passing
  the mod-97 check, dates of birth), or enough readable text to be a document or personal notes
  (`ocr_document_words`, the paper's "scanned documents"). When tesseract is missing the rule is
  reported as disabled, never silently skipped.
A video is public only if every sampled frame is.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from galprof.config import Settings
from galprof.facts import FrameFacts, MediaFacts

PUBLIC = "public"
PRIVATE = "private"
# Readable words a frame's OCR text needs to count as a document (0 disables that part of the rule).
OCR_DOCUMENT_WORDS = 15

# ---- sensitive text ----

# Words on identity documents, driving licences and payment cards, in several languages. Matched
# case-insensitively on word boundaries, after removing accents (so "identite" matches "identité").
_DOCUMENT_WORDS = {
    "passport": [
        "passport", "passeport", "reisepass", "pasaporte", "passaporto", "paspoort", "paszport",
        "passaporte", "pasaport", "cestovni pas", "паспорт", "护照", "護照", "旅券", "パスポート", "여권",
    ],
    "identity card": [
        "identity card", "id card", "national identity", "carte d'identite", "carte nationale d'identite",
        "personalausweis", "identitatskarte", "documento de identidad", "documento nacional de identidad",
        "carta d'identita", "identiteitskaart", "dowod osobisty", "kimlik karti", "cartao de cidadao",
        "bilhete de identidade", "удостоверение личности", "身份证", "身分証", "신분증", "social security",
        "national insurance number", "tax identification", "steuer-id", "numero de securite sociale",
    ],
    "driving licence": [
        "driving licence", "driving license", "driver's license", "driver license", "drivers license",
        "fuhrerschein", "permis de conduire", "licencia de conducir", "carnet de conducir",
        "patente di guida", "rijbewijs", "prawo jazdy", "carteira de habilitacao",
        "водительское удостоверение", "運転免許証", "驾驶证", "운전면허증",
    ],
    "payment card": [
        "credit card", "debit card", "carte bancaire", "carte de credit", "kreditkarte", "tarjeta de credito",
        "tarjeta de debito", "carta di credito", "creditcard", "karta kredytowa", "cartao de credito",
        "valid thru", "valid from", "card number", "card holder", "cardholder", "cvv", "cvc",
    ],
}


def fold(text: str) -> str:
    """Text without accents (NFKD minus combining marks), for accent-insensitive word matching."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_WORD_RES = {
    kind: re.compile(r"(?<!\w)(?:" + "|".join(re.escape(fold(w)) for w in words) + r")(?!\w)", re.IGNORECASE)
    for kind, words in _DOCUMENT_WORDS.items()
}
# Machine-readable zone (ICAO 9303): 2 x 44 (passport), 3 x 30 (ID card) or 2 x 36 characters of
# A-Z, 0-9 and the filler "<", with several fillers in a row.
_MRZ_RE = re.compile(r"^[A-Z0-9<]{28,46}$")
_CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_IBAN_RE = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")
# Lengths of IBANs by country (ISO 13616 registry, the countries most likely met).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}
_DATE = r"(?:\d{1,2}[./\- ]\d{1,2}[./\- ](?:\d{4}|\d{2})|\d{4}[./\-]\d{1,2}[./\-]\d{1,2}|\d{1,2} [a-z]{3,9}\.? \d{4})"
_DOB_RE = re.compile(
    r"(?:date of birth|birth ?date|d\.?o\.?b\.?|born|geburtsdatum|geboren|date de naissance|nee? le|"
    r"fecha de nacimiento|data di nascita|geboortedatum|data de nascimento|data urodzenia|dogum tarihi|"
    r"дата рождения|生年月日|出生日期)\W{0,6}(?:\w+\W{1,3}){0,3}?" + _DATE,
    re.IGNORECASE,
)
_WORD_TOKEN_RE = re.compile(r"[^\W\d_]{3,}")
_VOWELS = set("aeiouyäöüàâéèêëîïôûùáíóúãõåæø")


@dataclass
class Finding:
    """One piece of sensitive text: its kind and a masked excerpt (never the full number)."""

    kind: str  # "document words", "mrz", "card number", "iban", "date of birth", "document"
    detail: str


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: known country length and mod-97 of the rearranged number equals 1."""
    iban = iban.replace(" ", "").upper()
    if len(iban) < 15 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _mask(s: str) -> str:
    s = s.replace(" ", "").replace("-", "")
    return s[:4] + "*" * max(0, len(s) - 8) + s[-4:] if len(s) > 8 else "*" * len(s)


def _mrz_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.strip().replace(" ", "").replace("«", "<").replace("‹", "<").upper()
        if _MRZ_RE.match(line) and "<<" in line and sum(c.isalpha() or c.isdigit() for c in line) >= 10:
            lines.append(line)
    return lines


def readable_words(text: str) -> list[str]:
    """Tokens that look like words (3+ letters with a vowel, or CJK characters): OCR of photos
    without text yields mostly short consonant strings and punctuation."""
    return [w for w in _WORD_TOKEN_RE.findall(text) if any(c.lower() in _VOWELS for c in w) or not w.isascii()]


def find_sensitive(text: str | None, document_words: int = OCR_DOCUMENT_WORDS) -> list[Finding]:
    """Everything sensitive in an OCR text (empty when nothing is)."""
    if not text:
        return []
    findings: list[Finding] = []
    folded = fold(text)
    for kind, rx in _WORD_RES.items():
        match = rx.search(folded)
        if match:
            findings.append(Finding("document words", f"{kind}: {match.group(0)!r}"))
    mrz = _mrz_lines(text)
    if mrz:
        findings.append(Finding("mrz", f"{len(mrz)} machine-readable zone line(s)"))
    for match in _CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and digits[0] in "3456" and len(set(digits)) > 1 and luhn_valid(digits):
            findings.append(Finding("card number", _mask(digits)))
            break
    for match in _IBAN_RE.finditer(text.upper()):
        candidate = match.group(1).replace(" ", "")
        # the regex may run into the following word; try the country's length first
        length = IBAN_LENGTHS.get(candidate[:2])
        if length and len(candidate) > length:
            candidate = candidate[:length]
        if iban_valid(candidate):
            findings.append(Finding("iban", _mask(candidate)))
            break
    if _DOB_RE.search(folded):
        findings.append(Finding("date of birth", "a date next to a date-of-birth label"))
    if document_words > 0:
        n = len(readable_words(text))
        if n >= document_words:
            findings.append(Finding("document", f"{n} readable words"))
    return findings


# ---- the rules ----


def face_is_portrait(frame: FrameFacts, face_box, min_width: float) -> bool:
    """The paper's portrait rule: face centre in the central 2/3 of the frame (both axes) and face
    wider than min_width x frame width."""
    cx, cy = face_box.center
    w, h = frame.width, frame.height
    central = w / 6 <= cx <= 5 * w / 6 and h / 6 <= cy <= 5 * h / 6
    return central and face_box.width > min_width * w


@dataclass
class PhotoPrivacy:
    status: str
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": self.reasons}


class PrivacyJudge:
    """Applies the rules to media items and counts the outcome for the privacy section.

    close_people / person_of_face come from the people stage (PeopleReport); ocr_enabled says whether
    frames could have been read (settings.ocr and tesseract present); ocr_note explains when not.
    """

    def __init__(
        self,
        settings: Settings,
        close_people: Iterable[int] = (),
        person_of_face: dict[tuple[str, int, int], int] | None = None,
        ocr_enabled: bool = True,
        ocr_note: str | None = None,
        document_words: int = OCR_DOCUMENT_WORDS,
    ):
        self.settings = settings
        self.close_people = set(close_people)
        self.person_of_face = person_of_face or {}
        self.ocr_enabled = ocr_enabled
        self.ocr_note = ocr_note
        self.document_words = document_words
        self.status = Counter()
        self.rule_hits = Counter()
        self.kind_status = Counter()
        self.ocr_frames = 0

    def judge(self, media: MediaFacts) -> PhotoPrivacy:
        """Status of one photo or video, with one reason per rule and frame that fired."""
        reasons: list[dict[str, Any]] = []
        frames_private = 0
        for fi, frame in enumerate(media.frames):
            frame_reasons = self._frame_reasons(media.path, fi, frame)
            if frame_reasons:
                frames_private += 1
            reasons.extend(frame_reasons)
        # A video is public only if all its frames are: any private frame makes the item private.
        status = PRIVATE if frames_private > 0 else PUBLIC
        self.status[status] += 1
        self.kind_status[(media.kind, status)] += 1
        for rule in {r["rule"] for r in reasons}:
            self.rule_hits[rule] += 1
        return PhotoPrivacy(status, reasons)

    def _frame_reasons(self, path: str, fi: int, frame: FrameFacts) -> list[dict[str, Any]]:
        reasons: list[dict[str, Any]] = []
        min_width = self.settings.private_face_width
        for ki, face in enumerate(frame.faces):
            if face.score < self.settings.face_score:
                continue
            if face_is_portrait(frame, face.box, min_width):
                reasons.append({
                    "rule": "face_size", "frame": fi, "face": ki,
                    "detail": f"face {face.box.width / max(frame.width, 1):.3f} of the width, central",
                })
                break
        for ki, _face in enumerate(frame.faces):
            person = self.person_of_face.get((path, fi, ki))
            if person is not None and person in self.close_people:
                reasons.append({"rule": "close_person", "frame": fi, "face": ki, "person": person,
                                "detail": f"person {person} is a close person"})
                break
        if frame.text is not None:
            self.ocr_frames += 1
            for finding in find_sensitive(frame.text, self.document_words):
                rule = "ocr_document" if finding.kind == "document" else "ocr_sensitive"
                reasons.append({"rule": rule, "frame": fi, "kind": finding.kind, "detail": finding.detail})
        return reasons

    def section(self) -> dict[str, Any]:
        """The JSON-ready "privacy" section: rules (with enabled flags), counts per status and rule."""
        s = self.settings
        return {
            "default": PUBLIC,
            "rules": {
                "face_size": {"enabled": True, "min_face_width": s.private_face_width,
                              "region": "central two thirds"},
                "close_person": {"enabled": True, "min_photos": s.close_person_photos,
                                 "min_days": s.close_person_days, "close_people": sorted(self.close_people)},
                "ocr": {"enabled": self.ocr_enabled, "note": self.ocr_note,
                        "document_words": self.document_words, "frames_read": self.ocr_frames},
            },
            "counts": {PUBLIC: self.status[PUBLIC], PRIVATE: self.status[PRIVATE]},
            "by_kind": {
                kind: {PUBLIC: self.kind_status[(kind, PUBLIC)], PRIVATE: self.kind_status[(kind, PRIVATE)]}
                for kind in sorted({k for k, _ in self.kind_status})
            },
            "by_rule": dict(sorted(self.rule_hits.items())),
        }
