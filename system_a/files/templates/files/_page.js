// The upload page, in plain JavaScript (no library): drag-and-drop or pick a file, upload it
// through the JSON API with a progress bar, poll the table body while any file is in flight,
// and announce each file that finishes. Without JavaScript the page still works as a form.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var ACTIVE = { PENDING: true, PROCESSING: true };
  var POLL_MS = 1500;
  var form = document.getElementById("upload-form");
  var input = document.getElementById("id_file");
  var zone = document.getElementById("dropzone");
  var rows = document.getElementById("file-rows");
  var errorBox = document.getElementById("upload-error");
  var progress = document.getElementById("upload-progress");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var timer = null;

  function toast(text, kind) {
    var el = document.createElement("div");
    el.className = "toast " + kind;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = text;
    document.getElementById("toasts").appendChild(el);
    setTimeout(function () { el.remove(); }, 8000);
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  // Files this page announces when they finish: every file seen in flight, and every file
  // uploaded or retried from here (B may finish one before the next poll ever sees it active).
  var watching = {};

  function watchInFlight() {
    var inFlight = false;
    rows.querySelectorAll("tr[data-file-id]").forEach(function (tr) {
      if (ACTIVE[tr.dataset.status]) { watching[tr.dataset.fileId] = true; inFlight = true; }
    });
    return inFlight;
  }

  function schedule() {
    clearTimeout(timer);
    if (watchInFlight()) { timer = setTimeout(refresh, POLL_MS); }
  }

  function refresh() {
    clearTimeout(timer);
    return fetch(rows.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          window.location.reload();  // the session ended: show the login page
          return null;
        }
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        rows.innerHTML = html;
        rows.querySelectorAll("tr[data-file-id]").forEach(function (tr) {
          var id = tr.dataset.fileId;
          if (watching[id] && !ACTIVE[tr.dataset.status]) {
            delete watching[id];
            toast(tr.dataset.toast, tr.dataset.status === "SUCCESS" ? "success" : "error");
            tr.classList.add("flash");
          }
        });
        schedule();
      })
      .catch(function () { timer = setTimeout(refresh, POLL_MS * 4); });  // server busy: back off
  }

  function apiError(xhrOrResponseText, fallback) {
    try { return JSON.parse(xhrOrResponseText).detail || fallback; } catch (e) { return fallback; }
  }

  function upload(file) {
    showError("");
    if (file.size > maxBytes) {
      showError(file.name + " is " + file.size.toLocaleString() + " bytes; the limit is " + maxBytes.toLocaleString() + " bytes.");
      return;
    }
    var data = new FormData();
    data.append("file", file);
    var xhr = new XMLHttpRequest();  // fetch() cannot report upload progress
    var bar = progress.querySelector(".meter span");
    var label = progress.querySelector(".meter-label");
    progress.hidden = false;
    bar.style.width = "0%";
    label.textContent = "Uploading " + file.name + "…";
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.style.width = Math.round(100 * e.loaded / e.total) + "%"; }
    };
    xhr.onload = function () {
      progress.hidden = true;
      if (xhr.status === 201) {
        watching[JSON.parse(xhr.responseText).id] = true;
        toast(file.name + " uploaded; System B is on it.", "info");
        refresh();
      } else {
        showError(apiError(xhr.responseText, "The upload failed (" + xhr.status + ")."));
      }
    };
    xhr.onerror = function () { progress.hidden = true; showError("The upload did not reach the server."); };
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(data);
  }

  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, upload);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    Array.prototype.forEach.call(e.dataTransfer.files, upload);
  });
  // The label opens the picker with a click; keep keyboard users able to do the same.
  zone.tabIndex = 0;
  zone.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });

  rows.addEventListener("submit", function (e) {
    var retry = e.target.closest(".retry-form");
    if (!retry) { return; }
    e.preventDefault();
    retry.querySelector("button").disabled = true;
    fetch(retry.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 202) {
        watching[retry.closest("tr").dataset.fileId] = true;
        return refresh();
      }
      return response.text().then(function (text) { toast(apiError(text, "Retry failed."), "error"); refresh(); });
    });
  });

  schedule();
})();
