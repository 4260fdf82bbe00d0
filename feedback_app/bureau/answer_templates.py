"""A bureau's answer templates: bilingual texts with placeholders, kept by its own officers.

A placeholder is a name in braces, `{reference}`; `{{` and `}}` write a brace. Only the names in
PLACEHOLDERS exist: a template naming another is refused when saved, with the list of known ones.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..kernel import audit
from ..kernel.database import write_transaction
from ..kernel.deadlines import HONG_KONG
from ..kernel.models import AnswerTemplate, AuditAction, Submission, User

# name -> what it stands for (the form's help lists them)
PLACEHOLDERS = ("reference", "initiative", "smart_area", "bureau", "received")


class TemplateError(ValueError):
    def __init__(self, unknown: list[str] | None = None, malformed: bool = False):
        super().__init__(unknown or "malformed")
        self.unknown = unknown or []
        self.malformed = malformed


def placeholders_in(text: str) -> list[str]:
    """The placeholder names `text` uses; TemplateError if a brace is unbalanced."""
    try:
        return [name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise TemplateError(malformed=True) from exc


def check(text: str | None) -> None:
    if not text:
        return
    names = placeholders_in(text)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        raise TemplateError(unknown)
    # A format spec or conversion ({reference!r}, {reference:>9}) is not a placeholder we fill.
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None and (spec or conversion):
            raise TemplateError([f"{name}!{conversion}" if conversion else f"{name}:{spec}"])


def for_bureau(bureau: str) -> list[AnswerTemplate]:
    stmt = select(AnswerTemplate).where(AnswerTemplate.bureau_code == bureau).order_by(AnswerTemplate.title)
    return list(db.session.execute(stmt).scalars())


def get(officer: User, template_id: int) -> AnswerTemplate | None:
    """One of the officer's bureau's templates (None for another bureau's: it does not exist here)."""
    template = db.session.get(AnswerTemplate, template_id)
    return template if template is not None and template.bureau_code == officer.bureau_code else None


class DuplicateTitle(ValueError):
    pass


def save(officer: User, template_id: int | None, *, title: str, body_en: str | None, body_zh: str | None) -> int:
    check(body_en)
    check(body_zh)
    with write_transaction():
        clash = db.session.execute(
            select(AnswerTemplate.id).where(
                AnswerTemplate.bureau_code == officer.bureau_code, AnswerTemplate.title == title
            )
        ).scalar_one_or_none()
        if clash is not None and clash != template_id:
            raise DuplicateTitle(title)
        if template_id is None:
            template = AnswerTemplate(bureau_code=officer.bureau_code)
            db.session.add(template)
            before = {}
        else:
            found = get(officer, template_id)
            if found is None:
                raise LookupError(template_id)
            template = found
            before = {"title": template.title}
        template.title, template.body_en, template.body_zh = title, body_en or None, body_zh or None
        template.updated_by_id = officer.id
        db.session.flush()
        audit.record(
            AuditAction.ANSWER_TEMPLATE_SAVED,
            actor=officer,
            before=before,
            after={"template": template.id, "title": title},
        )
        return template.id


def delete(officer: User, template_id: int) -> None:
    with write_transaction():
        template = get(officer, template_id)
        if template is None:
            raise LookupError(template_id)
        audit.record(
            AuditAction.ANSWER_TEMPLATE_DELETED,
            actor=officer,
            before={"template": template.id, "title": template.title},
        )
        db.session.delete(template)


@dataclass(frozen=True)
class Filled:
    english: str | None
    chinese: str | None


def fill(template: AnswerTemplate, sub: Submission) -> Filled:
    """The template's texts with the view's values in (English names in English, Chinese in Chinese)."""

    def values(lang: str) -> dict[str, str]:
        suffix = "en" if lang == "en" else "zh"
        initiative = getattr(sub.initiative, f"title_{suffix}") if sub.initiative is not None else ""
        area = sub.area or sub.topic_area
        return {
            "reference": sub.reference,
            "initiative": initiative,
            "smart_area": getattr(area, f"name_{suffix}") if area is not None else "",
            "bureau": getattr(sub.bureau, f"name_{suffix}") if sub.bureau is not None else "",
            "received": sub.created_at.astimezone(HONG_KONG).strftime("%Y-%m-%d"),
        }

    def one(text: str | None, lang: str) -> str | None:
        if not text:
            return None
        try:
            return text.format_map(values(lang))
        except (KeyError, ValueError, IndexError):  # saved before a placeholder was retired: leave it as written
            return text

    return Filled(one(template.body_en, "en"), one(template.body_zh, "zh"))
