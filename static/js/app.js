// Adds one more row to an inline formset ("add another guarantor / collateral"). No framework.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-add-row]");
  if (!button) return;
  event.preventDefault();
  var prefix = button.getAttribute("data-add-row");
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var template = document.getElementById(prefix + "-empty-row");
  var body = document.getElementById(prefix + "-rows");
  if (!total || !template || !body) return;
  var index = parseInt(total.value, 10);
  var html = template.innerHTML.replace(/__prefix__/g, String(index));
  var holder = document.createElement("tbody");
  holder.innerHTML = html.trim();
  while (holder.firstChild) body.appendChild(holder.firstChild);
  total.value = String(index + 1);
});

// The menu button of narrow screens (issue 15 part 2). Without JavaScript the menu stays open above the page and the
// button is not shown. Open, the menu holds the keyboard (issue 15 part 14): Tab and Shift+Tab go round the button
// and the menu's links; Escape closes it and gives the focus back to the button.
document.documentElement.classList.add("js");
function menuParts() {
  var toggle = document.querySelector(".menu-toggle");
  var nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  return toggle && nav ? { toggle: toggle, nav: nav } : null;
}
function menuIsOpen(parts) {  // open, and folded behind its button (a wide screen shows the menu and no button)
  return document.body.classList.contains("nav-open") && parts.toggle.getClientRects().length > 0;
}
function setMenu(parts, open) {
  document.body.classList.toggle("nav-open", open);
  parts.toggle.setAttribute("aria-expanded", open ? "true" : "false");
}
document.addEventListener("click", function (event) {
  var toggle = event.target.closest(".menu-toggle");
  var parts = menuParts();
  if (!toggle || !parts) return;
  setMenu(parts, !document.body.classList.contains("nav-open"));
});
document.addEventListener("keydown", function (event) {
  var parts = menuParts();
  if (!parts || !menuIsOpen(parts)) return;
  if (event.key === "Escape") {
    setMenu(parts, false);
    parts.toggle.focus();
    return;
  }
  if (event.key !== "Tab") return;
  var stops = [parts.toggle].concat(Array.prototype.filter.call(
    parts.nav.querySelectorAll("a[href], button, input, select, textarea, [tabindex]"),
    function (e) { return e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0; }));
  var at = stops.indexOf(document.activeElement);
  var step = event.shiftKey ? -1 : 1;
  var next = at < 0 ? (event.shiftKey ? stops.length - 1 : 0) : (at + step + stops.length) % stops.length;
  event.preventDefault();
  stops[next].focus();
});

// The report dimensions (issue 15 part 14): a folded list's summary says what is ticked as boxes are ticked.
document.addEventListener("change", function (event) {
  var filter = event.target.closest("details.dim-filter");
  var shown = filter && filter.querySelector(".dim-chosen");
  if (!shown) return;
  var chosen = Array.prototype.map.call(filter.querySelectorAll("input:checked"), function (box) {
    return box.closest("label").textContent.trim();
  });
  shown.textContent = chosen.length ? chosen.join("、") : shown.getAttribute("data-none");
});
