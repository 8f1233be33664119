/* The portal's small scripts: local times, the language switch, the
   time zone of the events filter and the job form, the job form's
   kinds, the overview's refresh (its firing alerts too), a running
   job's refresh and the console page's forward to the console. The
   pages work without them. No inline script: the
   Content-Security-Policy forbids it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var lang = document.body ? document.body.getAttribute("data-lang") : "en";

  function localize(root) {
    var format;
    try {
      format = new Intl.DateTimeFormat(lang || undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
        hourCycle: "h23"
      });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        el.textContent = format.format(when);
        el.title = el.getAttribute("datetime");
      }
    });
  }

  function get(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value === undefined || value === null ? undefined : value[key];
    }, data);
  }

  // The overview's firing alerts, rebuilt from its figures (text only).
  function renderAlerts(list, items) {
    items = items || [];
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = list.getAttribute("data-empty");
      list.appendChild(empty);
      return;
    }
    items.forEach(function (alert) {
      var li = document.createElement("li");
      li.setAttribute("data-alert", alert.id);
      var link = document.createElement("a");
      link.href = "/alerts?state=firing&kind=" +
        encodeURIComponent(alert.kind);
      link.textContent = alert.kind + ": " + alert.subject;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      var when = document.createElement("time");
      when.setAttribute("datetime", alert.started_at);
      when.textContent = alert.started_at;
      li.appendChild(when);
      if (alert.acknowledged_by) {
        var ack = document.createElement("span");
        ack.className = "muted small";
        ack.textContent = list.getAttribute("data-acknowledged") + " " +
          alert.acknowledged_by;
        li.appendChild(document.createTextNode(" "));
        li.appendChild(ack);
      }
      list.appendChild(li);
    });
  }

  // The agents table follows the teams of the answer: a department or
  // site that appeared gets its row (filled in by the caller), one that
  // is gone loses it; the rows keep the answer's order.
  function teamRow(table, team) {
    var row = document.createElement("tr");
    row.setAttribute("data-team", team.key);
    var head = document.createElement("th");
    head.scope = "row";
    head.textContent = team.department ||
      table.getAttribute("data-no-department");
    row.appendChild(head);
    var site = document.createElement("td");
    site.textContent = team.site || table.getAttribute("data-no-site");
    row.appendChild(site);
    ["active", "expected", "idle", "offline"].forEach(function (key) {
      var cell = document.createElement("td");
      cell.className = "num";
      cell.setAttribute("data-field", key);
      row.appendChild(cell);
    });
    var barCell = document.createElement("td");
    barCell.className = "bar-col";
    var bar = document.createElement("meter");
    bar.setAttribute("data-field", "bar");
    bar.min = 0;
    bar.setAttribute("aria-label", table.getAttribute("data-bar-label")
      .replace("%(department)s", team.department || "-")
      .replace("%(site)s", team.site || "-"));
    barCell.appendChild(bar);
    row.appendChild(barCell);
    return row;
  }

  // The pools' table follows the pools of the answer too: a new pool
  // gets its row (filled in by the caller), a deleted one loses it.
  function poolRow(pool) {
    var row = document.createElement("tr");
    row.setAttribute("data-pool", pool.id);
    var head = document.createElement("th");
    head.scope = "row";
    var link = document.createElement("a");
    link.href = "/pools/" + encodeURIComponent(pool.id);
    link.textContent = pool.name;
    head.appendChild(link);
    row.appendChild(head);
    var site = document.createElement("td");
    site.textContent = pool.site || "";
    row.appendChild(site);
    ["ready", "target", "building", "failed", "assigned"].forEach(
      function (key) {
        var cell = document.createElement("td");
        cell.className = "num";
        cell.setAttribute("data-field", key);
        row.appendChild(cell);
      });
    var status = document.createElement("td");
    status.setAttribute("data-field", "status");
    var badge = document.createElement("span");
    badge.className = "badge";
    status.appendChild(badge);
    row.appendChild(status);
    var reasons = document.createElement("td");
    reasons.setAttribute("data-field", "reasons");
    row.appendChild(reasons);
    return row;
  }

  // A table's rows follow the items of the answer: an item keeps its
  // row (keyed by the row's ``attr`` attribute), a new item gets a row
  // from makeRow, a row whose item is gone is removed.
  function syncRows(table, items, attr, keyOf, makeRow) {
    var body = table.tBodies[0];
    var empty = body.querySelector("tr[data-empty-row]");
    var existing = {};
    body.querySelectorAll("tr[" + attr + "]").forEach(function (row) {
      existing[row.getAttribute(attr)] = row;
    });
    var wanted = {};
    items.forEach(function (item) {
      var key = keyOf(item);
      wanted[key] = true;
      body.insertBefore(existing[key] || makeRow(item), empty);
    });
    Object.keys(existing).forEach(function (key) {
      if (!wanted[key]) { body.removeChild(existing[key]); }
    });
    if (empty) { empty.hidden = items.length > 0; }
  }

  function refreshOverview(box) {
    var source = box.getAttribute("data-source");
    var seconds = parseInt(box.getAttribute("data-refresh"), 10) || 15;
    var stateEl = box.querySelector("[data-refresh-state]");
    function apply(data) {
      box.querySelectorAll("[data-bind]").forEach(function (el) {
        var value = get(data, el.getAttribute("data-bind"));
        if (value === undefined || value === null) { value = 0; }
        if (el.tagName === "TIME") {
          el.setAttribute("datetime", value);
        }
        el.textContent = value;
      });
      box.querySelectorAll("[data-bind-list]").forEach(function (el) {
        var items = get(data, el.getAttribute("data-bind-list")) || [];
        el.textContent = items.map(function (item) {
          return item.reason + ": " + item.count;
        }).join("  ");
      });
      box.querySelectorAll("[data-alerts-list]").forEach(function (list) {
        renderAlerts(list, get(data, list.getAttribute("data-alerts-list")));
      });
      box.querySelectorAll("[data-warn-when]").forEach(function (el) {
        var value = get(data, el.getAttribute("data-warn-when"));
        el.classList.toggle("tile-warn", !!value);
      });
      var poolTable = box.querySelector("#pool-table");
      if (poolTable) {
        syncRows(poolTable, data.pools || [], "data-pool",
                 function (pool) { return pool.id; }, poolRow);
      }
      (data.pools || []).forEach(function (pool) {
        var row = box.querySelector('tr[data-pool="' + pool.id + '"]');
        if (!row) { return; }
        ["ready", "target", "building", "failed", "assigned"].forEach(
          function (key) {
            var cell = row.querySelector('[data-field="' + key + '"]');
            if (cell) { cell.textContent = pool[key]; }
          });
        var reasons = row.querySelector('[data-field="reasons"]');
        if (reasons) { reasons.textContent = pool.reasons.join("; "); }
        var badge = row.querySelector('[data-field="status"] .badge');
        if (badge) {
          var status = pool.enabled ? pool.status : "disabled";
          badge.textContent = status;
          badge.className = "badge badge-" + status;
        }
        row.classList.toggle("short", !!pool.short);
      });
      var agents = data.agents || {};
      var table = box.querySelector("table[data-agents-table]");
      if (table) {
        syncRows(table, agents.teams || [], "data-team",
                 function (team) { return team.key; },
                 function (team) { return teamRow(table, team); });
      }
      (agents.teams || []).forEach(function (team) {
        var rows = box.querySelectorAll("tr[data-team]");
        var row = null;
        rows.forEach(function (el) {
          if (el.getAttribute("data-team") === team.key) { row = el; }
        });
        if (!row) { return; }
        ["active", "idle", "offline"].forEach(function (key) {
          var cell = row.querySelector('[data-field="' + key + '"]');
          if (cell) { cell.textContent = team[key]; }
        });
        var expected = row.querySelector('[data-field="expected"]');
        if (expected) {
          expected.textContent = team.expected === null ? "-" : team.expected;
        }
        var bar = row.querySelector('meter[data-field="bar"]');
        if (bar) {
          bar.max = team.scale;
          bar.value = team.active;
          bar.textContent = team.active;
          if (team.expected !== null) {
            bar.low = team.expected;
            bar.optimum = team.scale;
          }
        }
        row.classList.toggle("short", !!team.below);
      });
      if (agents.chart) {
        box.querySelectorAll("[data-chart]").forEach(function (el) {
          var key = el.getAttribute("data-chart");
          if (key === "top") {
            el.textContent = agents.chart.top;
          } else {
            el.setAttribute("points", agents.chart[key] || "");
          }
        });
      }
      localize(box);
    }
    function tick() {
      fetch(source, {credentials: "same-origin",
                     headers: {"Accept": "application/json"}})
        .then(function (resp) {
          if (resp.status === 401) {
            window.location.reload();
            throw new Error("signed out");
          }
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.json();
        })
        .then(function (data) {
          apply(data);
          if (stateEl) { stateEl.textContent = ""; }
          box.setAttribute("data-refreshed", data.generated_at);
        })
        .catch(function (err) {
          if (stateEl) { stateEl.textContent = "(" + err.message + ")"; }
        })
        .then(function () { window.setTimeout(tick, seconds * 1000); });
    }
    window.setTimeout(tick, seconds * 1000);
  }

  // A running job's page: its state and counts, polled; the rows of
  // each desktop come with a reload (the link is pointed out).
  function refreshJob(title) {
    var source = title.getAttribute("data-source");
    var seconds = parseInt(title.getAttribute("data-refresh"), 10) || 15;
    var changed = document.getElementById("job-changed");
    function tick() {
      fetch(source, {credentials: "same-origin",
                     headers: {"Accept": "application/json"}})
        .then(function (resp) {
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.json();
        })
        .then(function (data) {
          var moved = false;
          Object.keys(data.results).forEach(function (key) {
            var cell = document.querySelector(
              '#counts [data-count="' + key + '"]');
            if (cell && cell.textContent !== String(data.results[key])) {
              cell.textContent = data.results[key];
              moved = true;
            }
          });
          var total = document.querySelector('#counts [data-count="total"]');
          if (total) { total.textContent = data.total; }
          var badge = title.querySelector("[data-job-state] .badge");
          if (badge && badge.textContent !== data.state) {
            badge.textContent = data.state;
            badge.className = "badge badge-" + data.state;
            moved = true;
          }
          if (moved && changed) { changed.hidden = false; }
          if (data.open) { window.setTimeout(tick, seconds * 1000); }
        })
        .catch(function () { window.setTimeout(tick, seconds * 1000); });
    }
    window.setTimeout(tick, seconds * 1000);
  }

  // A roll-out not finished: its state, phase and counts, polled; the
  // rows of each rebuild come with a reload (the link is pointed out).
  function refreshRollout(title) {
    var source = title.getAttribute("data-source");
    var seconds = parseInt(title.getAttribute("data-refresh"), 10) || 15;
    var changed = document.getElementById("rollout-changed");
    function tick() {
      fetch(source, {credentials: "same-origin",
                     headers: {"Accept": "application/json"}})
        .then(function (resp) {
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.json();
        })
        .then(function (data) {
          var moved = false;
          Object.keys(data.progress || {}).forEach(function (key) {
            var cell = document.querySelector(
              '#counts [data-count="' + key + '"]');
            var value = String(data.progress[key]);
            if (cell && cell.textContent !== value) {
              cell.textContent = value;
              moved = true;
            }
          });
          var meter = document.querySelector(
            '#h-progress ~ p meter[data-field="progress"]');
          if (meter) {
            meter.value = data.percent;
            meter.textContent = data.percent + "%";
          }
          var phase = document.querySelector('[data-field="phase"]');
          if (phase) { phase.textContent = data.phase || "-"; }
          var reason = document.getElementById("status-reason");
          if (reason) { reason.textContent = data.status_reason || "-"; }
          var badge = title.querySelector("[data-rollout-state] .badge");
          if (badge && badge.textContent !== data.state) {
            badge.textContent = data.state;
            badge.className = "badge badge-" + data.state;
            moved = true;
          }
          if (moved && changed) { changed.hidden = false; }
          if (data.open) { window.setTimeout(tick, seconds * 1000); }
        })
        .catch(function () { window.setTimeout(tick, seconds * 1000); });
    }
    window.setTimeout(tick, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    document.querySelectorAll("select[data-autosubmit]").forEach(
      function (el) {
        el.addEventListener("change", function () { el.form.submit(); });
      });
    document.querySelectorAll("input[data-tz-offset]").forEach(
      function (el) {
        el.value = String(new Date().getTimezoneOffset());
      });
    document.querySelectorAll("input[data-tz-zone]").forEach(
      function (el) {
        try {
          el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
        } catch (e) { /* the offset does */ }
      });
    // The job form: only the parameters of the chosen kind (the others
    // disabled, so neither checked nor sent).
    document.querySelectorAll("select[data-kind-switch]").forEach(
      function (select) {
        function show() {
          select.form.querySelectorAll("fieldset[data-kind]").forEach(
            function (set) {
              var on = set.getAttribute("data-kind") === select.value;
              set.hidden = !on;
              set.disabled = !on;
            });
        }
        select.addEventListener("change", show);
        show();
      });
    document.querySelectorAll("input[data-default-timezone]").forEach(
      function (el) {
        try {
          var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
          if (zone && el.value === "UTC") { el.value = zone; }
        } catch (e) { /* keep UTC */ }
      });
    var jobTitle = document.querySelector("#job-title[data-source]");
    if (jobTitle) { refreshJob(jobTitle); }
    var rolloutTitle = document.querySelector("#rollout-title[data-source]");
    if (rolloutTitle) { refreshRollout(rolloutTitle); }
    var box = document.querySelector(".overview[data-source]");
    if (box) { refreshOverview(box); }
    // A console page: on to the console (its link stays for no script).
    var consoleLink = document.querySelector("a[data-console-open]");
    if (consoleLink) { window.location.replace(consoleLink.href); }
  });
}());
