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

// The menu button of narrow screens (issue 15 part 2). Without JavaScript the menu stays open above the page.
document.documentElement.classList.add("js");
document.addEventListener("click", function (event) {
  var toggle = event.target.closest(".menu-toggle");
  if (!toggle) return;
  var open = document.body.classList.toggle("nav-open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape" || !document.body.classList.contains("nav-open")) return;
  document.body.classList.remove("nav-open");
  var toggle = document.querySelector(".menu-toggle");
  if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
});
