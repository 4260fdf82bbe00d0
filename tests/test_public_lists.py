"""Smart-area pages list the published general views on the area, with their answers, as
initiative pages list theirs: a campaign once with its size, support, the tally, a keyset pager;
no query per view listed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel import public
from feedback_app.kernel.models import Submission, Visibility
from feedback_app.moderation import services as moderation

from . import factories
from .test_campaigns import COPIES

GENERAL = "Smart lampposts along the Tsim Sha Tsui promenade should show air quality readings for walkers."


def send(body: str, *, area: str = "mobility", initiative_code: str | None = None, language: str = "en") -> Submission:
    """A view as a resident sends it: on an initiative, or in general on a smart area."""
    initiative_id = factories.initiative(initiative_code).id if initiative_code else None
    receipt = intake.submit(
        intake.NewSubmission(body=body, language=language, topic_area=area, initiative_id=initiative_id)
    )
    db.session.commit()
    return db.session.get(Submission, receipt.submission_id)


def published(body: str, moderator, **where) -> Submission:
    sub = factories.routed(send(body, **where), moderator)
    return sub if sub.visibility == Visibility.PUBLISHED else factories.published(sub, moderator)


def answer(officer, sub: Submission, text: str) -> None:
    bureau.answer(officer, sub.id, bureau.AnswerText(text, None))
    db.session.commit()


def test_area_page_lists_its_published_general_views_with_answers(client, moderator, officer):
    general = published(GENERAL, moderator, area="mobility")
    answer(officer, general, "We will add air quality readings to the lampposts next year.")
    also_general = published("Bus stops need shelters from the rain " * 2, moderator)
    on_initiative_id = published(
        "An initiative's own view about real-time arrival boards at minibus stops.",
        moderator,
        initiative_code=factories.initiative().code,
        area=factories.initiative().area_code,
    )
    waiting = factories.routed(
        send("A general view nobody has published yet about cycling tracks in Sha Tin."), moderator
    )
    if waiting.visibility == Visibility.PUBLISHED:  # the policy may publish routed views at once
        moderation.set_visibility(waiting.id, visibility=Visibility.HIDDEN, actor=moderator, version=waiting.version)
        db.session.commit()
    elsewhere = published(
        "A general view on the environment: more recycling bins in country parks.", moderator, area="environment"
    )

    page = client.get("/areas/mobility").get_data(as_text=True)

    assert "General views and answers" in page
    assert general.reference in page and "air quality readings to the lampposts" in page
    assert also_general.reference in page
    assert on_initiative_id.reference not in page  # listed on its initiative's page instead
    assert waiting.reference not in page
    assert elsewhere.reference not in page
    # The area page keeps its list of initiatives and their search.
    assert 'id="q"' in page and "Search initiatives in this area" in page
    # Views are h3 under the section's h2, their answers h4.
    assert re.search(r'<h3 id="view-\d+" class="h4">', page) and '<h4 class="h5">Answer from the' in page


def test_area_page_shows_a_campaign_once_with_its_size_and_the_tally(app, client, moderator):
    app.config["CAMPAIGNS"] = True
    copies = [published(body, moderator, area="people") for body in COPIES]
    assert len({c.campaign_id for c in copies}) == 1 and copies[0].campaign_id is not None

    page = client.get("/areas/people").get_data(as_text=True)

    newest = max(copies, key=lambda c: c.id)
    assert newest.reference in page
    assert all(c.reference not in page for c in copies if c.id != newest.id)
    assert f"Sent {len(COPIES)} times, with light edits" in page
    tally = public.tally(public.Scope.area("people"))
    assert (tally.views, tally.entries, tally.campaigns) == (len(COPIES), 1, 1)
    assert re.search(rf"<dt>Views published</dt><dd>{len(COPIES)}</dd>", page)


def test_area_page_pages_its_views_by_keyset(app, client, moderator):
    app.config["PAGE_SIZE"] = 2
    views = [published(f"General view number {n} about smart parking meters in Kowloon.", moderator) for n in range(5)]
    newest_first = [v.reference for v in sorted(views, key=lambda v: -v.id)]

    first = client.get("/areas/mobility").get_data(as_text=True)
    assert [r for r in newest_first if r in first] == newest_first[:2]
    after = re.search(r'href="[^"]*after=(\d+)[^"]*" rel="next"', first).group(1)
    second = client.get(f"/areas/mobility?after={after}").get_data(as_text=True)
    assert [r for r in newest_first if r in second] == newest_first[2:4]
    assert "« First page" in second
    assert client.get("/areas/mobility?after=nonsense").status_code == 400
    # The initiatives' own number pager keeps the views' place, and the other way round.
    assert client.get(f"/areas/mobility?after={after}&page=1&q=bus").status_code == 200


def test_area_with_no_published_general_view_says_so(client):
    page = client.get("/areas/covid").get_data(as_text=True)
    assert "No general views on this area have been published yet." in page


def _statements(client, url: str) -> int:
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


@pytest.mark.parametrize("page", ["area", "initiative"])
def test_a_page_of_twenty_answered_views_costs_the_statements_of_two(app, client, moderator, officer, page):
    """No query per row: listing 20 answered views (some supported) runs as many statements as 2."""
    initiative = factories.initiative()
    where = (
        {"area": "mobility"} if page == "area" else {"initiative_code": initiative.code, "area": initiative.area_code}
    )
    url = "/areas/mobility" if page == "area" else f"/initiatives/{initiative.code}"

    def add(n: int) -> None:
        for i in range(n):
            sub = published(
                f"View {i} on {page}: the footbridge lifts at station exits are often broken.", moderator, **where
            )
            answer(officer, sub, f"Answer {i}: the lifts will be checked every week, call 2999 0000.")

    add(2)
    _statements(client, url)  # the first request of a process loads reference data
    with_two = _statements(client, url)
    add(18)
    with_twenty = _statements(client, url)
    shown = client.get(url).get_data(as_text=True)
    assert shown.count("Answer from the") == 20
    assert with_twenty == with_two, (with_two, with_twenty)


def test_listing_reads_only_published_rows_in_the_scope(app, moderator):
    general = published(GENERAL, moderator, area="living")
    listed = db.session.execute(public.listing(public.Scope.area("living"))).scalars().all()
    assert [s.id for s in listed] == [general.id]
    assert db.session.execute(select(Submission.id).where(*public.Scope.area("economy").where())).all() == []
