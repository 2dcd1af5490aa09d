"""The categories of 政民互动 every installation starts with (reference data, created when missing; an
administrator's later changes to a category are kept). Their codes are Open311's service codes."""

from __future__ import annotations

from sqlalchemy import select

from app.convenience.interaction.models import InteractionCategory
from app.core.db import db
from app.core.reference import provides

_REPLY = (
    "{name}您好：您反映的{category}事项（编号{reference}）已由{department}办理。办理情况：【请填写】。"
    "如有疑问，请拨打服务热线。感谢您对我们工作的支持和监督。"
)

CATEGORIES = [  # code, name, English name, description
    ("window-service", "窗口服务", "Service at the center's windows", "工作人员态度、办事效率、排队等候等"),
    ("permits", "行政审批", "Permits and approvals", "审批事项的办理进度、材料要求、办理时限"),
    ("social-security", "社保医保", "Social and medical insurance", "社会保险、医疗保险的参保、缴费和待遇"),
    ("housing", "住房物业", "Housing and property management", "住房保障、物业服务、房屋质量"),
    ("environment", "环境卫生", "Environment and sanitation", "噪声、污染、垃圾清运、市容环境"),
    ("traffic", "交通出行", "Traffic and transport", "公交线路、道路设施、停车"),
    ("utilities", "水电气暖", "Water, power, gas and heating", "供水、供电、供气、供暖"),
    ("market", "市场监管", "Markets and consumer protection", "价格、食品安全、消费维权"),
    ("labour", "劳动就业", "Jobs and labour", "就业服务、工资拖欠、劳动合同"),
    ("other", "其他", "Other", "以上类别之外的诉求"),
]


@provides("convenience.interaction.categories")
def ensure_categories() -> None:
    known = set(db.session.scalars(select(InteractionCategory.code)))
    for position, (code, name, name_en, description) in enumerate(CATEGORIES):
        if code not in known:
            db.session.add(
                InteractionCategory(
                    code=code,
                    name=name,
                    name_en=name_en,
                    description=description,
                    reply_template=_REPLY,
                    position=position,
                )
            )
    db.session.flush()
