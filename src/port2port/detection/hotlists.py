"""The in-memory hotlist index: OCR look-alikes and allowed differences, compact enough for
millions of plates (issue 6, part 3).

A camera reads `1-A8C-123` for `1-ABC-123`: 8 and B look alike. Every plate is first reduced to
its *canonical* form, one representative per class of look-alikes (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B,
6/G), so such reads match exactly. A list may allow further differences (0-2 characters): those
entries are also indexed under their forms with one or two positions masked.

Memory: exact entries live in two sorted `array`s (a plate as a 64-bit number, and its row), 16
bytes an entry, searched with `bisect`; 1,000,000 entries take 16 MB. Entries of lists that allow
differences are kept in a dict of masked forms as well, which costs far more per entry: such lists
are meant for the few hundred plates that matter most.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

LOOK_ALIKES = ("0ODQ", "1I", "2Z", "5S", "8B", "6G")
_CANON = {ch: group[0] for group in LOOK_ALIKES for ch in group}
_TABLE = str.maketrans(_CANON)
_DIGITS = {ch: n for n, ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", start=1)}
MASK = "*"


def canonical(plate: str) -> str:
    """The plate with every look-alike replaced by its class's representative."""
    return plate.translate(_TABLE)


def encode(canon: str) -> int:
    """A canonical plate (2-10 letters and digits) as one number; -1 when it is not one."""
    if not 2 <= len(canon) <= 12:
        return -1
    code = 0
    for ch in canon:
        digit = _DIGITS.get(ch)
        if digit is None:
            return -1
        code = code * 37 + digit
    return code


def masked(canon: str, differences: int) -> list[str]:
    """Every form of `canon` with exactly `differences` positions masked."""
    if differences == 1:  # the common case, looked up for every read: slices, not lists
        return [f"{canon[:i]}{MASK}{canon[i + 1 :]}" for i in range(len(canon))]
    forms = []
    for positions in combinations(range(len(canon)), differences):
        chars = list(canon)
        for position in positions:
            chars[position] = MASK
        forms.append("".join(chars))
    return forms


def differences(a: str, b: str) -> int:
    """Positions in which two canonical plates of one length differ."""
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


@dataclass(frozen=True, slots=True)
class ListInfo:
    id: object
    name: str
    priority: int
    port_id: object  # None: every port
    max_differences: int
    valid_from: date | None
    valid_until: date | None
    owner_id: object
    # Kept by police, customs or a national body: its hits raise alarms in every port it covers,
    # also where the port switched its own hotlist rules off (that silences the port's own lists).
    enforcement: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    list: ListInfo
    entry_id: int
    differences: int


@dataclass
class HotlistIndex:
    lists: list[ListInfo] = field(default_factory=list)
    codes: array = field(default_factory=lambda: array("q"))  # sorted plate numbers
    rows: array = field(default_factory=lambda: array("q"))  # entry id, same order
    list_of: array = field(default_factory=lambda: array("i"))  # position in `lists`
    fuzzy: dict = field(default_factory=dict)  # masked form -> ((list pos, entry id, canon), ...)
    size: int = 0
    max_differences: int = 0  # the most any list allows: masks beyond it are never looked up

    @classmethod
    def build(cls, lists: list[ListInfo], entries) -> HotlistIndex:
        """`entries` yields (list id, entry id, plate) in any order, plates normalised."""
        position = {info.id: n for n, info in enumerate(lists)}
        triples = []
        fuzzy: dict = {}
        for list_id, entry_id, plate in entries:
            n = position.get(list_id)
            if n is None:
                continue
            canon = canonical(plate)
            code = encode(canon)
            if code < 0:
                continue
            triples.append((code, entry_id, n))
            allowed = lists[n].max_differences
            for k in range(1, allowed + 1):
                for form in masked(canon, k):
                    fuzzy.setdefault(form, []).append((n, entry_id, canon))
        triples.sort()
        index = cls(lists=lists, fuzzy={k: tuple(v) for k, v in fuzzy.items()})
        index.max_differences = max((info.max_differences for info in lists), default=0)
        index.codes = array("q", (t[0] for t in triples))
        index.rows = array("q", (t[1] for t in triples))
        index.list_of = array("i", (t[2] for t in triples))
        index.size = len(triples)
        del triples
        return index

    def lookup(self, plate: str, port_id, today: date) -> list[Hit]:
        """Entries of lists in force for `port_id` that the read plate matches."""
        if not self.size:
            return []
        canon = canonical(plate)
        code = encode(canon)
        hits: dict = {}
        if code >= 0:
            codes = self.codes
            i = bisect_left(codes, code)
            while i < self.size and codes[i] == code:
                n = self.list_of[i]
                hits[(n, self.rows[i])] = 0
                i += 1
        if self.fuzzy:
            for k in range(1, self.max_differences + 1):
                for form in masked(canon, k):
                    for n, entry_id, entry_canon in self.fuzzy.get(form, ()):
                        if (n, entry_id) in hits:
                            continue
                        diff = differences(canon, entry_canon)
                        if diff <= self.lists[n].max_differences:
                            hits[(n, entry_id)] = diff
        result = []
        for (n, entry_id), diff in hits.items():
            info = self.lists[n]
            if info.port_id is not None and info.port_id != port_id:
                continue
            if (info.valid_from and today < info.valid_from) or (
                info.valid_until and today > info.valid_until
            ):
                continue
            result.append(Hit(info, entry_id, diff))
        result.sort(key=lambda hit: (hit.list.priority, hit.differences))
        return result
