"""Company-name normalisation: the data tables and the pure functions behind customer matching.

Everything here is deterministic text processing with no I/O. A name goes through
:func:`normalise` (case, accents, punctuation, "&", dotted acronyms, jurisdiction markers),
then :func:`tokens`, then :func:`strip_legal_suffixes` (legal forms of many countries, kept in
:data:`LEGAL_SUFFIXES`).
"""

from __future__ import annotations

import re
import unicodedata

# Legal forms, as they look after normalisation (lower case, dots removed, spaces collapsed).
# Multi-word forms are listed as space-separated token sequences.
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {
        # English-speaking countries
        "inc", "incorporated", "corp", "corporation", "co", "company", "cos", "companies", "llc", "llp",
        "lllp", "lp", "ltd", "limited", "plc", "pllc", "pc", "pty", "pty ltd", "pty limited",
        "co ltd", "co limited", "co inc", "co llc", "holdings inc", "trust inc", "lc", "ltda", "pte",
        "pte ltd", "private limited", "pvt", "pvt ltd", "ulc", "dac", "cic", "na", "nv", "bv", "ab",
        # German-speaking countries
        "gmbh", "ag", "kg", "kgaa", "gmbh co kg", "gmbh and co kg", "se", "ohg", "ug", "eg", "ev",
        # French, Belgian, Swiss, Luxembourgish
        "sa", "sas", "sasu", "sarl", "eurl", "sca", "scs", "snc", "sci", "sprl", "srl", "sa de cv",
        "sab de cv", "s de rl", "s de rl de cv", "sl", "slu", "scrl", "sicav",
        # Italian, Spanish, Portuguese, Latin America
        "spa", "sapa", "scarl", "srls", "sau", "lda", "me", "eireli", "cv",
        # Dutch, Scandinavian, Finnish, Baltic, Polish, Czech
        "vof", "as", "asa", "aps", "a s", "oy", "oyj", "hf", "ehf", "sp z oo", "spzoo",
        "sro", "zrt", "kft", "nyrt", "doo", "dd", "ad", "ood", "eood", "oü", "ou", "uab",
        # Asia-Pacific, Middle East, Africa
        "sdn bhd", "bhd", "berhad", "tbk", "pt", "pt tbk", "jsc", "pjsc", "ojsc", "cjsc", "ooo", "zao",
        "kk", "yk", "gk", "wll", "fzco", "fze", "fzc", "fz llc", "saog", "saoc",
        "sal", "proprietary limited", "rf", "cc", "npc", "soc ltd",
        # Funds and partnerships that behave like suffixes
        "mlp", "reit",
    }
)  # fmt: skip

# Legal forms written in CJK scripts, removed wherever they appear in the name.
CJK_LEGAL_FORMS: tuple[str, ...] = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "(株)",
    "（株）",
    "㈱",
    "주식회사",
    "유한회사",
    "(주)",
    "（주）",
)

