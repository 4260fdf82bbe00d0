"""Reference data: complete, valid, and safe to load again."""

import json

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel import catalogue
from feedback_app.kernel.models import Bureau, Initiative, SmartArea

BUREAUS = {"CSB", "CMAB", "CSTB", "CEDB", "DEVB", "EDB", "EEB", "FSTB", "HHB", "HB", "HYAB", "ITIB", "LWB", "SB", "TLB"}
AREAS = {"mobility", "living", "environment", "people", "government", "economy", "covid"}


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_reference_data_is_complete(app):
    assert set(db.session.execute(select(Bureau.code)).scalars()) == BUREAUS
    assert set(db.session.execute(select(SmartArea.code)).scalars()) == AREAS
    assert _count(Initiative) >= 100
    per_area = catalogue.initiative_counts()
    assert set(per_area) == AREAS


def test_loading_again_changes_nothing(app):
    before = (_count(SmartArea), _count(Bureau), _count(Initiative))
    catalogue.load_reference_data()
    assert (_count(SmartArea), _count(Bureau), _count(Initiative)) == before


def test_invalid_reference_data_writes_nothing(app, tmp_path):
    for name in ("areas.json", "bureaus.json", "initiatives.json"):
        (tmp_path / name).write_text((catalogue.DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    initiatives = json.loads((tmp_path / "initiatives.json").read_text(encoding="utf-8"))
    initiatives[0]["title_en"] = "Changed title that must not be saved"
    initiatives[-1]["lead_bureau"] = "XYZ"
    (tmp_path / "initiatives.json").write_text(json.dumps(initiatives), encoding="utf-8")
    with pytest.raises(catalogue.ReferenceDataError, match="unknown bureau XYZ"):
        catalogue.load_reference_data(tmp_path)
    assert catalogue.get_initiative(initiatives[0]["code"]).title_en != "Changed title that must not be saved"


def test_initiative_search_and_filters(client):
    page = catalogue.search_initiatives(text="iAM Smart")
    assert page.total >= 1
    assert client.get("/initiatives?q=iAM+Smart").status_code == 200
    html = client.get("/initiatives?q=zzzz-nothing").get_data(as_text=True)
    assert "No initiative matches these filters." in html
    assert client.get("/bureaus").status_code == 200


def test_a_search_typed_in_simplified_chinese_finds_the_traditional_catalogue(client):
    traditional = {i.code for i in catalogue.search_initiatives(text="實時到站").items}
    simplified = {i.code for i in catalogue.search_initiatives(text="实时到站").items}
    assert "franchised-bus-real-time-arrival" in traditional
    assert simplified == traditional


def test_the_site_has_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype.startswith("image/") and response.data[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
