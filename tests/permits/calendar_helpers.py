"""A year file for tests: a plausible 2027 notice (the real one is not published yet)."""

from __future__ import annotations

YEAR_2027 = """\
year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知（测试用）
holidays:
  - name: 元旦
    start: 2027-01-01
    end: 2027-01-03
  - name: 春节
    start: 2027-02-05
    end: 2027-02-13
    workdays: [2027-02-14, 2027-02-20]
  - name: 清明节
    start: 2027-04-03
    end: 2027-04-05
  - name: 劳动节
    start: 2027-05-01
    end: 2027-05-05
    workdays: [2027-04-25, 2027-05-08]
  - name: 端午节
    start: 2027-06-09
    end: 2027-06-09
  - name: 中秋节
    start: 2027-09-15
    end: 2027-09-15
  - name: 国庆节
    start: 2027-10-01
    end: 2027-10-07
    workdays: [2027-09-26, 2027-10-09]
"""