# Words that many unrelated companies share. They count for little when telling customers apart
# (on top of the inverse document frequency computed from the customer list itself).
GENERIC_WORDS: frozenset[str] = frozenset(
    {
        "group", "groups", "holding", "holdings", "services", "service", "bank", "banks", "bancorp",
        "bancshares", "banc", "bankshares", "capital", "international", "intl", "global", "worldwide",
        "world", "technologies", "technology", "tech", "systems", "system", "solutions", "partners",
        "partnership", "industries", "industry", "industrial", "enterprises", "enterprise", "financial",
        "finance", "trust", "fund", "funds", "investment", "investments", "investors", "energy",
        "resources", "pharmaceuticals", "pharmaceutical", "pharma", "therapeutics", "biosciences",
        "bio", "biotech", "acquisition", "acquisitions", "income", "properties", "property", "realty",
        "real", "estate", "america", "american", "americas", "national", "first", "united", "general",
        "new", "media", "communications", "networks", "network", "software", "digital", "health",
        "healthcare", "medical", "brands", "products", "ventures", "management", "securities",
        "insurance", "motors", "electric", "power", "oil", "gas", "mining", "gold", "minerals",
        "petroleum", "semiconductor", "labs", "laboratories", "usa", "us", "corporate", "consulting",
        "associates", "advisors", "advisers", "development", "credit", "mortgage", "equity", "asset",
        "assets", "opportunities", "strategic", "portfolio", "municipal", "series", "etf", "shares",
        "premium", "dividend", "fixed", "term", "select", "total", "return", "high", "yield", "bond",
        "bonds", "markets", "market", "business", "logistics", "foods", "food", "retail",
        "stores", "store", "manufacturing", "engineering", "entertainment", "innovations", "innovation",
        "sciences", "science", "royalty", "royalties", "infrastructure", "dynamics",
        "analytics", "data", "cloud", "automotive", "energies", "renewables", "utilities", "trading",
        "exchange", "bankcorp", "savings", "federal", "community", "mutual", "life", "the", "of", "and",
        "de", "la", "le", "les", "des", "du", "et", "y", "e", "di", "del", "der", "und", "van", "von",
        "com", "net", "org", "io", "ai", "co", "hk", "uk",
    }
)  # fmt: skip

