"""The catalogue: smart areas, bureaus and Blueprint initiatives (reference data)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from cachetools import TTLCache
from sqlalchemy import func, or_, select

from ..extensions import db
from ..text.chinese import to_traditional
from .database import write_transaction
from .models import INITIATIVE_STATUSES, Bureau, Initiative, SmartArea

DATA_DIR = Path(__file__).resolve().parent / "reference_data"
T = TypeVar("T")


class ReferenceDataError(ValueError):
    pass


@dataclass
class LoadReport:
    areas: int
    bureaus: int
    initiatives: int


def _read(directory: Path, name: str) -> list[dict[str, Any]]:
    path = directory / name
    try:
        rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return rows
    except (OSError, json.JSONDecodeError) as exc:
        raise ReferenceDataError(f"{path}: {exc}") from exc


def _require(row: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    missing = [f for f in fields if not str(row.get(f) or "").strip()]
    if missing:
        raise ReferenceDataError(f"{where}: missing {', '.join(missing)}")


def load_reference_data(directory: Path = DATA_DIR) -> LoadReport:
    """Insert or update every area, bureau and initiative from the data files.

    Safe to re-run: rows are matched by code. Everything is checked before anything is
    written, and all of it is written in one transaction.
    """
    areas = _read(directory, "areas.json")
    bureaus = _read(directory, "bureaus.json")
    initiatives = _read(directory, "initiatives.json")

    area_codes = set()
    for i, row in enumerate(areas):
        _require(row, ("code", "name_en", "name_zh", "description_en", "description_zh"), f"areas[{i}]")
        area_codes.add(row["code"])
    bureau_codes = set()
    for i, row in enumerate(bureaus):
        _require(row, ("code", "name_en", "name_zh", "remit_en", "remit_zh"), f"bureaus[{i}]")
        bureau_codes.add(row["code"])
    seen = set()
    for i, row in enumerate(initiatives):
        where = f"initiatives[{i}] ({row.get('code')})"
        _require(
            row, ("code", "area", "lead_bureau", "title_en", "title_zh", "summary_en", "summary_zh", "status"), where
        )
        if row["area"] not in area_codes:
            raise ReferenceDataError(f"{where}: unknown area {row['area']}")
        if row["lead_bureau"] not in bureau_codes:
            raise ReferenceDataError(f"{where}: unknown bureau {row['lead_bureau']}")
        if row["status"] not in INITIATIVE_STATUSES:
            raise ReferenceDataError(f"{where}: unknown status {row['status']}")
        if row["code"] in seen:
            raise ReferenceDataError(f"{where}: duplicate code")
        seen.add(row["code"])

    with write_transaction():
        for position, row in enumerate(areas, start=1):
            area = db.session.get(SmartArea, row["code"]) or SmartArea(code=row["code"])
            area.position = row.get("position", position)
            for field in ("name_en", "name_zh", "description_en", "description_zh"):
                setattr(area, field, row[field])
            db.session.add(area)
        for row in bureaus:
            bureau = db.session.get(Bureau, row["code"]) or Bureau(code=row["code"])
            for field in ("name_en", "name_zh", "remit_en", "remit_zh"):
                setattr(bureau, field, row[field])
            db.session.add(bureau)
        db.session.flush()
        existing = {i.code: i for i in db.session.execute(select(Initiative)).scalars()}
        for row in initiatives:
            initiative = existing.get(row["code"]) or Initiative(code=row["code"])
            initiative.area_code = row["area"]
            initiative.lead_bureau_code = row["lead_bureau"]
            for field in ("title_en", "title_zh", "summary_en", "summary_zh", "status"):
                setattr(initiative, field, row[field])
            db.session.add(initiative)
    with _reference_lock:
        _reference_cache.clear()  # this process sees the new data at once; others within a minute
    return LoadReport(len(areas), len(bureaus), len(initiatives))


def list_areas() -> list[SmartArea]:
    return list(db.session.execute(select(SmartArea).order_by(SmartArea.position)).scalars())


def list_bureaus() -> list[Bureau]:
    return list(db.session.execute(select(Bureau).order_by(Bureau.code)).scalars())


def get_area(code: str) -> SmartArea | None:
    return db.session.get(SmartArea, code)


def get_initiative(code: str) -> Initiative | None:
    return db.session.execute(select(Initiative).where(Initiative.code == code)).scalar_one_or_none()


@dataclass(frozen=True)
class InitiativeRef:
    """What the submission form needs of an initiative, kept in memory (see initiative_refs)."""

    id: int
    code: str
    area_code: str
    title_en: str
    title_zh: str


@dataclass(frozen=True)
class AreaRef:
    """What the submission form needs of a smart area, kept in memory (see area_refs)."""

    code: str
    name_en: str
    name_zh: str


# Reference data changes only with `flask catalogue load`, a release step; each process keeps
# what it needs on every sending for this long instead of reading it per request.
REFERENCE_CACHE_SECONDS = 60.0
_reference_cache: TTLCache[tuple[str, str], Any] = TTLCache(maxsize=256, ttl=REFERENCE_CACHE_SECONDS)
_reference_lock = threading.Lock()  # cachetools' caches are not safe for threads on their own
_MISSING = object()


def cached_reference(name: str, load: Callable[[], T]) -> T:
    """`load()` at most once a minute per process and database; what it makes from reference data."""
    key = (name, str(db.engine.url))
    with _reference_lock:
        value = _reference_cache.get(key, _MISSING)
    if value is _MISSING:
        value = load()  # outside the lock: two threads may both load, and both get the same data
        with _reference_lock:
            _reference_cache[key] = value
    return cast(T, value)


def initiative_refs() -> dict[str, InitiativeRef]:
    """Every initiative by code."""

    def load() -> dict[str, InitiativeRef]:
        rows = db.session.execute(
            select(
                Initiative.id,
                Initiative.code,
                Initiative.area_code,
                Initiative.title_en,
                Initiative.title_zh,
            )
        )
        return {row.code: InitiativeRef(*row) for row in rows}

    return cached_reference("initiatives", load)


def area_refs() -> dict[str, AreaRef]:
    """Every smart area by code."""

    def load() -> dict[str, AreaRef]:
        rows = db.session.execute(select(SmartArea.code, SmartArea.name_en, SmartArea.name_zh))
        return {row.code: AreaRef(*row) for row in rows}

    return cached_reference("areas", load)


def initiative_counts() -> dict[str, int]:
    rows = db.session.execute(select(Initiative.area_code, func.count()).group_by(Initiative.area_code))
    return {area: count for area, count in rows}


@dataclass
class InitiativePage:
    items: list[Initiative]
    page: int
    pages: int
    total: int


def search_initiatives(
    *,
    area: str | None = None,
    bureau: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 20,
    sort_key: Callable[[InitiativeRef], Any] | None = None,
) -> InitiativePage:
    """Filter the catalogue (a few hundred rows, so page numbers are fine here), by English title,
    or by `sort_key` (the title as a Chinese reader sees it: web.i18n.reading_key)."""
    stmt = select(Initiative)
    if area:
        stmt = stmt.where(Initiative.area_code == area)
    if bureau:
        stmt = stmt.where(Initiative.lead_bureau_code == bureau)
    if text and text.strip():
        pattern = f"%{text.strip().lower()}%"
        # Chinese is stored in Traditional characters; a query typed in Simplified is matched too.
        chinese = f"%{to_traditional(text.strip())}%"
        stmt = stmt.where(
            or_(
                func.lower(Initiative.title_en).like(pattern),
                func.lower(Initiative.summary_en).like(pattern),
                Initiative.title_zh.like(pattern),
                Initiative.summary_zh.like(pattern),
                Initiative.title_zh.like(chinese),
                Initiative.summary_zh.like(chinese),
            )
        )
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    if sort_key is None:
        items = list(
            db.session.execute(
                stmt.order_by(Initiative.title_en).limit(per_page).offset((page - 1) * per_page)
            ).scalars()
        )
        return InitiativePage(items, page, pages, total)
    found = stmt.subquery()
    refs = db.session.execute(select(found.c.id, found.c.code, found.c.area_code, found.c.title_en, found.c.title_zh))
    ordered = sorted((InitiativeRef(*row) for row in refs), key=lambda ref: (sort_key(ref), ref.title_en))
    ids = [ref.id for ref in ordered[(page - 1) * per_page : page * per_page]]
    by_id = {i.id: i for i in db.session.execute(select(Initiative).where(Initiative.id.in_(ids))).scalars()}
    return InitiativePage([by_id[i] for i in ids], page, pages, total)
