// The zone editor: polygons drawn over the camera's picture, in the picture's own pixels (the canvas is sized to
// the frame and scaled by CSS, so every point is converted from the mouse position to frame pixels).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("zone-data").textContent);
  var canvas = document.getElementById("zone-canvas");
  if (!canvas) return;
  var ctx = canvas.getContext("2d");
  var COLOURS = {sidewalk: "#ffa500", no_vending: "#ff66cb", bike_parking: "#50c850", monitored_area: "#00c8ff",
                 ignore: "#9a9a9a"};
  var zones = data.zones.map(function (z) {
    return {id: z.id, type: z.type, warn_after: z.warn_after || "", polygon: z.polygon.map(function (p) { return [p[0], p[1]]; })};
  });
  var selected = -1, vertex = -1, drawing = null, dragging = false, pointer = null;
  var picture = new Image();
  picture.onload = draw;
  picture.src = data.picture_url;

  var $ = function (id) { return document.getElementById(id); };
  var idInput = $("zone-id"), typeInput = $("zone-type"), warnInput = $("zone-warn"), message = $("zone-message");

  function scale() { return canvas.width / canvas.getBoundingClientRect().width; }
  function grab() { return 8 * scale(); }  // how near, in frame pixels, a click must be to take a corner

  function framePoint(e) {
    var box = canvas.getBoundingClientRect();
    return [Math.round((e.clientX - box.left) * canvas.width / box.width),
            Math.round((e.clientY - box.top) * canvas.height / box.height)];
  }

  function near(a, b, limit) { return Math.hypot(a[0] - b[0], a[1] - b[1]) <= limit; }

  function inside(point, polygon) {  // even-odd rule
    var hit = false;
    for (var i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      var a = polygon[i], b = polygon[j];
      if ((a[1] > point[1]) !== (b[1] > point[1]) &&
          point[0] < (b[0] - a[0]) * (point[1] - a[1]) / (b[1] - a[1]) + a[0]) hit = !hit;
    }
    return hit;
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (picture.complete && picture.naturalWidth) ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
    var line = Math.max(1, 2 * scale());
    zones.forEach(function (zone, index) {
      var colour = COLOURS[zone.type] || "#ffffff";
      path(zone.polygon, true);
      ctx.fillStyle = colour + (index === selected ? "55" : "2a");
      ctx.fill();
      ctx.lineWidth = index === selected ? 2 * line : line;
      ctx.strokeStyle = colour;
      ctx.stroke();
      ctx.fillStyle = colour;
      ctx.font = Math.round(13 * scale()) + "px system-ui, sans-serif";
      ctx.fillText(zone.id, zone.polygon[0][0] + 4, zone.polygon[0][1] - 4);
      if (index === selected) {
        zone.polygon.forEach(function (p, k) {
          ctx.beginPath();
          ctx.arc(p[0], p[1], (k === vertex ? 6 : 4) * scale(), 0, 2 * Math.PI);
          ctx.fillStyle = k === vertex ? "#ffffff" : colour;
          ctx.fill();
        });
      }
    });
    if (drawing) {
      var points = pointer ? drawing.concat([pointer]) : drawing;
      path(points, false);
      ctx.lineWidth = line;
      ctx.strokeStyle = "#ffffff";
      ctx.setLineDash([6 * scale(), 4 * scale()]);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  function path(points, closed) {
    ctx.beginPath();
    points.forEach(function (p, i) { if (i) ctx.lineTo(p[0], p[1]); else ctx.moveTo(p[0], p[1]); });
    if (closed) ctx.closePath();
  }

  function refresh() {
    var list = $("zone-list");
    list.textContent = "";
    zones.forEach(function (zone, index) {
      var item = document.createElement("li");
      item.textContent = zone.id + " · " + zone.type + (zone.warn_after ? " · " + zone.warn_after : "");
      if (index === selected) item.className = "selected";
      item.addEventListener("click", function () { choose(index); });
      list.appendChild(item);
    });
    var zone = zones[selected];
    $("zone-form").disabled = !zone;
    $("delete-zone").disabled = !zone;
    idInput.value = zone ? zone.id : "";
    typeInput.value = zone ? zone.type : data.types[0];
    warnInput.value = zone ? zone.warn_after : "";
    draw();
  }

  function choose(index) { selected = index; vertex = -1; refresh(); }

  function finishDrawing() {
    if (!drawing || drawing.length < 3) return;
    var n = zones.length + 1;
    while (zones.some(function (z) { return z.id === "zone-" + n; })) n++;
    zones.push({id: "zone-" + n, type: data.types[0], warn_after: "", polygon: drawing});
    drawing = null;
    pointer = null;
    choose(zones.length - 1);
    idInput.focus();
    idInput.select();
  }

  canvas.addEventListener("mousedown", function (e) {
    var point = framePoint(e);
    if (drawing) {
      if (drawing.length >= 3 && near(point, drawing[0], grab())) finishDrawing();
      else { drawing.push(point); draw(); }
      return;
    }
    var zone = zones[selected];
    if (zone) {
      var k = zone.polygon.findIndex(function (p) { return near(p, point, grab()); });
      if (k >= 0) { vertex = k; dragging = true; draw(); return; }
    }
    for (var i = zones.length - 1; i >= 0; i--) {
      if (inside(point, zones[i].polygon)) { choose(i); return; }
    }
    choose(-1);
  });

  canvas.addEventListener("mousemove", function (e) {
    var point = framePoint(e);
    if (dragging && zones[selected]) {
      zones[selected].polygon[vertex] = [Math.max(0, Math.min(canvas.width, point[0])),
                                         Math.max(0, Math.min(canvas.height, point[1]))];
      draw();
    } else if (drawing) {
      pointer = point;
      draw();
    }
  });

  window.addEventListener("mouseup", function () { dragging = false; });

  canvas.addEventListener("dblclick", function (e) {  // a new corner on the nearest edge of the selected zone
    var zone = zones[selected];
    if (!zone || drawing) return;
    var point = framePoint(e), best = -1, bestDistance = Infinity;
    zone.polygon.forEach(function (a, i) {
      var b = zone.polygon[(i + 1) % zone.polygon.length];
      var d = Math.hypot(point[0] - (a[0] + b[0]) / 2, point[1] - (a[1] + b[1]) / 2);
      if (d < bestDistance) { bestDistance = d; best = i; }
    });
    zone.polygon.splice(best + 1, 0, point);
    vertex = best + 1;
    draw();
  });

  document.addEventListener("keydown", function (e) {
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
    if (e.key === "Enter" && drawing) { e.preventDefault(); finishDrawing(); }
    else if (e.key === "Escape" && drawing) { drawing = null; pointer = null; draw(); }
    else if ((e.key === "Delete" || e.key === "Backspace") && zones[selected] && vertex >= 0
             && zones[selected].polygon.length > 3) {
      e.preventDefault();
      zones[selected].polygon.splice(vertex, 1);
      vertex = -1;
      draw();
    }
  });

  $("new-zone").addEventListener("click", function () {
    drawing = [];
    choose(-1);
    say("Click the corners of the new zone, then press Enter.", "");
  });
  $("delete-zone").addEventListener("click", function () {
    if (selected >= 0) { zones.splice(selected, 1); choose(-1); }
  });
  idInput.addEventListener("input", function () { if (zones[selected]) { zones[selected].id = idInput.value.trim(); refresh(); idInput.focus(); } });
  typeInput.addEventListener("change", function () { if (zones[selected]) { zones[selected].type = typeInput.value; refresh(); } });
  warnInput.addEventListener("input", function () { if (zones[selected]) { zones[selected].warn_after = warnInput.value.trim(); refresh(); warnInput.focus(); } });

  function say(text, kind) { message.textContent = text; message.className = kind; }

  $("save-zones").addEventListener("click", function () {
    var body = {version: data.version, zones: zones.map(function (z) {
      return {id: z.id, type: z.type, polygon: z.polygon, warn_after: z.warn_after || null};
    })};
    say("Saving…", "");
    fetch("/api/admin/zones/" + encodeURIComponent(data.camera_id), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) { return {ok: response.ok, answer: answer}; });
    }).then(function (result) {
      if (result.ok) {
        data.version = result.answer.version;
        say(result.answer.message, "ok");
      } else {
        var detail = result.answer.detail;
        if (Array.isArray(detail)) detail = detail.map(function (d) { return d.loc.join(".") + ": " + d.msg; }).join("; ");
        say(result.answer.error || detail || "The zones were not saved.", "error");
      }
    }).catch(function () { say("The server could not be reached; the zones were not saved.", "error"); });
  });

  refresh();
})();
