// dnsdesk: progressive enhancement only. Every page works without it.
"use strict";
(function () {
  // Availability hint while a PD types the name.
  var name = document.querySelector("input[data-availability]");
  if (name) {
    var hint = document.getElementById(name.getAttribute("aria-describedby").split(" ").pop());
    var timer = null, seq = 0;
    name.addEventListener("input", function () {
      clearTimeout(timer);
      var value = name.value.trim();
      if (!value) { hint.textContent = ""; return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        hint.textContent = hint.getAttribute("data-checking");
        hint.className = "hint";
        fetch(name.getAttribute("data-availability") + "?name=" + encodeURIComponent(value),
              { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (body) {
            if (mine !== seq) return;
            hint.textContent = body.message;
            hint.className = "hint " + (body.available ? "hint-ok" : "hint-bad");
          })
          .catch(function () { if (mine === seq) hint.textContent = ""; });
      }, 300);
    });
  }

  // "Add a record" clones the last empty row of the records editor.
  var add = document.getElementById("add-record");
  if (add) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = document.querySelectorAll(".record-row");
      var last = rows[rows.length - 1];
      var copy = last.cloneNode(true);
      var n = rows.length;
      copy.querySelectorAll("input, select").forEach(function (el) {
        if (el.tagName === "INPUT") el.value = "";
        el.id = el.id.replace(/-\d+$/, "-" + n);
      });
      copy.querySelectorAll("label").forEach(function (l) {
        l.htmlFor = l.htmlFor.replace(/-\d+$/, "-" + n);
      });
      last.parentNode.insertBefore(copy, last.nextSibling);
      copy.querySelector("select").focus();
    });
  }

  // Provisioning followed live: re-fetch the progress section until final.
  var live = document.querySelector("[data-live]");
  if (live) {
    var poll = function () {
      fetch(live.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var box = document.createElement("div");
          box.innerHTML = html;
          var fresh = box.querySelector("[data-live], [data-final]");
          if (!fresh) return;
          live.replaceWith(fresh);
          live = fresh;
          if (!fresh.hasAttribute("data-final")) setTimeout(poll, 700);
          else if (fresh.hasAttribute("data-reload")) window.location.reload();
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 500);
  }
})();
