// The application form's helpers (issue 15, part 6). Without JavaScript the form works as plain selects and fields;
// with it: the chosen product's documents and purposes at once, customer search, inline guarantor registration and
// the live calculator (figures from the server's rule code, /loans/calculator/).
(function () {
  "use strict";
  var form = document.querySelector("[data-testid=application-form]");
  if (!form) return;
  var facts = JSON.parse(document.getElementById("product-facts").textContent || "{}");
  var productSelect = form.querySelector("[data-product-select]");
  var purposeSelect = form.querySelector("select[name=purpose]");
  var panel = document.querySelector("[data-testid=product-requirements]");
  var noneLabel = (document.getElementById("none-label") || {}).innerHTML || "—";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillList(list, items) {
    list.innerHTML = "";
    if (!items.length) { list.appendChild(el("li", {"class": "muted"}, noneLabel)); return; }
    items.forEach(function (item) { list.appendChild(el("li", {"data-code": item.code}, item.label)); });
  }

  // --- The product's documents and purposes -------------------------------------------------------------------
  var loadedPurposes = purposeSelect ? purposeSelect.innerHTML : "";

  // ``onLoad``: the server drew the purpose list for the product already (a draft keeps the purpose it states).
  function showProduct(onLoad) {
    var info = productSelect && facts[productSelect.value];
    if (!panel) return;
    panel.hidden = !info;
    if (!info && purposeSelect && !onLoad) purposeSelect.innerHTML = loadedPurposes;
    document.querySelectorAll("input[name=documents]").forEach(function (box) {
      var label = box.closest("label");
      if (label) label.classList.toggle("doc-required", !!info && info.documents.some(function (d) { return d.code === box.value; }));
    });
    if (!info) return;
    fillList(panel.querySelector("[data-testid=required-documents]"), info.documents);
    fillList(panel.querySelector("[data-testid=allowed-purposes]"), info.purposes);
    if (purposeSelect && !onLoad) {
      var current = purposeSelect.value;
      var offered = info.purposes.map(function (p) { return p.code; });
      purposeSelect.innerHTML = "";
      purposeSelect.appendChild(el("option", {value: ""}, "---------"));
      info.purposes.forEach(function (p) {
        var option = el("option", {value: p.code}, p.label);
        if (p.code === current) option.selected = true;
        purposeSelect.appendChild(option);
      });
      if (current && offered.indexOf(current) < 0) purposeSelect.value = "";
    }
  }
  if (productSelect) productSelect.addEventListener("change", function () { showProduct(false); schedule(); });
  if (productSelect && productSelect.value) showProduct(true);

  // --- Customer pickers ---------------------------------------------------------------------------------------
  var searchUrl = form.getAttribute("data-search-url");
  var pickerCount = 0;

  function enhance(select) {
    if (select.dataset.enhanced || select.name.indexOf("__prefix__") >= 0) return;
    select.dataset.enhanced = "1";
    pickerCount += 1;
    var box = el("div", {"class": "picker"});
    var listId = "picker-results-" + pickerCount;
    var input = el("input", {type: "search", "class": "picker-search", autocomplete: "off",
      "aria-controls": listId, "data-picker-search": select.dataset.customerPicker,
      "aria-label": (document.querySelector("label[for='" + select.id + "']") || {}).textContent || select.name});
    input.placeholder = pickerHint;
    var list = el("ul", {id: listId, "class": "picker-results", "aria-live": "polite"});
    box.appendChild(input);
    box.appendChild(list);
    select.parentNode.insertBefore(box, select);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(input.value.trim(), list, select, input); }, 200);
    });
  }

  function search(query, list, select, input) {
    list.innerHTML = "";
    if (query.length < 2) return;
    fetch(searchUrl + "?q=" + encodeURIComponent(query), {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {results: []}; })
      .then(function (body) {
        list.innerHTML = "";
        body.results.forEach(function (c) {
          var item = el("li", {"data-customer": String(c.id)});
          var button = el("button", {type: "button", "class": "link-button"}, c.label);
          button.addEventListener("click", function () {
            choose(select, c);
            list.innerHTML = "";
            input.value = "";
          });
          item.appendChild(button);
          list.appendChild(item);
        });
        if (!body.results.length) list.appendChild(el("li", {"class": "muted"}, noneLabel));
      });
  }

  function choose(select, customer) {
    var value = String(customer.id);
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
    if (!option) { option = el("option", {value: value}, customer.name); select.appendChild(option); }
    select.value = value;
    select.dispatchEvent(new Event("change", {bubbles: true}));
  }

  var pickerHint = form.getAttribute("data-picker-hint") || "";
  form.querySelectorAll("select[data-customer-picker]").forEach(enhance);
  new MutationObserver(function () {
    form.querySelectorAll("select[data-customer-picker]").forEach(enhance);
  }).observe(form, {childList: true, subtree: true});

  // --- Inline guarantor registration --------------------------------------------------------------------------
  var newForm = document.querySelector("[data-new-guarantor-form]");
  if (newForm) {
    newForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var errors = newForm.querySelector("[data-new-guarantor-errors]");
      fetch(newForm.getAttribute("data-inline-url"), {method: "POST", body: new FormData(newForm),
        headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); })
        .then(function (answer) {
          if (answer.status !== 201) {
            errors.hidden = false;
            errors.innerHTML = "";
            errors.appendChild(el("strong", {}, answer.body.detail || ""));
            var ul = el("ul");
            Object.keys(answer.body.fields || {}).forEach(function (name) {
              var label = newForm.querySelector("label[for='id_" + name + "']");
              answer.body.fields[name].forEach(function (m) {
                ul.appendChild(el("li", {}, (label ? label.textContent.replace("*", "").trim() + ": " : "") + m));
              });
            });
            errors.appendChild(ul);
            return;
          }
          errors.hidden = true;
          var selects = form.querySelectorAll("select[data-customer-picker=guarantor]");
          var target = Array.prototype.find.call(selects, function (s) { return !s.value && s.name.indexOf("__prefix__") < 0; });
          if (!target) {
            var add = form.querySelector("[data-add-row=guarantors]");
            if (add) add.click();
            selects = form.querySelectorAll("select[data-customer-picker=guarantor]");
            target = selects[selects.length - 1];
          }
          // Every guarantor select offers the new customer; the empty row takes it.
          form.querySelectorAll("select[data-customer-picker]").forEach(function (s) {
            if (!Array.prototype.some.call(s.options, function (o) { return o.value === String(answer.body.id); })) {
              s.appendChild(el("option", {value: String(answer.body.id)}, answer.body.name));
            }
          });
          var template = document.getElementById("guarantors-empty-row");
          if (template) {
            var holder = document.createElement("tbody");
            holder.innerHTML = template.innerHTML;
            var s = holder.querySelector("select[data-customer-picker]");
            if (s) { s.appendChild(el("option", {value: String(answer.body.id)}, answer.body.name)); template.innerHTML = holder.innerHTML; }
          }
          if (target) choose(target, answer.body);
          newForm.reset();
          newForm.closest("details").open = false;
        });
    });
  }

  // --- The calculator -----------------------------------------------------------------------------------------
  var calculator = document.querySelector("[data-testid=calculator]");
  var calcUrl = form.getAttribute("data-calculator-url");
  var calcTimer = null;
  var calcSeq = 0;

  function value(name) {
    var field = form.querySelector("[name=" + name + "]");
    return field ? field.value.trim() : "";
  }

  function schedule() {
    clearTimeout(calcTimer);
    calcTimer = setTimeout(calculate, 250);
  }

  function setFigure(name, text, ok) {
    var node = calculator.querySelector("[data-calc=" + name + "]");
    if (!node) return;
    node.textContent = text || "—";
    if (ok !== undefined) {
      node.classList.toggle("calc-bad", ok === false);
      node.classList.toggle("calc-ok", ok === true);
    }
  }

  function calculate() {
    if (!calculator) return;
    var params = new URLSearchParams();
    ["product", "customer", "amount", "term_months", "repayment_method", "long_term_reason"].forEach(function (n) {
      var v = value(n);
      if (v) params.append(n, v);
    });
    form.querySelectorAll("input[name$='-appraised_value']").forEach(function (input) {
      var del = form.querySelector("[name='" + input.name.replace("appraised_value", "DELETE") + "']");
      if (input.value.trim() && !(del && del.checked) && input.name.indexOf("__prefix__") < 0) params.append("appraised_value", input.value.trim());
    });
    if (!params.get("product") || !params.get("amount") || !params.get("term_months") || !params.get("repayment_method")) return;
    var seq = ++calcSeq;
    fetch(calcUrl + "?" + params.toString(), {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); })
      .then(function (answer) {
        if (seq !== calcSeq) return;  // a later request is on its way
        var hint = calculator.querySelector(".calc-hint");
        if (hint) hint.hidden = answer.status === 200;
        var warnings = calculator.querySelector("[data-testid=calculator-warnings]");
        warnings.innerHTML = "";
        if (answer.status !== 200) {
          ["annual_rate_pct", "installment", "dti_pct", "ltv_pct"].forEach(function (n) { setFigure(n, "—"); });
          return;
        }
        var b = answer.body;
        setFigure("annual_rate_pct", b.annual_rate_pct);
        setFigure("installment", b.installment_display);
        setFigure("dti_pct", b.dti_pct, b.dti_ok === null ? undefined : b.dti_ok);
        setFigure("max_dti_pct", b.max_dti_pct);
        setFigure("ltv_pct", b.ltv_pct, b.ltv_ok === null ? undefined : b.ltv_ok);
        setFigure("max_ltv_pct", b.max_ltv_pct);
        b.warnings.forEach(function (w) { warnings.appendChild(el("li", {"data-code": w.code}, w.message)); });
      });
  }

  form.addEventListener("input", function (event) {
    if (event.target.matches("[data-picker-search]")) return;
    schedule();
  });
  form.addEventListener("change", function (event) {
    if (event.target.matches("[data-picker-search]")) return;
    schedule();
  });
})();
