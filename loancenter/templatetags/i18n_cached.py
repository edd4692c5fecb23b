"""``{% translate "constant" %}`` looked up once per language: ``{% load i18n i18n_cached %}``.

Loaded after Django's ``i18n``, this library replaces its ``translate``/``trans`` tags (every other tag and filter
stays Django's) with a node that remembers what a *constant* message rendered to. Django's node resolves the
literal, asks gettext (two context-local lookups) and escapes, 20 µs a tag; a page has 60 to 100 of them
(bench/load.py). The result of a constant message depends only on the active language, the
message, its ``noop`` flag and the template's autoescaping, which form the key. Anything else (a variable, a filter,
a message context) renders as Django renders it.
"""

from __future__ import annotations

from django import template
from django.templatetags import i18n as django_i18n
from django.utils.translation import get_language

register = template.Library()

_RENDERED: dict[tuple, str] = {}
_MAX_RENDERED = 20000  # languages × messages in the templates; a bound against misuse, never reached in practice


class CachedTranslateNode(django_i18n.TranslateNode):
    def render(self, context):
        expression = self.filter_expression
        literal = getattr(expression.var, "literal", None)
        if not isinstance(literal, str) or expression.filters or self.message_context is not None:
            return super().render(context)
        key = (get_language(), literal, self.noop, context.autoescape)
        value = _RENDERED.get(key)
        if value is None:
            value = super().render(context)
            if self.asvar:
                value = context[self.asvar]
            if len(_RENDERED) < _MAX_RENDERED:
                _RENDERED[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    node = django_i18n.do_translate(parser, token)
    node.__class__ = CachedTranslateNode
    return node
