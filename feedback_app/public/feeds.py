"""Atom feeds of new answers, per initiative and per bureau: the newest FEED_SIZE answers to
published views, read through the public projection (masked, rendered, the reader's language
first) like the pages that show them.

An entry's id is its view's public URL with the answer's place among the view's answers
(`…/views/SCF-2026-000123#answer-1`): the same on every request, and no internal number in it.
Served like a public page (web/public_cache.py): ETag and Last-Modified on the public version,
a 304 without a query beyond the version's, the feed itself from the shared cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import abort, make_response, render_template, url_for
from flask_babel import gettext as _

from ..kernel import catalogue, open_data, public
from ..web.i18n import localized
from ..web.public_cache import public_page
from ..web.templating import reference_name
from . import bp

ATOM = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 does not allow, whatever the escaping (a view's text could hold one).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    published: str
    url: str
    summary: str
    html: str  # the answer's parts as HTML, each in an element with its language: escaped by the template


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    page: str
    updated: str
    rights: str
    entries: list[Entry]
    subtitle: str = ""


def _entry(found: open_data.FeedEntry) -> Entry:
    view, answer = found.view, found.answer
    url = url_for("public.view", reference=view.reference, _external=True)
    bureau = reference_name("bureau", answer.bureau_code) or answer.bureau_code
    # The parts are Markup (cleaned HTML); joined into a plain str, the template escapes them once.
    html = "".join(f'<div lang="{part.language}">{part.html}</div>' for part in answer.parts)
    return Entry(
        id=f"{url}#answer-{found.position}",
        title=_xml_text(_("Answer from the %(bureau)s to view %(ref)s", bureau=bureau, ref=view.reference)),
        published=_rfc3339(answer.created_at),
        url=url,
        summary=_xml_text(view.text),
        html=_xml_text(html),
    )


def _feed(self_url: str, title: str, page: str, found: list[open_data.FeedEntry]) -> Feed:
    newest = found[0].answer.created_at if found else public.state().changed_at
    return Feed(
        id=self_url,
        title=_xml_text(title),
        page=page,
        updated=_rfc3339(newest),
        rights=_(
            "Published under the licence stated on the open data page: %(url)s",
            url=url_for("public.open_data", _external=True),
        ),
        entries=[_entry(entry) for entry in found],
        subtitle=_("The newest answers of the bureaus to published views, personal data masked."),
    )


def _atom(feed: Feed):
    response = make_response(render_template("public/answers.atom", feed=feed))
    response.headers["Content-Type"] = ATOM
    return response


@bp.get("/initiatives/<code>/answers.atom")
@public_page(on="public")
def initiative_feed(code):
    initiative = catalogue.get_initiative(code) or abort(404)
    found = open_data.newest_answers(initiative_id=initiative.id)
    title = _("Answers on “%(initiative)s”", initiative=localized(initiative, "title"))
    return _atom(
        _feed(
            url_for("public.initiative_feed", code=initiative.code, _external=True),
            title,
            url_for("catalogue.initiative", code=initiative.code, _external=True),
            found,
        )
    )


@bp.get("/bureaus/<code>/answers.atom")
@public_page(on="public")
def bureau_feed(code):
    bureau = next((b for b in catalogue.list_bureaus() if b.code == code), None) or abort(404)
    found = open_data.newest_answers(bureau_code=bureau.code)
    title = _("Answers from the %(bureau)s", bureau=localized(bureau, "name"))
    return _atom(
        _feed(
            url_for("public.bureau_feed", code=bureau.code, _external=True),
            title,
            url_for("catalogue.bureaus", _external=True),
            found,
        )
    )
