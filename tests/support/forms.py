"""Read a rendered HTML form the way a browser submits it, so a test can post back exactly what a page showed.

``rendered_form(html)`` returns the form's fields as a browser's "successful controls" (HTML Living Standard,
"constructing the entry list"): text-like inputs and hidden fields with their value, checkboxes and radios only when
checked (value ``on`` by default), a ``<select>``'s selected options (the first option when none is selected and it
is a single select), ``<textarea>`` text; disabled controls, buttons, file inputs and anything inside a
``<template>`` (the empty row a script would clone) are left out. A test edits the result like a person would
(``form["documents"].append("x")``) and posts it: ``client.post(url, form.data)``.

Standard library only (``html.parser``): the pages are ours and well formed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_SKIPPED_INPUTS = {"submit", "button", "reset", "image", "file"}


@dataclass
class RenderedForm:
    action: str
    method: str
    attrs: dict
    fields: list[tuple[str, str]] = field(default_factory=list)

    @property
    def data(self) -> dict[str, list[str]]:
        """``{name: [values…]}`` in document order: what ``django.test.Client.post`` sends as the browser would."""
        out: dict[str, list[str]] = {}
        for name, value in self.fields:
            out.setdefault(name, []).append(value)
        return out

    def __getitem__(self, name: str) -> str:
        values = [v for k, v in self.fields if k == name]
        if len(values) != 1:
            raise KeyError(f"{name}: {len(values)} values")
        return values[0]

    def names(self) -> set[str]:
        return {k for k, _v in self.fields}


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[RenderedForm] = []
        self._form: RenderedForm | None = None
        self._template_depth = 0
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    # -- elements --------------------------------------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "template":
            self._template_depth += 1
            return
        if self._template_depth:
            return
        if tag == "form":
            self._form = RenderedForm(action=a.get("action", ""), method=a.get("method", "get").lower(), attrs=a)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            self._input(a)
        elif tag == "select":
            self._select = {"name": a.get("name"), "multiple": "multiple" in a, "disabled": "disabled" in a,
                            "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif tag == "textarea":
            self._textarea = {"name": a.get("name"), "disabled": "disabled" in a, "text": ""}

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in ("input",):
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "template":
            self._template_depth -= 1
            return
        if self._template_depth or self._form is None:
            return
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            select, self._select = self._select, None
            if not select["name"] or select["disabled"]:
                return
            options = select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not select["multiple"]:
                chosen = options[:1]
            if not select["multiple"]:
                chosen = chosen[-1:]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"].strip()
                self._form.fields.append((select["name"], value))
        elif tag == "textarea" and self._textarea is not None:
            area, self._textarea = self._textarea, None
            if area["name"] and not area["disabled"]:
                text = area["text"][1:] if area["text"].startswith("\n") else area["text"]
                self._form.fields.append((area["name"], text.replace("\r\n", "\n")))

    def handle_data(self, data):
        if self._template_depth:
            return
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def _input(self, a: dict) -> None:
        kind = a.get("type", "text").lower()
        name = a.get("name")
        if not name or "disabled" in a or kind in _SKIPPED_INPUTS:
            return
        if kind in ("checkbox", "radio"):
            if "checked" in a:
                self._form.fields.append((name, a.get("value", "on")))
            return
        self._form.fields.append((name, a.get("value", "")))


def rendered_forms(html: str | bytes) -> list[RenderedForm]:
    parser = _FormParser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    parser.close()
    return parser.forms


def rendered_form(html: str | bytes, *, testid: str | None = None, form_id: str | None = None,
                  has_field: str | None = None, index: int | None = None, method: str = "post") -> RenderedForm:
    """The one form of the page that matches: its ``data-testid``, a field it contains, or its position among the
    page's forms of that method (the log-out and language forms of the top bar are forms too)."""
    forms = [f for f in rendered_forms(html) if f.method == method]
    if testid is not None:
        forms = [f for f in forms if f.attrs.get("data-testid") == testid]
    if form_id is not None:
        forms = [f for f in forms if f.attrs.get("id") == form_id]
    if has_field is not None:
        forms = [f for f in forms if has_field in f.names()]
    if index is not None:
        return forms[index]
    if len(forms) != 1:
        raise AssertionError(f"expected one matching form, found {len(forms)}")
    return forms[0]


def post_back(client, url: str, **which):
    """Open ``url`` as a person would, and submit its form without touching anything. Returns (form, response)."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = rendered_form(page.content, **which)
    return form, client.post(form.action or url, form.data)
