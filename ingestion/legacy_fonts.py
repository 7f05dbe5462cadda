"""Vietnamese typed in the legacy fonts of the 1990s (TCVN3, also called ABC, and VNI), read as Unicode.

With a .VnTime (TCVN3) or VNI-Times font, Excel stores Latin-1 letters and the font draws them as Vietnamese:
'Thanh Hóa' is stored as 'Thanh Hãa' in TCVN3 and 'Thanh Hoùa' in VNI. Such a name matches no unit. Both
encodings use the same Latin-1 letters for different things, so a text cannot always tell which it is: the
caller tries each reading that gives Vietnamese letters only, and keeps the one that names a unit.
"""

from __future__ import annotations

import unicodedata

VIETNAMESE_LOWER = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
VIETNAMESE = frozenset(VIETNAMESE_LOWER + VIETNAMESE_LOWER.upper())

# TCVN3 (TCVN 5712:1993, the ABC fonts), one byte per letter. Capitals with a tone mark come from a second
# font (.VnTimeH) that draws the same bytes as capitals, so they read back as small letters.
_TCVN3 = str.maketrans(
    "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô\u00adõøö÷ùúýûüþ¡¢§£¤¥¦",
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂĐÊÔƠƯ",
)

# VNI: a base letter followed by a mark letter. Tone marks alone: ù sắc, ø huyền, û hỏi, õ ngã, ï nặng.
# With a circumflex (â ê ô): â alone, á à å ã ä with a tone; with a breve (ă): ê alone, é è ú ü ë with a tone.
_TONES = {"": "", "\u0301": "ù", "\u0300": "ø", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_CIRCUMFLEX = {"": "â", "\u0301": "á", "\u0300": "à", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
_BREVE = {"": "ê", "\u0301": "é", "\u0300": "è", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
_VNI_I = {"\u0301": "í", "\u0300": "ì", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}  # i with a tone is one letter


def _vni_of(letter: str) -> str:
    """The VNI spelling of one small Vietnamese letter."""
    if letter == "đ":
        return "ñ"
    base, *marks = unicodedata.normalize("NFD", letter)
    shape = next((m for m in marks if m in "\u0302\u0306\u031b"), "")
    tone = next((m for m in marks if m in _TONES), "")
    if base == "i" and not shape:
        return _VNI_I[tone]
    if base == "y" and tone == "\u0323":
        return "î"
    if shape == "\u0302":
        return base + _CIRCUMFLEX[tone]
    if shape == "\u0306":
        return base + _BREVE[tone]
    if shape == "\u031b":  # horn: ơ and ư are letters of their own in VNI
        return {"o": "ô", "u": "ö"}[base] + _TONES[tone]
    return base + _TONES[tone]


_VNI = {_vni_of(letter): letter for letter in VIETNAMESE_LOWER}
_VNI |= {vni.upper(): letter.upper() for vni, letter in _VNI.items()}


def from_tcvn3(text: str) -> str:
    return text.translate(_TCVN3)


def from_vni(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if len(pair) == 2 and pair in _VNI:
            out.append(_VNI[pair])
            i += 2
        else:
            out.append(_VNI.get(text[i], text[i]))
            i += 1
    return "".join(out)


ENCODINGS = {"TCVN3 (ABC)": from_tcvn3, "VNI": from_vni}


def looks_legacy(text: str) -> bool:
    """True if the text has a letter that Vietnamese written in Unicode never has (µ, ¸, ø, ï, ...).

    Not every legacy text does: 'Thanh Hãa' (TCVN3) and 'Thanh Hoùa' (VNI) are made of Vietnamese letters."""
    return any(ord(c) > 127 and c not in VIETNAMESE for c in text)


def readings(text: str) -> dict[str, str]:
    """Encoding name -> the text read in it, for each legacy encoding that changes it into Vietnamese letters."""
    read = {name: convert(text) for name, convert in ENCODINGS.items()}
    return {name: value for name, value in read.items() if value != text and not looks_legacy(value)}