# Words employees use to describe an expense (meals, travel, meetings, office). Found in a note,
# they are context, not a customer's name, unless a customer's whole name is spelled out.
NOTE_WORDS: frozenset[str] = frozenset(
    {
        # meals and drinks
        "lunch", "lunches", "dinner", "dinners", "breakfast", "brunch", "coffee", "coffees", "tea",
        "drinks", "drink", "beer", "beers", "wine", "cocktails", "meal", "meals", "snack", "snacks",
        "food", "pizza", "sushi", "burgers", "tacos", "bagels", "donuts", "cake", "restaurant", "bar",
        "pub", "cafe", "bistro", "steakhouse", "catering", "takeout", "delivery", "happy", "hour",
        "celebration", "party", "treat", "groceries",
        # people
        "team", "teams", "client", "clients", "customer", "customers", "prospect", "prospects",
        "partner", "vendor", "vendors", "folks", "people", "guys", "colleagues", "colleague", "staff",
        "crew", "manager", "managers", "boss", "exec", "execs", "executive", "executives", "ceo", "cfo",
        "cto", "vp", "director", "board", "engineers", "engineering", "sales", "marketing", "ops",
        "finance", "hr", "legal", "support", "success", "account", "accounts", "contact", "candidate",
        "candidates", "interview", "intern", "interns", "hire", "hires", "guest", "guests",
        "friends", "family",
        # meetings and selling
        "meeting", "meetings", "meet", "call", "calls", "offsite", "onsite", "kickoff", "kick", "off",
        "workshop", "demo", "demos", "pitch", "presentation", "review", "qbr", "renewal", "renewals",
        "contract", "contracts", "deal", "deals", "proposal", "negotiation", "sync", "visit", "visits",
        "intro", "introduction", "follow", "followup", "up", "discussion", "discuss", "planning",
        "plan", "strategy", "session", "sessions", "training", "onboarding", "all", "hands", "standup",
        "retro", "retrospective", "roadmap", "pilot", "poc", "rfp", "signing", "closing", "close",
        "celebrate", "celebrating", "thank", "thanks", "appreciation", "networking", "conference",
        "summit", "expo", "event", "events", "trade", "show", "booth", "registration", "webinar",
        "meetup", "talk", "talks", "panel", "keynote",
        # travel
        "travel", "trip", "trips", "flight", "flights", "airfare", "train", "rail", "taxi", "taxis",
        "cab", "uber", "lyft", "ride", "rideshare", "car", "rental", "hotel", "hotels", "motel",
        "airbnb", "lodging", "stay", "parking", "mileage", "gas", "fuel", "toll", "tolls", "airport",
        "station", "bus", "metro", "subway", "ferry", "baggage", "bag", "fee", "fees", "visa",
        "per", "diem", "home", "back", "return", "office", "hq", "headquarters", "site", "downtown",
        "shuttle", "road", "commute", "transfer", "limo", "tram", "boarding", "layover", "lounge",
        "upgrade", "checkin", "checkout", "roundtrip", "shift", "overtime", "remote", "coworking",
        "desk", "pass", "shipping", "room", "rooms", "suite", "booking", "reservation", "trip's",
        # office and other
        "supplies", "printer", "ink", "paper", "stationery", "equipment", "laptop", "monitor",
        "keyboard", "mouse", "headset", "cable", "charger", "phone", "mobile", "internet", "wifi",
        "subscription", "license", "licence", "books", "book", "course", "certification", "exam",
        "gift", "gifts", "flowers", "swag", "postage", "courier", "print", "printing",
        "misc", "miscellaneous", "expense", "expenses", "receipt", "reimbursement", "tip", "tips",
        "bill", "bills", "cell", "data", "membership", "dues", "farewell", "birthday", "anniversary", "wedding", "baby", "welcome", "leaving", "goodbye",
        "building", "bonding", "outing", "dinner's", "application", "replacement", "repair", "battery",
        "adapter", "day", "project", "projects", "team-building", "recruiting", "hiring",
        "tax", "invoice", "order", "purchase", "bought", "paid", "cost", "costs",
        # time and place words
        "today", "yesterday", "tonight", "tomorrow", "morning", "afternoon", "evening", "night",
        "nights", "days", "week", "weeks", "weekend", "month", "quarter", "quarterly", "annual",
        "yearly", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon",
        "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
        "sep", "sept", "oct", "nov", "dec", "january", "february", "march", "april", "june", "july",
        "august", "september", "october", "november", "december", "nyc", "sf", "la", "london", "paris",
        "berlin", "boston", "chicago", "seattle", "austin", "denver", "city", "local",
        # cities people travel to for work
        "amsterdam", "atlanta", "auckland", "bangalore", "bangkok", "barcelona", "beijing", "bogota",
        "brussels", "budapest", "cairo", "calgary", "copenhagen", "dallas", "delhi", "detroit", "dubai",
        "dublin", "edinburgh", "frankfurt", "geneva", "hamburg", "helsinki", "houston", "istanbul",
        "jakarta", "johannesburg", "lagos", "lisbon", "madrid", "manchester", "manila", "melbourne",
        "miami", "milan", "montreal", "moscow", "mumbai", "munich", "nairobi", "oslo", "osaka",
        "philadelphia", "phoenix", "portland", "prague", "rome", "santiago", "seoul", "shanghai",
        "singapore", "stockholm", "sydney", "taipei", "tokyo", "toronto", "vancouver", "vienna",
        "warsaw", "zurich", "orlando", "nashville", "minneapolis", "pittsburgh", "baltimore", "raleigh",
        # function words and shorthand
        "w", "with", "re", "for", "at", "to", "from", "and", "the", "a", "an", "of", "on", "in", "our",
        "my", "their", "them", "they", "we", "us", "me", "i", "you", "your", "his", "her", "about",
        "after", "before", "during", "into", "over", "by", "via", "plus", "incl", "including", "x",
        "pp", "ppl", "pax", "some", "few", "two", "three", "four", "2", "3", "4", "5", "6",
        "team's", "this", "that", "these", "those", "just", "quick", "big", "small", "long", "last",
        "next", "second", "final", "other", "more", "extra", "work", "working", "late",
        "early", "out", "s", "t", "not", "no", "none", "n", "internal", "only", "general",
        "see", "saw", "seeing", "get", "got", "went", "go", "going", "had", "have", "has", "is", "are",
        "was", "were", "be", "been", "will", "can", "do", "did", "need", "needed", "prep", "re:", "fyi",
        "etc", "asap", "approx", "around", "between", "like", "same", "each", "every", "one",
        "people's", "w/", "wth", "thru", "through", "down", "hosted", "hosting", "host", "took",
        "taking", "take", "bring", "brought", "met", "meeting's", "while", "when", "where", "what",
    }
)  # fmt: skip

