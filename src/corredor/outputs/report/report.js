/* corredor report: the day slider. Reads the JSON the builder embedded; touches the DOM only
   through attributes and textContent, so names in the data can never become markup. */
(function () {
  "use strict";
  var dataEl = document.getElementById("map-data");
  var slider = document.getElementById("day");
  if (!dataEl || !slider) { return; }
  var data = JSON.parse(dataEl.textContent);
  var dateOut = document.getElementById("date");
  var summary = document.getElementById("day-summary");
  // a place's marker: a circle, or a camp's square (rect) of the same area
  var circles = Array.prototype.slice.call(document.querySelectorAll("#mapsvg g.places .place"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("#places-day tbody tr"));  // "Places on this day"
  var entries = Array.prototype.slice.call(document.querySelectorAll("#mapsvg g.entry"));  // callouts' lines
  var roads = Array.prototype.slice.call(document.querySelectorAll("#mapsvg line.road, #mapsvg g.xmark"));
  var marks = Array.prototype.slice.call(document.querySelectorAll("svg.ts line.daymark"));
  var playButton = document.getElementById("play");
  var timer = null;

  function fmt(n) { return Math.round(n).toLocaleString("en-US"); }

  function radius(people) {
    return data.rMin + data.rScale * Math.sqrt(Math.max(people, 0));
  }

  // a place's tooltip, on its circle and on its line in a callout: name, people, stranded
  function describe(el, pop, stranded) {
    var i = Number(el.getAttribute("data-i"));
    var v = pop[i] || 0;
    el.classList.toggle("empty", v <= 0);
    var t = el.querySelector("title");
    if (t) {
      var text = el.getAttribute("data-name") + ": " + fmt(v) + " people";
      if (stranded && stranded[i] > 0) { text += " (" + fmt(stranded[i]) + " stranded)"; }
      t.textContent = text;
    }
    return v;
  }

  function show(day) {
    var pop = data.pop[day] || [];
    var stranded = data.stranded ? data.stranded[day] : null;
    circles.forEach(function (c) {
      var r = radius(describe(c, pop, stranded));
      if (c.tagName.toLowerCase() === "rect") {
        var side = r * Math.sqrt(Math.PI);
        c.setAttribute("x", (Number(c.getAttribute("data-cx")) - side / 2).toFixed(2));
        c.setAttribute("y", (Number(c.getAttribute("data-cy")) - side / 2).toFixed(2));
        c.setAttribute("width", side.toFixed(2));
        c.setAttribute("height", side.toFixed(2));
      } else {
        c.setAttribute("r", r.toFixed(2));
      }
    });
    rows.forEach(function (row) {
      var i = Number(row.getAttribute("data-i"));
      row.querySelector("td.people").textContent = fmt(pop[i] || 0);
      var cell = row.querySelector("td.stranded");
      if (cell && stranded) { cell.textContent = fmt(stranded[i] || 0); }
    });
    entries.forEach(function (e) { describe(e, pop, stranded); });
    var closed = 0;
    var documents = 0;
    if (data.roadStatus && data.roadStatus[day]) {
      roads.forEach(function (r) {
        var s = data.roadStatus[day][Number(r.getAttribute("data-k"))] || 0;
        r.classList.remove("s0", "s1", "s2");
        r.classList.add("s" + s);
      });
      data.roadStatus[day].forEach(function (s) {
        if (s === 2) { closed += 1; } else if (s === 1) { documents += 1; }
      });
    }
    dateOut.textContent = data.dates[day];
    slider.setAttribute("aria-valuetext", data.dates[day]);  // a screen reader says the date, not "99"
    var parts = [];
    if (stranded) { parts.push(fmt(stranded.reduce(function (a, b) { return a + b; }, 0)) + " stranded"); }
    if (data.roadStatus) {
      var noun = data.closedNoun || "crossing";  // "road" in a Flee case: its closures are links
      parts.push(closed + " " + noun + (closed === 1 ? "" : "s") + " closed");
      if (documents > 0) { parts.push(documents + " requiring documents"); }
    }
    summary.textContent = parts.join(" · ");
    marks.forEach(function (m) {
      var svg = m.ownerSVGElement;
      var left = Number(svg.getAttribute("data-left"));
      var right = Number(svg.getAttribute("data-right"));
      var n = Number(svg.getAttribute("data-n"));
      var x = left + (n > 1 ? day / (n - 1) : 0) * (right - left);
      m.setAttribute("x1", x.toFixed(1));
      m.setAttribute("x2", x.toFixed(1));
    });
  }

  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    playButton.textContent = "\u25B6";
    playButton.setAttribute("aria-label", "play");
  }

  slider.addEventListener("input", function () { show(Number(slider.value)); });
  if (playButton) {
    playButton.addEventListener("click", function () {
      if (timer !== null) { stop(); return; }
      playButton.textContent = "\u275A\u275A";
      playButton.setAttribute("aria-label", "pause");  // (a screen reader hears what a click does now)
      timer = window.setInterval(function () {
        var next = Number(slider.value) + 1;
        if (next > Number(slider.max)) { stop(); return; }
        slider.value = String(next);
        show(next);
      }, 120);
    });
  }
  show(Number(slider.value));
}());
