// The operations map: plain SVG, no tiles, no library. Draws /api/map (unit polygons, geo zones, patrol tracks,
// cameras coloured by status, the newest events) in an equirectangular projection around the data's centre, then
// follows /api/map/stream (server-sent events) for new events and status changes.
(function () {
  "use strict";
  var root = document.getElementById("map-root");
  if (!root) return;
  var NS = "http://www.w3.org/2000/svg", W = 1000, H = 700, PAD = 40, MAX_LIST = 100, MAX_MARKS = 300;
  var officer = root.dataset.officer === "yes";
  var cameras = {}, seen = {}, seenOrder = [], cursor = 0, source = null, chosen = null, project = null, grow = 1;
  // what the load script (scripts/map_load.py) reads: each event's id and when the page got it
  var received = window.streetorderMapReceived = [];

  function $(id) { return document.getElementById(id); }

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(name, text, parent, cls) {
    var node = document.createElement(name);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  }

  function unitLabel(unit) {
    if (!unit) return "no unit";
    return ["district", "grid", "road"].map(function (k) { return unit[k]; }).filter(Boolean).join(" · ") || "no unit";
  }

  function projection(points) {
    if (!points.length) points = [[0, 0]];
    var lons = points.map(function (p) { return p[0]; }), lats = points.map(function (p) { return p[1]; });
    var west = Math.min.apply(null, lons), east = Math.max.apply(null, lons);
    var south = Math.min.apply(null, lats), north = Math.max.apply(null, lats);
    var lon0 = (west + east) / 2, lat0 = (south + north) / 2, shrink = Math.cos(lat0 * Math.PI / 180);
    var spanX = Math.max((east - west) * shrink, 0.002), spanY = Math.max(north - south, 0.002);
    var k = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
    return function (p) {
      return [W / 2 + (p[0] - lon0) * shrink * k, H / 2 - (p[1] - lat0) * k];
    };
  }

  function path(ring) {
    return ring.map(function (p) { return project(p).map(function (v) { return v.toFixed(1); }).join(","); }).join(" ");
  }

  function place(event) {
    if (event.lon !== null && event.lon !== undefined) return [event.lon, event.lat];
    var camera = cameras[event.camera_id];
    return camera && camera.geo ? camera.geo : null;
  }

  function eventUrl(event) {
    return officer ? "/officer" : "/events/" + encodeURIComponent(event.event_id).replace(/%2F/g, "/");
  }

  function draw(data) {
    ["layer-units", "layer-zones", "layer-tracks", "layer-events", "layer-cameras"].forEach(function (id) {
      $(id).textContent = "";
    });
    $("event-list").textContent = "";
    cameras = {};
    seen = {};
    seenOrder = [];
    var points = [];
    data.cameras.forEach(function (c) {
      cameras[c.camera_id] = c;
      if (c.geo) points.push(c.geo);
      points.push.apply(points, c.track);
      c.zones.forEach(function (z) { points.push.apply(points, z.ring); });
    });
    data.units.forEach(function (u) { u.rings.forEach(function (r) { points.push.apply(points, r); }); });
    project = projection(points);
    grow = Math.max(1, 0.6 * W / Math.max(1, $("map").clientWidth));  // markers keep a finger's size on a phone
    data.units.forEach(function (u) {
      u.rings.forEach(function (ring) {
        var shape = el("polygon", {"class": "unit-shape", points: path(ring)}, $("layer-units"));
        el("title", {}, shape, unitLabel(u.unit));
        var xy = project(ring[0]);
        el("text", {"class": "unit-name", x: xy[0] + 4, y: xy[1] - 4, "font-size": 13 * grow}, $("layer-units"),
           unitLabel(u.unit));
      });
    });
    var off = [];
    data.cameras.forEach(function (c) {
      c.zones.forEach(function (z) {
        el("title", {}, el("polygon", {"class": "geo-zone", points: path(z.ring)}, $("layer-zones")), c.camera_id + " / " + z.id);
      });
      if (c.track.length > 1) el("polyline", {"class": "track", points: path(c.track)}, $("layer-tracks"));
      var at = c.geo || c.track[c.track.length - 1];
      if (!at) { off.push(c.camera_id); return; }
      var xy = project(at);
      var marker = el("g", {"class": "camera " + c.status, tabindex: "0", role: "button", "data-camera": c.camera_id,
                            transform: "translate(" + xy[0].toFixed(1) + "," + xy[1].toFixed(1) + ") scale(" + grow.toFixed(2) + ")"},
                      $("layer-cameras"));
      c.title = el("title", {}, marker, title(c));
      marker.setAttribute("aria-label", title(c));
      el("circle", {r: 9}, marker);
      el("text", {x: 12, y: 4}, marker, c.name || c.camera_id);
      marker.addEventListener("click", function () { choose(c.camera_id); });
      marker.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(c.camera_id); }
      });
      c.marker = marker;
    });
    $("off-map").hidden = !off.length;
    $("off-map").textContent = off.length ? "Not on the map (no geo in the config, no positioned event): " + off.join(", ") : "";
    $("map-problem").hidden = !data.problem;
    $("map-problem").textContent = data.problem || "";
    data.events.slice().reverse().forEach(function (e) { addEvent(e, false); });
    $("map-state").textContent = data.cameras.length + " camera(s), " + data.units.length + " unit polygon(s), " +
      data.events.length + " newest event(s).";
    cursor = data.cursor;
  }

  function title(c) {
    return (c.name || c.camera_id) + " (" + c.camera_id + "): " + c.status + (c.reason ? " — " + c.reason : "") +
      " · " + unitLabel(c.unit);
  }

  function choose(cameraId) {
    var c = cameras[cameraId];
    if (chosen && cameras[chosen] && cameras[chosen].marker) cameras[chosen].marker.classList.remove("chosen");
    chosen = cameraId;
    if (c.marker) c.marker.classList.add("chosen");
    var box = $("camera-detail");
    box.textContent = "";
    html("h2", c.name || c.camera_id, box);
    var facts = html("dl", undefined, box, "facts");
    [["Camera", c.camera_id], ["Status", c.status + (c.reason ? ": " + c.reason : "")], ["Unit", unitLabel(c.unit)],
     ["Where", c.location || (c.moving ? "moving camera (its track)" : "")],
     ["Position", c.geo ? "lon " + c.geo[0].toFixed(6) + ", lat " + c.geo[1].toFixed(6) : "—"]].forEach(function (f) {
      html("dt", f[0], facts);
      html("dd", f[1] || "—", facts);
    });
    if (!officer) {
      var link = html("a", "Its events in the queue", box);
      link.href = "/queue?status=all&camera=" + encodeURIComponent(c.camera_id);
    }
  }

  function addEvent(event, live) {
    if (seen[event.id]) return;
    seen[event.id] = true;
    seenOrder.push(event.id);
    if (seenOrder.length > 20000) seenOrder.splice(0, 10000).forEach(function (id) { delete seen[id]; });
    if (live) received.push({id: event.id, event_id: event.event_id, at: Date.now()});
    if (received.length > 200000) received.splice(0, 100000);  // a wall map stays open for days
    var at = place(event);
    if (at && project) {
      var xy = project(at);
      var mark = el("circle", {"class": "event-mark" + (live ? " fresh" : ""), cx: xy[0].toFixed(1), cy: xy[1].toFixed(1),
                               r: (live ? 6 : 4) * grow, "data-event": event.event_id}, $("layer-events"));
      el("title", {}, mark, event.type + " " + event.rule + " · " + event.event_id);
      var marks = $("layer-events");
      while (marks.childNodes.length > MAX_MARKS) marks.removeChild(marks.firstChild);
    }
    var item = document.createElement("li");
    if (live) item.className = "fresh";
    item.dataset.event = event.event_id;
    var link = html("a", event.type + " · " + event.rule.replace(/_/g, " "), item);
    link.href = eventUrl(event);
    html("small", " " + (event.ts || event.recorded_at).slice(0, 19).replace("T", " ") + " · " + event.camera_id +
         " / " + event.zone_id + " · " + unitLabel(event.unit), item);
    var list = $("event-list");
    list.insertBefore(item, list.firstChild);
    while (list.childNodes.length > MAX_LIST) list.removeChild(list.lastChild);
  }

  function setStatus(status) {
    var c = cameras[status.camera_id];
    if (!c) return;
    Object.assign(c, status);
    if (c.marker) {
      c.marker.setAttribute("class", "camera " + c.status + (chosen === c.camera_id ? " chosen" : ""));
      c.title.textContent = title(c);
      c.marker.setAttribute("aria-label", title(c));
    }
    if (chosen === c.camera_id) choose(c.camera_id);
  }

  function connect() {
    if (source) source.close();
    source = new EventSource("/api/map/stream?after=" + cursor);
    source.addEventListener("open", function () { $("live-state").textContent = "live"; });
    source.addEventListener("error", function () { $("live-state").textContent = "reconnecting…"; });
    source.addEventListener("update", function (message) {
      var update = JSON.parse(message.data);
      update.events.forEach(function (e) { addEvent(e, true); });
      update.statuses.forEach(setStatus);
      cursor = update.cursor;
    });
    source.addEventListener("reset", function () { source.close(); load(); });  // fell behind: start over
  }

  function load() {
    fetch("/api/map?events=" + root.dataset.events, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) throw new Error("the map could not be loaded (" + response.status + "); reload the page");
      return response.json();
    }).then(function (data) {
      draw(data);
      connect();
    }).catch(function (error) { $("map-state").textContent = error.message; });
  }

  load();
})();
