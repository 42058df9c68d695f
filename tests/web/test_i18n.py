"""English and Simplified Chinese for every UI string, and the language switch."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_every_string_has_a_chinese_translation():
    catalogue = polib.pofile(str(PO))
    assert catalogue.percent_translated() == 100
    assert not [entry.msgid for entry in catalogue.fuzzy_entries()]


def test_the_compiled_catalogue_matches_the_source():
    source = {entry.msgid: entry.msgstr or entry.msgstr_plural[0] for entry in polib.pofile(PO)}
    compiled = {
        entry.msgid: entry.msgstr or entry.msgstr_plural[0] for entry in polib.mofile(str(MO))
    }
    assert compiled == source, "run: python manage.py compilemessages"


def test_every_template_string_is_in_the_catalogue():
    msgids = {entry.msgid for entry in polib.pofile(str(PO))}
    pattern = re.compile(r'{%\s*translate\s+"([^"]+)"|_\("([^"]+)"\)')
    missing = set()
    for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        for match in pattern.finditer(template.read_text()):
            text = match.group(1) or match.group(2)
            if text not in msgids:
                missing.add(text)
    assert not missing, "run: python manage.py makemessages -l zh_Hans"


def test_the_login_page_speaks_chinese_when_asked(client):
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    page = client.get("/login/").content.decode()
    assert "登录" in page and "用户名" in page and 'lang="zh-hans"' in page


def test_the_study_list_speaks_chinese(alice_client, small_ct):
    alice_client.post("/i18n/setlang/", {"language": "zh-hans"})
    page = alice_client.get("/").content.decode()
    for text in ("患者姓名", "检查日期", "本地存档", "1 个检查", "查询"):
        assert text in page


def test_the_browser_language_is_honoured(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "用户名" in page