# Given names that appear in notes ("dinner with Grace"): on their own they name a person, not a
# customer that happens to share the word.
FIRST_NAMES: frozenset[str] = frozenset(
    [
        "aaron",
        "abby",
        "adam",
        "adrian",
        "ahmed",
        "aisha",
        "alan",
        "alex",
        "alexander",
        "alice",
        "alicia",
        "amanda",
        "amir",
        "amy",
        "ana",
        "andrea",
        "andrew",
        "andy",
        "angela",
        "anita",
        "ann",
        "anna",
        "anne",
        "anthony",
        "antonio",
        "arjun",
        "ashley",
        "barbara",
        "ben",
        "benjamin",
        "beth",
        "bill",
        "bob",
        "brad",
        "brandon",
        "brian",
        "bruce",
        "carl",
        "carla",
        "carlos",
        "carmen",
        "carol",
        "caroline",
        "catherine",
        "charles",
        "charlie",
        "chen",
        "chris",
        "christina",
        "christine",
        "claire",
        "claudia",
        "colin",
        "craig",
        "dan",
        "daniel",
        "david",
        "deborah",
        "dennis",
        "derek",
        "dev",
        "diana",
        "diego",
        "dmitri",
        "dominic",
        "donna",
        "doug",
        "dylan",
        "ed",
        "edward",
        "elena",
        "eli",
        "elizabeth",
        "ella",
        "emily",
        "emma",
        "eric",
        "erik",
        "ethan",
        "eva",
        "farid",
        "fatima",
        "felix",
        "fernando",
        "frank",
        "gabriel",
        "gary",
        "george",
        "gina",
        "grace",
        "greg",
        "hannah",
        "hans",
        "harry",
        "heather",
        "helen",
        "henry",
        "hiro",
        "hiroshi",
        "ian",
        "igor",
        "ines",
        "irene",
        "isaac",
        "isabel",
        "jack",
        "jacob",
        "james",
        "jamie",
        "jan",
        "jane",
        "janet",
        "jason",
        "javier",
        "jay",
        "jean",
        "jeff",
        "jennifer",
        "jenny",
        "jessica",
        "jim",
        "joan",
        "joe",
        "john",
        "jon",
        "jonathan",
        "jorge",
        "jose",
        "joseph",
        "josh",
        "juan",
        "julia",
        "julie",
        "justin",
        "kamal",
        "karen",
        "kate",
        "katie",
        "kelly",
        "ken",
        "kevin",
        "kim",
        "kofi",
        "laura",
        "lauren",
        "lena",
        "leo",
        "li",
        "liam",
        "linda",
        "lisa",
        "liz",
        "lucas",
        "lucy",
        "luis",
        "luke",
        "maria",
        "marie",
        "mark",
        "marco",
        "marcus",
        "martin",
        "mary",
        "matt",
        "matthew",
        "max",
        "maya",
        "megan",
        "mei",
        "meera",
        "michael",
        "michelle",
        "miguel",
        "mike",
        "ming",
        "mohammed",
        "monica",
        "nadia",
        "nancy",
        "natalie",
        "nathan",
        "nick",
        "nicole",
        "nina",
        "noah",
        "olga",
        "oliver",
        "olivia",
        "omar",
        "pablo",
        "pat",
        "patricia",
        "paul",
        "peter",
        "phil",
        "priya",
        "rachel",
        "raj",
        "rahul",
        "ravi",
        "rebecca",
        "richard",
        "rick",
        "rob",
        "robert",
        "ryan",
        "sam",
        "samantha",
        "sara",
        "sarah",
        "scott",
        "sean",
        "sergei",
        "shawn",
        "simon",
        "sofia",
        "sophie",
        "stephen",
        "steve",
        "susan",
        "tanya",
        "ted",
        "thomas",
        "tim",
        "tina",
        "tom",
        "tony",
        "tyler",
        "vanessa",
        "victor",
        "vikram",
        "walter",
        "wei",
        "will",
        "william",
        "yuki",
        "yusuf",
        "zoe",
    ]
)

