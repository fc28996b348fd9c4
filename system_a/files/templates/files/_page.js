// The upload page, in plain JavaScript (no library): drop or choose several files, upload each
// through the JSON API with its own progress and a cancel, poll the list while any file is in
// flight, and announce each file that finishes. Without JavaScript the page still works as forms.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var ACTIVE = { PENDING: true, PROCESSING: true };
  var POLL_MS = 1500;
  var TOAST_LIMIT = 3;
  var TOAST_MS = 6000;
  var form = document.getElementById("upload-form");
  var input = document.getElementById("id_file");
  var zone = document.getElementById("dropzone");
  var list = document.getElementById("file-list");
  var uploads = document.getElementById("uploads");
  var errorBox = document.getElementById("upload-error");
  var toasts = document.getElementById("toasts");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var timer = null;

  function formatNumber(n) { return n.toLocaleString("en-US"); }

  // Toasts sit in the page's flow (never over a button), at most TOAST_LIMIT at once, each
  // closed by its button or after TOAST_MS.
  function toast(text, kind) {
    var el = document.createElement("div");
    el.className = "toast " + kind;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    var span = document.createElement("span");
    span.className = "toast-text";
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Close notification");
    close.textContent = "×";
    close.addEventListener("click", function () { el.remove(); });
    el.appendChild(span);
    el.appendChild(close);
    toasts.appendChild(el);
    while (toasts.children.length > TOAST_LIMIT) { toasts.firstElementChild.remove(); }
    setTimeout(function () { el.remove(); }, TOAST_MS);
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  // Files this page announces when they finish: every file seen in flight, and every file
  // uploaded or retried from here (B may finish one before the next poll ever sees it active).
  var watching = {};

  function rowsOf() { return list.querySelectorAll("tr[data-file-id]"); }

  function watchInFlight() {
    var inFlight = false;
    rowsOf().forEach(function (tr) {
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
    var url = list.dataset.src + window.location.search;  // the same search, filter and page
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
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
        list.innerHTML = html;
        rowsOf().forEach(function (tr) {
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

  // The server's own reason: the API's detail ("The submitted file is empty."), else a field's.
  function apiError(text, fallback) {
    try {
      var body = JSON.parse(text);
      var fields = body.errors && Object.keys(body.errors);
      if (fields && fields.length && body.errors[fields[0]][0]) { return body.errors[fields[0]][0]; }
      return body.detail || fallback;
    } catch (e) { return fallback; }
  }

  function uploadItem(file) {
    var li = document.createElement("li");
    li.className = "upload";
    li.innerHTML = '<span class="upload-name"></span>' +
      '<button type="button" class="secondary upload-cancel">Cancel</button>' +
      '<div class="meter" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><span></span></div>' +
      '<span class="upload-state" aria-live="polite"></span>';
    li.querySelector(".upload-name").textContent = file.name;
    li.querySelector(".upload-name").title = file.name;
    li.querySelector(".meter").setAttribute("aria-label", "Uploading " + file.name);
    uploads.appendChild(li);
    return li;
  }

  function finishItem(li, kind, text, keepMs) {
    li.classList.add(kind);
    li.querySelector(".upload-state").textContent = text;
    li.querySelector(".meter").hidden = true;
    var cancel = li.querySelector(".upload-cancel");
    cancel.textContent = "Dismiss";
    cancel.onclick = function () { li.remove(); };
    if (keepMs) { setTimeout(function () { li.remove(); }, keepMs); }
  }

  function upload(file) {
    var li = uploadItem(file);
    var state = li.querySelector(".upload-state");
    if (file.size > maxBytes) {
      finishItem(li, "failed", "The file is " + formatNumber(file.size) + " bytes; the limit is " + formatNumber(maxBytes) + " bytes.");
      return;
    }
    var data = new FormData();
    data.append("file", file);
    var xhr = new XMLHttpRequest();  // fetch() cannot report upload progress
    var meter = li.querySelector(".meter");
    var bar = meter.querySelector("span");
    state.textContent = "Uploading… 0%";
    li.querySelector(".upload-cancel").onclick = function () { xhr.abort(); };
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.round(100 * e.loaded / e.total);
      bar.style.width = percent + "%";
      meter.setAttribute("aria-valuenow", String(percent));
      state.textContent = "Uploading… " + percent + "%";
    };
    xhr.onload = function () {
      if (xhr.status === 201) {
        watching[JSON.parse(xhr.responseText).id] = true;
        finishItem(li, "done", "Uploaded; System B is on it.", 4000);
        refresh();
      } else {
        finishItem(li, "failed", apiError(xhr.responseText, "The upload failed (" + xhr.status + ")."));
      }
    };
    xhr.onerror = function () { finishItem(li, "failed", "The upload did not reach the server."); };
    xhr.onabort = function () { finishItem(li, "failed", "Cancelled.", 4000); };
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(data);
  }

  function uploadAll(files) {
    showError("");
    Array.prototype.forEach.call(files, upload);
  }

  input.addEventListener("change", function () {
    uploadAll(input.files);
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
    uploadAll(e.dataTransfer.files);
  });
  // The label opens the picker with a click; keyboard users reach it with Tab and open it with
  // Enter or Space. The hidden input itself leaves the tab order, so focus lands once.
  zone.tabIndex = 0;
  input.tabIndex = -1;
  zone.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });

  function post(url, method) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
  }

  list.addEventListener("submit", function (e) {
    var retry = e.target.closest(".retry-form");
    var del = e.target.closest(".delete-form");
    if (!retry && !del) { return; }
    e.preventDefault();
    var button = e.target.querySelector("button");
    var row = e.target.closest("tr");
    if (retry) {
      button.disabled = true;
      button.textContent = "Retrying…";
      post(retry.dataset.api, "POST").then(function (response) {
        if (response.status === 202) { watching[row.dataset.fileId] = true; return refresh(); }
        return response.text().then(function (text) { toast(apiError(text, "Retry failed."), "error"); refresh(); });
      });
      return;
    }
    if (!window.confirm("Delete " + del.dataset.name + " and its output?")) { return; }
    button.disabled = true;
    post(del.dataset.api, "DELETE").then(function (response) {
      if (response.status === 204) { toast(del.dataset.name + " deleted.", "info"); return refresh(); }
      return response.text().then(function (text) { toast(apiError(text, "Delete failed."), "error"); refresh(); });
    });
  });

  list.addEventListener("click", function (e) {
    if (e.target.closest(".upload-fixed")) { e.preventDefault(); zone.focus(); input.click(); }
  });
  list.addEventListener("click", function (e) {
    var link = e.target.closest(".pager a");
    if (!link) { return; }
    // Page links keep working as links; the poll must then ask for the same page.
    e.preventDefault();
    window.history.pushState(null, "", link.getAttribute("href"));
    refresh();
  });
  window.addEventListener("popstate", refresh);

  schedule();
})();
