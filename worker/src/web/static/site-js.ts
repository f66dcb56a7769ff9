/**
 * Behaviour of the site's pages, in plain ES2020 (no framework, no build): wired by data-* attributes, so the
 * pages carry no inline script (the CSP forbids it). Every string from the server is inserted as text
 * (textContent / createTextNode), never as HTML.
 */
export const SITE_JS = String.raw`"use strict";
(function () {
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function humanSize(bytes) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], v = bytes, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return (u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " " + units[u];
  }
  function show(node, on) { if (node) node.classList.toggle("hidden", !on); }

  // ---- sortable tables: th[data-sort] buttons sort the tbody rows on td[data-value] --------------------
  $$("table[data-sortable]").forEach(function (table) {
    var heads = $$("thead th", table);
    heads.forEach(function (th, col) {
      var kind = th.getAttribute("data-sort");
      var button = $("button.sort", th);
      if (!kind || !button) return;
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[col];
          var v = cell ? cell.getAttribute("data-value") || cell.textContent || "" : "";
          return kind === "num" ? Number(v) || 0 : v.toLowerCase();
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var r = x < y ? -1 : x > y ? 1 : 0;
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  // ---- filters: input[data-filter-for=id] and select[data-kind-for=id] hide non-matching rows ----------
  function applyFilter(id) {
    var box = document.getElementById(id);
    if (!box) return;
    var input = $('[data-filter-for="' + id + '"]');
    var select = $('[data-kind-for="' + id + '"]');
    var text = input ? input.value.trim().toLowerCase() : "";
    var kind = select ? select.value : "";
    var rows = $$("tbody tr", box), shown = 0;
    rows.forEach(function (row) {
      var hay = (row.getAttribute("data-filter") || row.textContent || "").toLowerCase();
      var ok = (!text || hay.indexOf(text) >= 0) && (!kind || row.getAttribute("data-kind") === kind);
      row.classList.toggle("hidden", !ok);
      if (ok) shown++;
    });
    var count = $('[data-count-for="' + id + '"]');
    if (count) count.textContent = shown === rows.length ? rows.length + " entries" : shown + " of " + rows.length;
  }
  $$("[data-filter-for]").forEach(function (input) {
    var id = input.getAttribute("data-filter-for");
    input.addEventListener("input", function () { applyFilter(id); });
    applyFilter(id);
  });
  $$("[data-kind-for]").forEach(function (select) {
    var id = select.getAttribute("data-kind-for");
    select.addEventListener("change", function () { applyFilter(id); });
  });

  // ---- copy buttons ------------------------------------------------------------------------------------
  $$("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      var text = source.textContent || "";
      var done = function () {
        var was = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = was; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
      } else {
        selectText(source);
        try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the reader copies */ }
      }
    });
  });
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // ---- forms that ask first ----------------------------------------------------------------------------
  $$("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  // ---- contents tree: one directory level per request ---------------------------------------------------
  var PAGE = 200;
  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.message ? body.message : "HTTP " + res.status);
        return body;
      });
    });
  }
  function treeItem(base, entry) {
    var li = el("li", { "data-path": entry.path });
    if (entry.type === "directory") {
      var btn = el("button", { type: "button", class: "dir", "aria-expanded": "false", text: "▸ " + entry.name + "/" });
      li.appendChild(btn);
      li.appendChild(el("span", { class: "meta", text: entry.children + (entry.children === 1 ? " entry" : " entries") }));
      var sub = null;
      btn.addEventListener("click", function () {
        var open = btn.getAttribute("aria-expanded") === "true";
        if (open) {
          btn.setAttribute("aria-expanded", "false");
          btn.textContent = "▸ " + entry.name + "/";
          show(sub, false);
          return;
        }
        btn.setAttribute("aria-expanded", "true");
        btn.textContent = "▾ " + entry.name + "/";
        if (sub) { show(sub, true); return; }
        sub = el("ul");
        li.appendChild(sub);
        loadLevel(base, entry.path, 0, sub);
      });
    } else {
      li.appendChild(document.createTextNode(entry.name));
      li.appendChild(el("span", { class: "meta", text: humanSize(entry.size) }));
    }
    return li;
  }
  function loadLevel(base, path, offset, ul) {
    var loading = el("li", { class: "muted", text: "loading…" });
    ul.appendChild(loading);
    var url = base + "?path=" + encodeURIComponent(path) + "&offset=" + offset + "&limit=" + PAGE;
    return getJson(url).then(function (body) {
      loading.remove();
      body.entries.forEach(function (entry) { ul.appendChild(treeItem(base, entry)); });
      if (body.total === 0) ul.appendChild(el("li", { class: "muted", text: "(empty)" }));
      var next = body.offset + body.entries.length;
      if (next < body.total) {
        var more = el("button", { type: "button", class: "small secondary more", text: "show " + Math.min(PAGE, body.total - next) + " more of " + (body.total - next) });
        var li = el("li", {}, [more]);
        more.addEventListener("click", function () { li.remove(); loadLevel(base, path, next, ul); });
        ul.appendChild(li);
      }
    }, function (err) {
      loading.textContent = "could not load: " + err.message;
      loading.className = "error";
    });
  }
  $$("[data-tree]").forEach(function (box) {
    var base = box.getAttribute("data-tree");
    var root = el("ul", { class: "tree", "data-tree-root": "" });
    var flat = el("ul", { class: "tree hidden", "data-tree-matches": "" });
    box.appendChild(root);
    box.appendChild(flat);
    loadLevel(base, "/", 0, root);
    var filter = $('[data-tree-filter="' + box.id + '"]');
    if (!filter) return;
    var timer = null, seq = 0;
    filter.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = filter.value.trim();
        var mine = ++seq;
        if (q.length < 2) { show(flat, false); show(root, true); return; }
        getJson(base + "?q=" + encodeURIComponent(q) + "&limit=" + PAGE).then(function (body) {
          if (mine !== seq) return;
          flat.textContent = "";
          body.matches.forEach(function (m) {
            flat.appendChild(el("li", {}, [m.path, el("span", { class: "meta", text: humanSize(m.size) })]));
          });
          if (body.matches.length === 0) flat.appendChild(el("li", { class: "muted", text: "no path contains “" + q + "”" }));
          if (body.truncated) flat.appendChild(el("li", { class: "muted", text: "first " + body.matches.length + " matches shown: refine the filter" }));
          show(root, false);
          show(flat, true);
        }, function (err) {
          flat.textContent = "";
          flat.appendChild(el("li", { class: "error", text: "could not filter: " + err.message }));
          show(flat, true);
        });
      }, 250);
    });
  });

  // ---- publishing: upload / start the job, then follow its events ----------------------------------------
  function progressUi(box) {
    return {
      box: box,
      uploadBlock: $("[data-upload-block]", box), uploadBar: $("[data-upload-bar]", box), uploadText: $("[data-upload-text]", box),
      jobBlock: $("[data-job-block]", box), jobBar: $("[data-job-bar]", box), jobText: $("[data-job-text]", box),
      layers: $("[data-layers]", box), events: $("[data-events]", box), jobLabel: $("[data-job-label]", box),
      error: $("[data-job-error]", box), done: $("[data-job-done]", box),
    };
  }
  function fail(ui, message) {
    show(ui.box, true);
    ui.error.textContent = message;
    show(ui.error, true);
  }
  function parseAnswer(xhrOrRes, text) {
    var body = null;
    try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
    if (xhrOrRes.status >= 200 && xhrOrRes.status < 300 && body && body.payload) return body.payload;
    var message = body && body.message ? body.message : "the hub answered HTTP " + xhrOrRes.status;
    if (xhrOrRes.status === 403) message += " (reload the page: your session may have changed)";
    throw new Error(message);
  }
  // Docker jobs report "Downloading layer i / n [done / total]", the byte counts being the whole image's: layers
  // before i are done, layer i is in progress (its own share is unknown, so its bar is indeterminate).
  var LAYER = /^Downloading layer (\d+) \/ (\d+) \[(.*) \/ (.*)\]/;
  function layerLine(ui, message) {
    var m = LAYER.exec(message);
    if (!m) {
      // A later phase (building the flist…): every layer has been pulled.
      if (ui.layers.children.length) layersDone(ui);
      return;
    }
    var i = Number(m[1]), total = Number(m[2]);
    for (var k = ui.layers.children.length + 1; k <= total; k++) {
      ui.layers.appendChild(el("li", { "data-layer": String(k) }, [
        el("span", { class: "small", text: "Layer " + k + " / " + total + " " }),
        el("span", { class: "small muted", "data-layer-text": "", text: "waiting" }),
        el("progress", { max: "100", value: "0" }),
      ]));
    }
    for (var j = 1; j <= total; j++) {
      var item = $('[data-layer="' + j + '"]', ui.layers);
      if (!item) continue;
      var bar = $("progress", item), text = $("[data-layer-text]", item);
      if (j < i) { bar.value = 100; text.textContent = "done"; }
      if (j === i) {
        bar.removeAttribute("value");
        text.textContent = "downloading (image: " + m[3] + " of " + m[4] + ")";
      }
    }
  }
  function layersDone(ui) {
    $$("[data-layer]", ui.layers).forEach(function (item) {
      $("progress", item).value = 100;
      $("[data-layer-text]", item).textContent = "done";
    });
  }
  function followJob(ui, job) {
    show(ui.box, true);
    show(ui.jobBlock, true);
    ui.jobLabel.textContent = job.job;
    ui.jobText.textContent = "Waiting for the converter…";
    var source = new EventSource(job.events);
    var finished = false;
    source.onmessage = function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data.status === "update") {
        if (typeof data.progress === "number") ui.jobBar.value = data.progress;
        ui.jobText.textContent = data.message || "";
        ui.events.appendChild(el("li", { text: (typeof data.progress === "number" ? data.progress + "% " : "") + (data.message || "") }));
        layerLine(ui, data.message || "");
      } else if (data.status === "info") {
        finished = true;
        source.close();
        ui.jobBar.value = 100;
        var flist = data.info && data.info.flist;
        ui.jobText.textContent = "Published" + (flist ? ": " + flist.regular + " files, " + flist.directory + " directories, " + humanSize(flist.fullsize) : "") + ".";
        layersDone(ui);
        ui.done.textContent = "Done: opening the flist…";
        show(ui.done, true);
        setTimeout(function () { window.location.assign(job.page); }, 600);
      } else if (data.status === "error") {
        finished = true;
        source.close();
        ui.events.appendChild(el("li", { class: "error", text: data.message || "failed" }));
        ui.jobText.textContent = "Failed.";
        fail(ui, "The job failed: " + (data.message || "unknown error"));
        // The form may be sent again (e.g. with another file).
        $$('form[data-publish] button[type="submit"]').forEach(function (b) { b.disabled = false; });
      }
    };
    source.onerror = function () {
      // EventSource reconnects by itself (resuming with Last-Event-ID); only say so while it does.
      if (!finished) ui.jobText.textContent = "Connection lost, reconnecting…";
    };
  }
  // whole (optional): this body is one part of a larger file, {done: bytes sent before it, total: file size}.
  function startWithXhr(ui, method, url, csrf, body, contentType, whole) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (contentType) xhr.setRequestHeader("Content-Type", contentType);
      if (body instanceof Blob) {
        show(ui.box, true);
        show(ui.uploadBlock, true);
        var started = Date.now();
        var before = whole ? whole.done : 0;
        xhr.upload.onprogress = function (e) {
          if (!e.lengthComputable) return;
          var loaded = before + e.loaded, total = whole ? whole.total : e.total;
          ui.uploadBar.value = Math.round((loaded / total) * 100);
          var secs = Math.max(0.001, (Date.now() - started) / 1000);
          ui.uploadText.textContent = humanSize(loaded) + " of " + humanSize(total) + " (" + humanSize(e.loaded / secs) + "/s)";
        };
        xhr.upload.onload = function () {
          if (whole && before + body.size < whole.total) return; // more parts to come
          ui.uploadBar.value = 100;
          ui.uploadText.textContent = "Uploaded " + humanSize(whole ? whole.total : body.size) + ".";
        };
      }
      xhr.onload = function () {
        try { resolve(parseAnswer(xhr, xhr.responseText)); } catch (err) { reject(err); }
      };
      xhr.onerror = function () { reject(new Error("the upload was interrupted (network error)")); };
      xhr.send(body);
    });
  }
  // An archive larger than one request to the hub may carry: the resumable protocol at /upload/parts, one part
  // after the other (the hub assembles them in R2), then complete starts the job.
  function uploadInParts(ui, csrf, file) {
    var base = "/upload/parts";
    return startWithXhr(ui, "POST", base, csrf, JSON.stringify({ filename: file.name, size: file.size }), "application/json")
      .then(function (session) {
        var count = Math.ceil(file.size / session.partSize);
        function send(n) {
          if (n > count) return startWithXhr(ui, "POST", base + "/" + encodeURIComponent(session.id) + "/complete?async=1", csrf, null, null);
          var start = (n - 1) * session.partSize;
          var part = file.slice(start, Math.min(file.size, start + session.partSize));
          return startWithXhr(ui, "PUT", base + "/" + encodeURIComponent(session.id) + "/" + n, csrf, part, "application/octet-stream", { done: start, total: file.size })
            .then(function () { return send(n + 1); });
        }
        return send(1);
      });
  }
  $$("form[data-publish]").forEach(function (form) {
    var kind = form.getAttribute("data-publish");
    var csrf = form.getAttribute("data-csrf") || "";
    var box = $("[data-job-progress]");
    if (!box) return;
    var ui = progressUi(box);
    var picked = kind === "merge" ? mergePicker(form) : null;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      show(ui.error, false);
      var submit = $('button[type="submit"]', form);
      var request;
      if (kind === "upload" || kind === "homemade") {
        var file = $('input[type="file"]', form).files[0];
        if (!file) { fail(ui, "no file selected"); return; }
        var route = kind === "upload" ? "/upload/" : "/upload-flist/";
        var singleMax = Number(form.getAttribute("data-single-max") || "0");
        if (kind === "upload" && singleMax > 0 && file.size > singleMax) request = uploadInParts(ui, csrf, file);
        else request = startWithXhr(ui, "PUT", route + encodeURIComponent(file.name), csrf, file, "application/octet-stream");
      } else if (kind === "merge") {
        var sources = picked();
        if (sources.length === 0) { fail(ui, "pick at least one flist"); return; }
        request = startWithXhr(ui, "POST", "/merge", csrf, JSON.stringify({ sources: sources, name: $("#name", form).value }), "application/json");
      } else if (kind === "docker") {
        var payload = { image: $("#image", form).value.trim() };
        var platform = $("#platform", form).value;
        if (platform) payload.platform = platform;
        if ($("#startup-toml", form).checked) payload.startupToml = true;
        var username = $("#username", form).value.trim(), password = $("#password", form).value;
        // A password with a username is basic auth (also how registries take personal access tokens); a token
        // alone is a registry bearer token.
        if (username) { payload.username = username; if (password) payload.password = password; }
        else if (password) payload.token = password;
        request = startWithXhr(ui, "POST", "/docker-convert", csrf, JSON.stringify(payload), "application/json");
      } else return;
      if (submit) submit.disabled = true;
      request.then(function (job) { followJob(ui, job); }, function (err) {
        if (submit) submit.disabled = false;
        fail(ui, err.message);
      });
    });
  });
  // The job page (/jobs/<id>): follow a job started elsewhere (or reloaded).
  $$("[data-job-progress][data-job-id]").forEach(function (box) {
    var id = box.getAttribute("data-job-id");
    if (!id) return;
    var ui = progressUi(box);
    getJson("/api/jobs/" + encodeURIComponent(id)).then(function (body) {
      var job = body.payload;
      var page = "/" + encodeURIComponent(job.repository) + "/" + encodeURIComponent(job.name) + ".html";
      followJob(ui, { job: job.id, events: job.links.events, page: page });
    }, function (err) { fail(ui, err.message); });
  });

  // ---- merge picker: search flists, pick, order -----------------------------------------------------------
  function mergePicker(form) {
    var input = $("[data-merge-search]", form), results = $("[data-merge-results]", form);
    var list = $("[data-merge-list]", form), empty = $("[data-merge-empty]", form);
    var timer = null, seq = 0;
    function sources() { return $$("li", list).map(function (li) { return li.getAttribute("data-source"); }); }
    function refresh() {
      show(empty, list.children.length === 0);
      $$("li", list).forEach(function (li, i) {
        $("[data-up]", li).disabled = i === 0;
        $("[data-down]", li).disabled = i === list.children.length - 1;
      });
    }
    function add(source) {
      if (sources().indexOf(source) >= 0) return;
      var up = el("button", { type: "button", class: "small secondary", "data-up": "", "aria-label": "move up", text: "↑" });
      var down = el("button", { type: "button", class: "small secondary", "data-down": "", "aria-label": "move down", text: "↓" });
      var remove = el("button", { type: "button", class: "small secondary", "aria-label": "remove", text: "✕" });
      var li = el("li", { "data-source": source }, [el("span", { text: source + " " }), up, " ", down, " ", remove]);
      up.addEventListener("click", function () { if (li.previousElementSibling) list.insertBefore(li, li.previousElementSibling); refresh(); });
      down.addEventListener("click", function () { if (li.nextElementSibling) list.insertBefore(li.nextElementSibling, li); refresh(); });
      remove.addEventListener("click", function () { li.remove(); refresh(); });
      list.appendChild(li);
      refresh();
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim(), mine = ++seq;
        results.textContent = "";
        if (q.length < 2) return;
        getJson("/api/search?limit=30&q=" + encodeURIComponent(q)).then(function (body) {
          if (mine !== seq) return;
          results.textContent = "";
          var hits = body.names.filter(function (h) { return h.kind !== "taglink"; });
          if (hits.length === 0) results.appendChild(el("li", { class: "muted", text: "no flist matches" }));
          hits.forEach(function (h) {
            var source = h.repository + "/" + h.name;
            var btn = el("button", { type: "button", class: "small", text: "Add" });
            btn.addEventListener("click", function () { add(source); });
            results.appendChild(el("li", {}, [el("span", { text: source }), btn]));
          });
        }, function (err) { results.appendChild(el("li", { class: "error", text: err.message })); });
      }, 200);
    });
    refresh();
    return sources;
  }
})();
`;
