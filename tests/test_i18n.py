"""English and Traditional Chinese, with a language choice that persists."""


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
    html = client.post(url, data={"csrf_token": token, "initiative": initiative.code, "body": ""}).get_data(as_text=True)
    assert "Please write your view." not in html


def test_every_interface_string_has_a_chinese_translation(tmp_path):
    """Extract the strings from the code and templates now, so a new string cannot slip through."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=root, check=True,
    )
    with open(pot, "rb") as handle:
        wanted = [m.id for m in read_po(handle) if m.id]
    with open(root / "feedback_app/translations/zh_Hant/LC_MESSAGES/messages.po", "rb") as handle:
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
