"""Labels of the 33 LFW people in ../shared/data/lfw used by benchmarks/age_gender_eval.py.

gender: from the names (public figures; 1 = female). born: year of birth (public record), used only
for an approximate age: LFW's photos are news photos of 2002-2004, so age ~ 2003 - born, +-1.5 y
(older archive photos of a person, e.g. of Muhammad Ali, make a person's fused age look too young).
"""

from __future__ import annotations

PHOTO_YEAR = 2003

# name: (female, born)
LFW_PEOPLE: dict[str, tuple[int, int]] = {
    "Abdullah_Gul": (0, 1950), "Andre_Agassi": (0, 1970), "Atal_Bihari_Vajpayee": (0, 1924),
    "David_Nalbandian": (0, 1982), "Gloria_Macapagal_Arroyo": (1, 1947), "Guillermo_Coria": (0, 1982),
    "Hans_Blix": (0, 1928), "Hu_Jintao": (0, 1942), "Hugo_Chavez": (0, 1954), "James_Kelly": (0, 1937),
    "Jeb_Bush": (0, 1953), "Jennifer_Garner": (1, 1972), "Jiri_Novak": (0, 1975), "John_Bolton": (0, 1948),
    "Joschka_Fischer": (0, 1948), "Kim_Clijsters": (1, 1983), "Leonardo_DiCaprio": (0, 1974),
    "Lleyton_Hewitt": (0, 1981), "Mark_Philippoussis": (0, 1976), "Michael_Schumacher": (0, 1969),
    "Muhammad_Ali": (0, 1942), "Nicole_Kidman": (1, 1967), "Paradorn_Srichaphan": (0, 1979),
    "Pervez_Musharraf": (0, 1943), "Recep_Tayyip_Erdogan": (0, 1954), "Richard_Armitage": (0, 1945),
    "Roger_Federer": (0, 1981), "Serena_Williams": (1, 1981), "Sylvester_Stallone": (0, 1946),
    "Tim_Henman": (0, 1974), "Tommy_Franks": (0, 1945), "Venus_Williams": (1, 1980), "Walter_Mondale": (0, 1928),
}
