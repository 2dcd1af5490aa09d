"""Supervision statistics (监察统计): nightly figures per day, floor and department, today's live figures, periods
with 同比 and 环比, charts and CSV export. Reads supervision's monitored items and, read only, the permits floor's
deemed decisions and the convenience floor's ratings."""
