// Upload of documents: drag and drop or choose several files, one request per file with its own progress bar
// (XMLHttpRequest's upload progress), then the preview. Files go one after another (a phone's uplink is shared, and
// each answer names its own file). Without this script the form posts as a plain form.
(function () {
  "use strict";
  var form = document.querySelector("[data-testid=upload-form]");
  if (!form) return;
  var zone = form.querySelector(".dropzone");
  var input = form.querySelector("input[type=file]");
  var list = form.querySelector(".upload-list");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function showPreview(item, doc, tries) {
    var img = document.createElement("img");
    img.alt = doc.label;
    img.className = "upload-preview";
    img.setAttribute("data-testid", "upload-preview");
    img.onerror = function () {  // the preview task has not finished yet: try again shortly
      img.remove();
      if (tries > 0) setTimeout(function () { showPreview(item, doc, tries - 1); }, 1000);
    };
    img.src = doc.preview_url || ("/documents/" + doc.id + "/preview/");
    var link = document.createElement("a");
    link.href = doc.file_url;
    link.target = "_blank";
    link.rel = "noopener";
    link.appendChild(img);
    item.appendChild(link);
  }

  var queue = [];
  var busy = false;

  function next() {
    if (busy || !queue.length) return;
    busy = true;
    var job = queue.shift();
    send(job.file, job.code, job.item);
  }

  function done() {
    busy = false;
    next();
  }

  function enqueue(file) {
    var item = document.createElement("li");
    item.setAttribute("data-testid", "upload-item");
    var name = document.createElement("span");
    name.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var state = document.createElement("span");
    state.className = "upload-state";
    item.appendChild(name);
    item.appendChild(bar);
    item.appendChild(state);
    list.appendChild(item);
    queue.push({file: file, code: form.querySelector("[name=code]").value, item: item});
    next();
  }

  function send(file, code, item) {
    var bar = item.querySelector("progress");
    var state = item.querySelector(".upload-state");
    var data = new FormData();
    data.append("code", code);
    data.append("file", file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) bar.value = Math.round(event.loaded * 100 / event.total);
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {detail: xhr.statusText}; }
      if (xhr.status === 201) {
        bar.value = 100;
        item.className = "upload-ok";
        state.textContent = " ✓ v" + body.documents[0].version;
        showPreview(item, body.documents[0], 5);
      } else {
        item.className = "upload-error";
        state.textContent = " " + (body.detail || xhr.statusText);
        state.setAttribute("role", "alert");
      }
      done();
    };
    xhr.onerror = function () {
      item.className = "upload-error";
      state.textContent = " " + xhr.statusText;
      done();
    };
    xhr.send(data);
  }

  function sendAll(files) {
    for (var i = 0; i < files.length; i++) enqueue(files[i]);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    sendAll(input.files);
    input.value = "";
  });
  input.addEventListener("change", function () {
    sendAll(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files) sendAll(event.dataTransfer.files);
  });
})();