# Widely used short names that no rule can derive from the registered name.
KNOWN_SHORT_NAMES: dict[str, str] = {
    "bofa": "bank of america",
    "boa": "bank of america",
    "amex": "american express",
    "jpm": "jpmorgan chase",
    "jpmc": "jpmorgan chase",
    "chase": "jpmorgan chase",
    "coke": "coca cola",
    "pg": "procter and gamble",
    "jj": "johnson and johnson",
    "gm": "general motors",
    "ge": "general electric",
    "hpe": "hewlett packard enterprise",
    "ibm": "international business machines",
    "gs": "goldman sachs",
    "ms": "morgan stanley",
    "wells": "wells fargo",
    "citi": "citigroup",
    "pwc": "pricewaterhousecoopers",
    "ey": "ernst and young",
    "bms": "bristol myers squibb",
    "lilly": "eli lilly",
    "pfe": "pfizer",
    "fb": "meta platforms",
    "facebook": "meta platforms",
    "google": "alphabet",
    "msft": "microsoft",
    "aws": "amazon com",
    "mmm": "3m",
    "ups": "united parcel service",
    "tsmc": "taiwan semiconductor manufacturing",
    "vw": "volkswagen",
    "bmw": "bayerische motoren werke",
    "lvmh": "lvmh moet hennessy louis vuitton",
    "hsbc": "hsbc holdings",
    "ubs": "ubs group",
    "bny": "bank of new york mellon",
    "bny mellon": "bank of new york mellon",
    "td": "toronto dominion bank",
    "rbc": "royal bank of canada",
    "bmo": "bank of montreal",
    "cibc": "canadian imperial bank of commerce",
    "abinbev": "anheuser busch inbev",
    "ab inbev": "anheuser busch inbev",
    "unh": "unitedhealth group",
    "cvs": "cvs health",
    "hd": "home depot",
    "exxon": "exxon mobil",
    "exxonmobil": "exxon mobil",
    "berkshire": "berkshire hathaway",
}

