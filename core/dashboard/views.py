"""The dashboard's pages as HTML text: layout, login, calendar, a post's page.

Pure functions (stored rows and URLs in, escaped HTML out), so every page is testable without
a server. Accessibility: one ``<main>`` landmark after a skip link, a labelled ``<nav>``, a
calendar that is a real table (caption, column headers), status shown as words as well as
colour, every chart given as text too, form fields with labels, errors in ``role="alert"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from html import escape

from crosspost.core.dashboard.calendar import Entry, by_day, weeks
from crosspost.core.dashboard.svg import ChartPoint, metric_svg
from crosspost.core.metrics_report import TargetMetrics, step_label
from crosspost.storage.base import EventRow, PostRow

Url = Callable[..., str]
"""Builds a link inside the dashboard: ``url("post", post_id="…")``, ``url("calendar", query={...})``."""


def page(title: str, body: str, *, url: Url, signed_in: bool = True) -> str:
    nav = ""
    if signed_in:
        nav = (f'<nav aria-label="Main"><ul>'
               f'<li><a href="{url("calendar", query={"view": "week"})}">Week</a></li>'
               f'<li><a href="{url("calendar", query={"view": "month"})}">Month</a></li>'
               f'</ul><form method="post" action="{url("logout")}">'
               '<button type="submit">Sign out</button></form></nav>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)} · crosspost</title>'
        f'<link rel="stylesheet" href="{url("static", filename="dashboard.css")}">'
        f'<script defer src="{url("static", filename="dashboard.js")}"></script></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        f'<header><p class="brand">crosspost</p>{nav}</header>'
        f'<main id="main" tabindex="-1"><h1>{escape(title)}</h1>{body}</main></body></html>')


def login_page(*, url: Url, error: str = "", next_path: str = "") -> str:
    alert = f'<p class="alert" role="alert">{escape(error)}</p>' if error else ""
    body = (f'{alert}<form class="login" method="post" action="{url("login")}">'
            f'<input type="hidden" name="next" value="{escape(next_path)}">'
            '<label for="key">API key</label>'
            '<input id="key" name="key" type="password" autocomplete="current-password" required '
            'aria-describedby="key-help">'
            '<p id="key-help" class="help">The key crosspost serve (or crosspost dashboard) was started with. '
            'It is kept in a cookie only your browser sends (HttpOnly).</p>'
            '<button type="submit">Sign in</button></form>')
    return page("Sign in", body, url=url, signed_in=False)


def _status(kind: str) -> str:
    return f'<span class="status status-{escape(kind)}">{escape(kind)}</span>'


def _entry(entry: Entry, tz: tzinfo, url: Url) -> str:
    caption = " ".join(entry.caption.split())
    short = caption if len(caption) <= 40 else caption[:39] + "…"
    return (f'<li class="entry entry-{escape(entry.kind)}" data-post="{escape(entry.post_id)}">'
            f'<a href="{url("post", post_id=entry.post_id)}">'
            f'<time datetime="{entry.at.isoformat()}">{entry.at.astimezone(tz):%H:%M}</time> '
            f'{_status(entry.kind)} <span class="target">{escape(entry.target)}</span> '
            f'<span class="caption">{escape(short) or "(no caption)"}</span></a></li>')


def calendar_page(*, view: str, start: date, end: date, anchor: date, entries: Sequence[Entry], tz: tzinfo,
                  today: date, previous: date, following: date, url: Url) -> str:
    days = by_day(entries, tz)
    label = f"{anchor:%B %Y}" if view == "month" else f"Week of {start:%d %B %Y}"
    heads = "".join(f'<th scope="col">{name}</th>' for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
    rows = []
    for week in weeks(start, end):
        cells = []
        for day in week:
            items = days.get(day, [])
            classes = ["day"]
            if view == "month" and day.month != anchor.month:
                classes.append("outside")
            if day == today:
                classes.append("today")
            listing = f'<ul>{"".join(_entry(e, tz, url) for e in items)}</ul>' if items else ""
            current = ' aria-current="date"' if day == today else ""
            count = f'<span class="count">{len(items)} post{"s" if len(items) != 1 else ""}</span>' if items else ""
            cells.append(f'<td class="{" ".join(classes)}" data-date="{day.isoformat()}" tabindex="-1">'
                         f'<h2 class="date"{current}><time datetime="{day.isoformat()}">'
                         f'<span class="weekday">{day:%a} </span>{day.day}'
                         f'<span class="month"> {day:%b}</span></time></h2>{count}{listing}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    pager = (f'<nav class="pager" aria-label="Periods">'
             f'<a rel="prev" href="{url("calendar", query={"view": view, "date": previous.isoformat()})}">'
             f'← Previous {view}</a>'
             f'<a href="{url("calendar", query={"view": view, "date": today.isoformat()})}">Today</a>'
             f'<a rel="next" href="{url("calendar", query={"view": view, "date": following.isoformat()})}">'
             f'Next {view} →</a></nav>')
    table = (f'<table class="calendar calendar-{view}"><caption>{escape(label)} '
             f'<span class="tz">(times in {escape(str(tz))})</span></caption>'
             f'<thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    return page(label, pager + table, url=url)


def _target_rows(row: PostRow, metrics: Mapping[str, TargetMetrics]) -> str:
    out = []
    for job in row.jobs:
        link = metrics.get(job.id)
        url = (link.post_url if link else None) or job.post_url
        cell_link = f'<a href="{escape(url)}" rel="noopener noreferrer">{escape(url)}</a>' if url else "&ndash;"
        problem = ""
        if job.error is not None:
            problem = (f'<div class="error" role="alert"><strong>{escape(job.error.code)}</strong>: '
                       f'{escape(job.error.message)}</div>')
        warnings = "".join(f'<div class="warning">warning: {escape(w)}</div>' for w in job.warnings)
        out.append(f'<tr data-target="{escape(str(job.target))}"><th scope="row">{escape(str(job.target))}</th>'
                   f'<td>{_status(job.status.value)}</td><td>{cell_link}</td>'
                   f'<td>{problem}{warnings or ("" if problem else "&ndash;")}</td></tr>')
    return ("<table class='targets'><caption>Targets</caption><thead><tr><th scope='col'>Target</th>"
            "<th scope='col'>Status</th><th scope='col'>Link</th><th scope='col'>Errors and warnings</th>"
            f"</tr></thead><tbody>{''.join(out)}</tbody></table>")


def _charts(t: TargetMetrics, index: int) -> str:
    if t.state == "none":
        return ""
    notes = []
    if t.error is not None:
        notes.append(f'<p class="error" role="alert">{escape(t.error.message)}</p>')
    if t.state == "resolving":
        notes.append("<p>Waiting for the platform to make the post public; its metrics follow.</p>")
    if t.next_reading_at is not None:
        notes.append(f'<p>Next reading: <time datetime="{t.next_reading_at.isoformat()}">'
                     f'{t.next_reading_at:%Y-%m-%d %H:%M %Z}</time></p>')
    figures = []
    for m, name in enumerate(t.metric_names()):
        points = [ChartPoint(label=step_label(s.step), at=s.taken_at, value=s.metrics[name])
                  for s in t.snapshots if name in s.metrics]
        rows = "".join(f"<tr><th scope='row'>{escape(p.label)}</th><td>{p.at:%Y-%m-%d %H:%M}</td>"
                       f"<td>{p.value:,}</td></tr>" for p in points)
        figures.append(
            f'<figure class="metric"><figcaption>{escape(name)}</figcaption>'
            f'{metric_svg(name, points, chart_id=f"c{index}-{m}")}'
            f'<details><summary>Figures</summary><table><thead><tr><th scope="col">After</th>'
            f'<th scope="col">Taken</th><th scope="col">{escape(name)}</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></details></figure>')
    if not figures:
        figures.append("<p>No readings yet.</p>")
    return (f'<section class="metrics" aria-labelledby="m{index}"><h2 id="m{index}">Metrics: '
            f'{escape(str(t.target))}</h2>{"".join(notes)}<div class="charts">{"".join(figures)}</div></section>')


def _event(event: EventRow, tz: tzinfo) -> str:
    details = ", ".join(f"{k}: {v}" for k, v in event.data.items() if v not in (None, "", [], {})
                        and k not in ("owner", "token", "key"))
    return (f'<li><time datetime="{event.at.isoformat()}">{event.at.astimezone(tz):%Y-%m-%d %H:%M:%S}</time> '
            f'<strong>{escape(event.kind)}</strong>'
            f'{" <span class=detail>" + escape(details) + "</span>" if details else ""}</li>')


def post_page(*, row: PostRow, events: Sequence[EventRow], metrics: Sequence[TargetMetrics], tz: tzinfo,
              url: Url) -> str:
    by_job = {t.job_id: t for t in metrics}
    caption = escape(row.post.content) or "(no caption)"
    when = f"Scheduled for {escape(row.post.scheduled_at)}" if row.post.scheduled_at != "now" else "Posted now"
    body = (f'<p class="caption-full">{caption}</p><p class="meta">{when} · created '
            f'<time datetime="{row.created_at.isoformat()}">{row.created_at.astimezone(tz):%Y-%m-%d %H:%M}</time>'
            f' · id <code>{escape(row.id)}</code></p>'
            f'{_target_rows(row, by_job)}'
            f'{"".join(_charts(t, i) for i, t in enumerate(metrics))}'
            f'<section aria-labelledby="timeline"><h2 id="timeline">Timeline</h2>'
            f'<ol class="timeline">{"".join(_event(e, tz) for e in events)}</ol></section>')
    return page(f"Post {row.id}", body, url=url)


def not_found_page(message: str, *, url: Url) -> str:
    return page("Not found", f'<p role="alert">{escape(message)}</p>', url=url)


def when_text(at: datetime | None) -> str:
    return at.isoformat() if at else ""
