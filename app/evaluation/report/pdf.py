"""The evaluation report (评标报告) as a PDF with Chinese text (WeasyPrint, Noto CJK fonts).

The PDF is a rendering of the canonical-JSON report the members signed: it prints the report's SHA-256 and every
signature entry, so a reader checks the printed hash against the bundle (`GET …/evaluation/report`), which verifies
offline with the platform's public key (`python -m crypto verify-report`). The hash is also the PDF's /Subject
metadata (`report-sha256:<hex>`), so `verify-report --pdf` checks that a PDF is the rendering of a bundle. It is
rendered from the caller's view of the report, so the members' names stay redacted for the agency until
publication.
"""

from __future__ import annotations

from typing import Any

from flask import render_template_string

from crypto.report import PDF_SUBJECT_PREFIX

TEMPLATE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="description" content="{{ subject_prefix }}{{ sha }}">
<title>评标报告 {{ doc.tender.reference or doc.tender.id }}</title>
<style>
  @page { size: A4 landscape; margin: 15mm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
  body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; font-size: 9pt; }
  h1 { font-size: 16pt; text-align: center; margin: 0 0 4mm; }
  h2 { font-size: 11pt; margin: 5mm 0 1mm; }
  table { width: 100%; border-collapse: collapse; margin-top: 2mm; }
  th, td { border: 0.5pt solid #333; padding: 1.2mm; vertical-align: top; text-align: left; }
  th { background: #eee; }
  .meta td { border: none; padding: 0.5mm 1mm; }
  .num { text-align: right; }
  .mono { font-family: "Noto Sans Mono CJK SC", monospace; font-size: 7pt; word-break: break-all; }
</style>
</head>
<body>
<h1>评标报告 Evaluation report</h1>
<table class="meta">
  <tr><td>项目编号 Reference</td><td>{{ doc.tender.reference or "" }}</td>
      <td>项目名称 Title</td><td>{{ doc.tender.title }}</td></tr>
  <tr><td>招标人 Buyer</td><td>{{ doc.tender.buyer }}</td><td>代理机构 Agency</td><td>{{ doc.tender.agency }}</td></tr>
  <tr><td>评标办法 Method</td>
      <td>{{ {"comprehensive": "综合评估法 comprehensive scoring",
              "lowest_evaluated_price": "经评审的最低投标价法 lowest evaluated price"}.get(doc.tender.evaluation_method,
              doc.tender.evaluation_method) }}</td>
      <td>编制时间 Drawn up</td><td>{{ doc.drawn_up_at | instant_center_time }}</td></tr>
  <tr><td>状态 Status</td><td>{{ {"signing": "签署中 signing", "final": "已签署 final"}[status] }}</td>
      <td>报告 SHA-256</td><td class="mono">{{ sha }}</td></tr>
</table>

<h2>评标委员会 Committee（{{ doc.committee.size }} 人，专家 {{ doc.committee.expert_seats }} 人）</h2>
<table>
  <thead><tr><th>席位 Seat</th><th>类别 Kind</th><th>姓名 Name</th><th>主任 Chair</th></tr></thead>
  <tbody>
  {% for m in doc.committee.members %}
    <tr><td>{{ m.seat }}</td><td>{{ {"expert": "专家 expert", "buyer_rep": "招标人代表 buyer rep"}.get(m.kind, m.kind) }}</td>
        <td>{{ m.name or "（公示前不公开 withheld until publication）" }}</td><td>{{ "是" if m.chair else "" }}</td></tr>
  {% endfor %}
  </tbody>
</table>

{% for review in doc.reviews %}
<h2>第 {{ review.stage }} 阶段资格/符合性审查 Review, stage {{ review.stage }}</h2>
<table>
  <thead><tr><th>投标 Bid</th>{% for r in review.requirements %}<th>{{ r }}</th>{% endfor %}<th>结论 Result</th></tr></thead>
  <tbody>
  {% for bid_id, row in review.result.bids.items() %}
    <tr><td>{{ bid_id }}</td>
      {% for r in review.requirements %}{% set x = row.requirements[r] %}
        <td>通过 {{ x.pass }} / 不通过 {{ x.fail }}{% for reason in x.reasons %}<br>{{ reason.seat }}: {{ reason.reason }}{% endfor %}</td>
      {% endfor %}
      <td>{{ "通过 passed" if row.passed else "不通过 failed" }}</td></tr>
  {% endfor %}
  </tbody>
</table>
{% endfor %}

<h2>排序 Ranking</h2>
<table>
  <thead><tr><th>名次 Rank</th><th>投标 Bid</th><th>投标人 Bidder</th><th class="num">投标报价 Price（分）</th>
    <th class="num">得分 Total</th><th class="num">评审价 Evaluated price（分）</th></tr></thead>
  <tbody>
  {% for r in doc.ranking %}
    <tr><td>{{ r.rank }}{% if r.tie_unresolved %} *{% endif %}</td><td>{{ r.bid_id }}</td><td>{{ r.bidder }}</td>
      <td class="num">{{ r.price if r.price is not none else "" }}</td><td class="num">{{ r.total or "" }}</td>
      <td class="num">{{ r.evaluated_price if r.evaluated_price is not none else "" }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<p>推荐中标候选人 Recommended candidates:
  {% for c in doc.recommended %}{{ c.rank }}. {{ c.bidder }}（{{ c.bid_id }}）{% if not loop.last %}；{% endif %}{% endfor %}</p>

{% for bid in doc.aggregation.bids %}
<h2>{{ bid.bidder }}（{{ bid.bid_id }}）: 各成员评分与汇总 Members' scores and aggregation</h2>
<table>
  {% set names = (bid.criteria or bid.adjustments or {}).keys() | list %}
  <thead><tr><th>席位 Seat</th>{% for n in names %}<th class="num">{{ n }}</th>{% endfor %}<th class="num">合计 Total</th>
    <th>说明 Reasons</th></tr></thead>
  <tbody>
  {% for m in bid.members %}
    <tr><td>{{ m.seat }}</td>
      {% for n in names %}<td class="num">{{ m["items"].get(n, "（计算 computed）") }}</td>{% endfor %}
      <td class="num">{{ m.total }}</td>
      <td>{% for k, v in m.reasons.items() %}{{ k }}: {{ v }}<br>{% endfor %}</td></tr>
  {% endfor %}
    <tr><th>汇总 Aggregated</th>
      {% for n in names %}<th class="num">{{ (bid.criteria or bid.adjustments)[n] }}</th>{% endfor %}
      <th class="num">{{ bid.total if bid.total is defined else bid.evaluated_price }}</th><th></th></tr>
  </tbody>
</table>
{% endfor %}
{% if doc.aggregation.dropped_extremes %}<p>每项去掉一个最高分和一个最低分后取平均 Extremes dropped per criterion.</p>{% endif %}

<h2>签署 Signatures</h2>
<table>
  <thead><tr><th>席位 Seat</th><th>签署时间 Signed</th><th>存证日志 Log index</th><th>意见 Dissent</th>
    <th>平台签名 Platform signature (Ed25519)</th></tr></thead>
  <tbody>
  {% for s in signatures %}
    <tr><td>{{ s.payload.seat }}</td><td>{{ s.payload.signed_at | instant_center_time }}</td><td>{{ s.payload.audit_index }}</td>
      <td>{{ s.payload.dissent or "" }}</td><td class="mono">{{ s.signature.key_id }}: {{ s.signature.sig }}</td></tr>
  {% endfor %}
  {% for seat in waiting %}<tr><td>{{ seat }}</td><td colspan="4">未签署 not signed yet</td></tr>{% endfor %}
  </tbody>
</table>
</body>
</html>
"""  # noqa: E501 (markup)


def render_report_pdf(view: dict[str, Any]) -> bytes:
    """The PDF of a report as `services_report.report_view` returns it for the caller."""
    from weasyprint import HTML

    html = render_template_string(
        TEMPLATE,
        doc=view["report"],
        sha=view["report_sha256"],
        subject_prefix=PDF_SUBJECT_PREFIX,
        status=view["status"],
        signatures=view["signatures"],
        waiting=view["waiting_seats"],
    )
    return bytes(HTML(string=html).write_pdf())