_ACRONYM_DOTS = re.compile(r"\b(?:[^\W\d_]\.){2,}(?![^\W\d_])")
_AMP_LETTERS = re.compile(r"\b([^\W\d_]{1,2})\s*&\s*([^\W\d_]{1,2})\b")
_SEC_MARKER = re.compile(r"/[a-z]{2,4}(?:/|\b)|\\[a-z]{2,4}(?:\\|\b)")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_NON_WORD = re.compile(r"[^\w]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_DOMAIN = re.compile(r"\b((?:[a-z0-9-]+\.)+(?:com|net|org|io|ai|co|biz|info|us|uk|de|fr|ca|au|jp|app|dev))\b")

_SERIES = frozenset(
    {"ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", *map(str, range(1, 21))}
)
_DANGLING = frozenset({"and", "of", "the", "de", "et", "und", "y", "e"})
_MAX_SUFFIX_WORDS = max(len(s.split()) for s in LEGAL_SUFFIXES)
_SUFFIX_LAST_WORDS = frozenset(s.split()[-1] for s in LEGAL_SUFFIXES)


def fold(text: str) -> str:
    """Lower case without accents (``Nestlé`` -> ``nestle``); CJK and other scripts are kept."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped).casefold().replace("ß", "ss")


def normalise(text: str, *, drop_parentheses: bool = False) -> str:
    """Lower-cased, accent-free words separated by single spaces.

    ``J.P. Morgan`` -> ``jp morgan``; ``AT&T`` -> ``att``; ``Procter & Gamble`` ->
    ``procter and gamble``; ``DIODES INC /DEL/`` -> ``diodes inc``; CJK legal forms are removed.
    """
    if not text.isascii():
        for form in CJK_LEGAL_FORMS:
            if form in text:
                text = text.replace(form, " ")
    text = fold(text)
    if drop_parentheses and ("(" in text or "[" in text):
        text = _PARENS.sub(" ", text)
    if "/" in text or "\\" in text:
        text = _SEC_MARKER.sub(" ", text)
    if "." in text:
        text = _ACRONYM_DOTS.sub(_undot, text)
    if "&" in text or "+" in text:
        text = _AMP_LETTERS.sub(r"\1\2", text)
        text = text.replace("&", " and ").replace("+", " and ")
    if "'" in text or "’" in text:
        text = _APOSTROPHE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())


def _undot(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "")


def tokens(text: str) -> list[str]:
    """Words of a normalised text; a run of CJK characters with no spaces stays one word."""
    return text.split()


def strip_legal_suffixes(words: list[str]) -> list[str]:
    """Drop trailing legal forms (``Acme Holdings Co., Ltd.`` -> ``acme holdings``) and a leading
    ``the``; never returns an empty list for a non-empty input."""
    out = list(words)
    series: list[str] = []
    if len(out) > 2 and out[-1] in _SERIES:
        series = [out.pop()]  # "Acquisition Corp. II": the legal form sits before the series
    changed = True
    while changed and len(out) > 1:
        changed = False
        if out[-1] not in _SUFFIX_LAST_WORDS and out[-1] not in _DANGLING:
            break
        for size in range(min(_MAX_SUFFIX_WORDS, len(out) - 1), 0, -1):
            if " ".join(out[-size:]) in LEGAL_SUFFIXES:
                del out[-size:]
                changed = True
                break
        while len(out) > 1 and out[-1] in _DANGLING:
            out.pop()
            changed = True
    if len(out) > 1 and out[0] == "the":
        out = out[1:]
    return out + series


def name_words(name: str) -> list[str]:
    """The distinctive words of a company name: normalised, without legal forms or brackets."""
    words = strip_legal_suffixes(tokens(normalise(name, drop_parentheses=True)))
    if not words:
        words = strip_legal_suffixes(tokens(normalise(name)))
    return words


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def acronym(words: list[str]) -> str | None:
    """Initials of the significant words (``international business machines`` -> ``ibm``)."""
    significant = [w for w in words if w not in {"and", "of", "the", "de", "la", "for", "und", "et"}]
    if len(significant) < 2 or any(not w.isascii() and has_cjk(w) for w in significant):
        return None
    letters = "".join(w[0] for w in significant)
    return letters if len(letters) >= 2 else None


def email_domains(text: str) -> list[str]:
    """Domains of e-mail addresses and bare web domains mentioned in a text, lower case."""
    folded = fold(text)
    found = [m.group(1) for m in _EMAIL.finditer(folded)]
    without_emails = _EMAIL.sub(" ", folded)
    found.extend(m.group(1) for m in _DOMAIN.finditer(without_emails))
    return found


def registrable_domain(domain: str) -> str:
    """``mail.eu.acme.co.uk`` -> ``acme.co.uk``; ``www.acme.com`` -> ``acme.com``."""
    parts = [p for p in fold(domain).strip().strip(".").split(".") if p]
    if parts and parts[0] in {"www", "mail", "email", "smtp"}:
        parts = parts[1:]
    if (
        len(parts) >= 3
        and parts[-2] in {"co", "com", "org", "net", "ac", "gov", "ne", "or"}
        and len(parts[-1]) == 2
    ):
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def domain_stem(domain: str) -> str:
    """The organisation part of a domain: ``jpmorgan.com`` -> ``jpmorgan``."""
    return registrable_domain(domain).split(".")[0]
