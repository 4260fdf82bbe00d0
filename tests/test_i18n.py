"""English, Traditional and Simplified Chinese, with a language choice that persists."""

import pytest

# Pages in each language and the language choice: markup and cookies, the same over either
# database (stored Chinese text is checked on both by the submission and redaction tests).
pytestmark = pytest.mark.markup


def test_language_switch_persists(client):
    assert "Smart Mobility" in client.get("/").get_data(as_text=True)
    response = client.get("/language/zh_Hant?next=/areas/mobility")
    assert response.status_code == 302 and response.headers["Location"] == "/areas/mobility"
    page = client.get("/areas/mobility").get_data(as_text=True)
    assert "智慧出行" in page
    assert 'lang="zh-Hant-HK"' in page
    # The choice holds on the next page too, and interface text is translated, not only data.
    home = client.get("/").get_data(as_text=True)
    assert "智慧出行" in home and "Smart areas" not in home


def test_browser_language_is_used_without_a_choice(client):
    page = client.get("/", headers={"Accept-Language": "zh-HK,zh;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh-Hant-HK"' in page


def test_unknown_language_is_not_found(client):
    assert client.get("/language/fr").status_code == 404


def test_validation_messages_are_translated(client):
    client.get("/language/zh_Hant")
    from . import factories
    from .conftest import csrf_token

    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    token = csrf_token(client.get(url).get_data(as_text=True))
    html = client.post(url, data={"csrf_token": token, "initiative": initiative.code, "body": ""}).get_data(
        as_text=True
    )
    assert "Please write your view." not in html


@pytest.mark.parametrize("locale", ["zh_Hant", "zh_Hans"])
def test_every_interface_string_has_a_chinese_translation(tmp_path, locale):
    """Extract the strings from the code and templates now, so a new string cannot slip through."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=root,
        check=True,
    )
    with open(pot, "rb") as handle:
        wanted = [m.id for m in read_po(handle) if m.id]
    with open(root / f"feedback_app/translations/{locale}/LC_MESSAGES/messages.po", "rb") as handle:
        translated = {m.id: m.string for m in read_po(handle) if m.id and not m.fuzzy}
    placeholder = re.compile(r"%\(\w+\)[sd]")
    missing, broken = [], []
    for msgid in wanted:
        singular = msgid[0] if isinstance(msgid, tuple) else msgid
        string = translated.get(msgid)
        string = string[0] if isinstance(string, tuple) else string
        if not string:
            missing.append(singular)
        elif set(placeholder.findall(singular)) != set(placeholder.findall(string)):
            broken.append(singular)
    assert missing == [], f"untranslated: {missing}"
    assert broken == [], f"placeholders differ: {broken}"


def test_simplified_chinese_is_a_third_language(client):
    response = client.get("/language/zh_Hans?next=/bureaus")
    assert response.status_code == 302
    page = client.get("/bureaus").get_data(as_text=True)
    assert 'lang="zh-Hans"' in page
    assert "运输及物流局" in page and "運輸及物流局" not in page  # reference data converted too
    assert "政策局" in page and "Bureaus" not in page
    # The switch offers the other two, each marked with its own language.
    assert 'lang="zh-Hant-HK">繁體中文' in page and 'lang="en">English' in page


def test_a_mainland_browser_gets_simplified_chinese(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh-Hans"' in page
    page = client.get("/", headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
    assert 'lang="zh-Hant-HK"' in page


def test_the_simplified_catalogue_is_the_conversion_of_the_traditional_one(tmp_path):
    """zh_Hans is generated (`make messages`); a hand edit or a forgotten run shows here."""
    import shutil

    from babel.messages.pofile import read_po

    from feedback_app.web.simplified import TRANSLATIONS, write_simplified

    shutil.copytree(TRANSLATIONS / "zh_Hant", tmp_path / "zh_Hant")
    generated = write_simplified(tmp_path)
    with open(generated, "rb") as a, open(TRANSLATIONS / "zh_Hans/LC_MESSAGES/messages.po", "rb") as b:
        expected, committed = read_po(a), read_po(b)
    assert {m.id: m.string for m in committed if m.id} == {m.id: m.string for m in expected if m.id}
