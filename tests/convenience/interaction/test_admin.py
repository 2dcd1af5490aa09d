"""政民互动 administration pages: reply templates (only the known placeholders) and routing rules (add, stop using,
delete), each change with its evidence-log entry and nothing stored on bad input; held by the dispatch office."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.accounts.helpers import login, make_user
from tests.convenience.interaction.conftest import Cast
from tests.html import parse

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
ADMIN = "/convenience/interaction/admin"
# Latin a Chinese page may show: the placeholders an administrator types into a template.
ALLOWED = re.compile(r"\{(?:reference|name|category|department|due)\}")


def _english_words(html: bytes) -> list[str]:
    text = ALLOWED.sub(" ", parse(html).by_id("main").text)
    return re.findall(r"[A-Za-z]{3,}", text)


def _admin(app: Flask) -> Any:
    _id, secret = make_user(app, "chief", ["admin"], totp=True)  # the admin role signs in with a second factor
    client = app.test_client()
    assert login(client, "chief", totp_secret=secret).status_code == 303
    return client


def _form(client: Any, url: str, form_id: str, **values: Any) -> dict[str, Any]:
    fields = parse(client.get(url, headers=ZH).data).by_id(form_id).fields()
    fields.update(values)
    return fields


def _entries(app: Flask, action: str) -> list[Any]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _template(app: Flask, code: str) -> str:
    from app.convenience.interaction.models import InteractionCategory
    from app.extensions import db

    with app.app_context():
        return str(db.session.scalars(select(InteractionCategory).filter_by(code=code)).one().reply_template)


def _rule_count(app: Flask) -> int:
    from app.convenience.interaction.models import InteractionRoutingRule
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(InteractionRoutingRule)) or 0)


def _complaint(app: Flask, body: str, category: str = "environment") -> tuple[str, str]:
    """A new web complaint; its reference and the code of the department it was routed to ("" none)."""
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel
    from app.extensions import db

    with app.app_context():
        intake = services.submit(
            channel=Channel.WEB, kind="complaint", category=category, body=body, phone="13800138000", actor=None
        )
        db.session.commit()
        r = intake.request
        return r.reference, (r.department.code if r.department is not None else "")


def test_pages_are_chinese_and_english(app: Flask, cast: Cast) -> None:
    client = _admin(app)
    page = client.get(ADMIN, headers=ZH)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "答复模板和分派规则" in text and "市生态环境局" in text
    assert _english_words(page.data) == []
    edit = client.get(f"{ADMIN}/categories/environment", headers=ZH)
    assert edit.status_code == 200 and "{reference}" in edit.get_data(as_text=True)
    assert _english_words(edit.data) == []
    english = client.get(ADMIN, headers=EN).get_data(as_text=True)
    assert "Reply templates and routing rules" in english and "Ecology and Environment Bureau" in english
    assert client.get(f"{ADMIN}/categories/nothing", headers=ZH).status_code == 404


def test_edit_template_good_and_bad_placeholders(app: Flask, cast: Cast) -> None:
    client = _admin(app)
    url = f"{ADMIN}/categories/environment"
    before = _template(app, "environment")
    for bad, message in (
        ("您好{name}，您的电话{phone}已登记。", "{phone} 不是答复能够填写的占位符"),
        ("编号{reference:>20}", "{reference:&gt;20} 不是答复能够填写的占位符"),
        ("编号 {reference 已受理", "单独的花括号"),
        ("", "此项必填"),
    ):
        refused = client.post(url, data=_form(client, url, "template-form", template=bad), headers=ZH)
        shown = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in shown, bad
        assert "{reference} {name} {category} {department} {due}" in shown or not message.startswith("{")
    english = client.post(url, data=_form(client, url, "template-form", template="{phone}"), headers=EN)
    assert english.status_code == 422 and "is not a placeholder the reply can fill" in english.get_data(as_text=True)
    assert _template(app, "environment") == before and _entries(app, "convenience.interaction.template_changed") == []

    good = "{name}您好：您反映的{category}问题（编号{reference}）已转{department}办理，{due}前答复。"
    saved = client.post(url, data=_form(client, url, "template-form", template=good), headers=ZH)
    assert saved.status_code == 303
    assert _template(app, "environment") == good
    (entry,) = _entries(app, "convenience.interaction.template_changed")
    assert entry.subject == "convenience.interaction.category:environment" and entry.data["template"] == good
    assert entry.data["previous"] == before
    reference, _department = _complaint(app, "河道有异味")
    from app.convenience.interaction import services

    with app.app_context():
        filled = services.fill_template(services.get(reference))
    assert filled.startswith("市民您好：您反映的") and reference in filled and "市生态环境局" in filled
    listed = client.get(ADMIN, headers=ZH).get_data(as_text=True)
    assert "【编号】" in listed


def test_added_rule_routes_a_new_request_then_stops_and_is_kept(app: Flask, cast: Cast) -> None:
    client = _admin(app)
    assert _complaint(app, "工地夜间噪声扰民")[1] == "ENV"  # the category rule (priority 10)
    data = _form(client, ADMIN, "rule-form", priority="5", kind="complaint", keyword="噪声", department="HRS")
    added = client.post(f"{ADMIN}/rules", data=data, headers=ZH)
    assert added.status_code == 303
    (entry,) = _entries(app, "convenience.interaction.rule_added")
    rule_id = entry.data["rule"]
    assert entry.data["keyword"] == "噪声" and entry.data["department"] == "HRS" and entry.data["kind"] == "complaint"
    page = client.get(ADMIN, headers=ZH).get_data(as_text=True)
    assert f'id="rule-{rule_id}"' in page and "含“噪声”" in page
    assert page.index(f'id="rule-{rule_id}"') < page.index(f'id="rule-{cast.rule_id}"')  # priority order

    reference, department = _complaint(app, "广场舞噪声太大")
    assert department == "HRS"
    from app.convenience.interaction import services

    with app.app_context():
        assert services.get(reference).routing_rule_id == rule_id
    assert _complaint(app, "河道有异味")[1] == "ENV"  # no keyword: the category rule still routes it

    kept = client.post(f"{ADMIN}/rules/{rule_id}/delete", data=_form(client, ADMIN, "rule-form"), headers=ZH)
    assert kept.status_code == 409 and "该规则已分派过 1 件诉求" in kept.get_data(as_text=True)
    assert _entries(app, "convenience.interaction.rule_deleted") == []

    csrf = {"csrf_token": _form(client, ADMIN, "rule-form")["csrf_token"]}
    assert client.post(f"{ADMIN}/rules/{rule_id}/deactivate", data=csrf, headers=ZH).status_code == 303
    assert len(_entries(app, "convenience.interaction.rule_deactivated")) == 1
    assert _complaint(app, "又有噪声")[1] == "ENV"
    again = client.post(f"{ADMIN}/rules/{rule_id}/deactivate", data=csrf, headers=ZH)
    assert again.status_code == 409 and "该规则已经停用" in again.get_data(as_text=True)
    assert client.post(f"{ADMIN}/rules/{rule_id}/activate", data=csrf, headers=ZH).status_code == 303
    assert _complaint(app, "还是噪声")[1] == "HRS"

    unused = _form(client, ADMIN, "rule-form", priority="50", keyword="占道", department="ENV")
    assert client.post(f"{ADMIN}/rules", data=unused, headers=ZH).status_code == 303
    new_id = _entries(app, "convenience.interaction.rule_added")[-1].data["rule"]
    count = _rule_count(app)
    assert client.post(f"{ADMIN}/rules/{new_id}/delete", data=csrf, headers=ZH).status_code == 303
    assert _rule_count(app) == count - 1 and len(_entries(app, "convenience.interaction.rule_deleted")) == 1
    assert client.post(f"{ADMIN}/rules/{new_id}/delete", data=csrf, headers=ZH).status_code == 404


def test_bad_rules_are_refused_storing_nothing(app: Flask, cast: Cast) -> None:
    client = _admin(app)
    count = _rule_count(app)
    for values, message in (
        ({"priority": "5", "department": "HRS"}, "请至少给出一个条件"),
        ({"priority": "abc", "keyword": "噪声", "department": "HRS"}, "请输入 1 到 9999 之间的整数"),
        ({"priority": "0", "keyword": "噪声", "department": "HRS"}, "请输入 1 到 9999 之间的整数"),
        ({"priority": "5", "keyword": "噪声", "department": ""}, "请选择承办部门"),
        ({"priority": "5", "keyword": "噪声", "department": "NOPE"}, "请选择承办部门"),
        ({"priority": "5", "category": "nope", "department": "HRS"}, "请选择一个类别"),
        ({"priority": "5", "kind": "praise", "department": "HRS"}, "请选择一种诉求类型"),
        ({"priority": "5", "keyword": "噪" * 51, "department": "HRS"}, "最多"),
    ):
        data = _form(client, ADMIN, "rule-form", **values)
        refused = client.post(f"{ADMIN}/rules", data=data, headers=ZH)
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), values
        _t = parse(refused.data).by_id("main").text
        assert _english_words(refused.data) == [], (values, _english_words(refused.data))
    english = client.post(
        f"{ADMIN}/rules", data=_form(client, ADMIN, "rule-form", priority="5", department="HRS"), headers=EN
    )
    assert "Give at least one condition" in english.get_data(as_text=True)
    assert _rule_count(app) == count and _entries(app, "convenience.interaction.rule_added") == []


def test_only_the_dispatch_office_manages(app: Flask, cast: Cast) -> None:
    before = _template(app, "environment")
    count = _rule_count(app)
    for username in ("operator", "handler"):
        client = app.test_client()
        assert login(client, username).status_code == 303
        assert client.get(ADMIN, headers=ZH).status_code == 403
        assert client.get(f"{ADMIN}/categories/environment", headers=ZH).status_code == 403
        assert client.post(f"{ADMIN}/rules", data={"keyword": "x", "department": "HRS"}).status_code in (400, 403)
        assert client.post(f"{ADMIN}/rules/{cast.rule_id}/delete").status_code in (400, 403)
    assert _template(app, "environment") == before and _rule_count(app) == count
    dispatcher = app.test_client()
    assert login(dispatcher, "dispatcher").status_code == 303
    assert dispatcher.get(ADMIN, headers=ZH).status_code == 200
