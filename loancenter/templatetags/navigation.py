"""The side navigation, drawn once per language, set of posts and current page, then reused.

``includes/nav.html`` depends on nothing else: about forty translated strings and a dozen URLs that cost 0.85 ms
of CPU on every page (bench/load.py). The combinations are few (two languages, the posts people hold, the pages
that are "current"), so the rendered HTML is kept per process, up to a bound.
"""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.translation import get_language

register = template.Library()

_DRAWN: dict[tuple, str] = {}
_MAX_DRAWN = 2000  # far above languages × post combinations × pages; a bound, not a tuning knob


@register.simple_tag(takes_context=True)
def nav(context) -> str:
    request = context["request"]
    posts = frozenset(request.user.posts)
    match = request.resolver_match
    key = (get_language(), posts, match.url_name if match else None)
    html = _DRAWN.get(key)
    if html is None:
        html = render_to_string("includes/nav.html", {"posts": posts, "current": key[2]})
        if len(_DRAWN) < _MAX_DRAWN:
            _DRAWN[key] = html
    return html
