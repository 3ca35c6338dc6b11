// The heap map page's script (embedded by map_html.py; no network, no library).  It unpacks the
// chunk columns the extension embedded (sizes as float64, text numbers as uint32, state codes as
// uint8, deflated then base64), lays them out as map_layout.py describes, and draws only the rows
// in view on a canvas, so a million chunks scroll smoothly.  Hovering a box finds its chunk by a
// binary search of the cumulative widths.
"use strict";
(function () {
  const meta = JSON.parse(document.getElementById("heap-map-meta").textContent);
  const L = meta.layout;
  const head = document.getElementById("head");
  const notes = document.getElementById("notes");
  const canvas = document.getElementById("map");
  const tip = document.getElementById("tip");
  const context = canvas.getContext("2d");

  function say(text) {
    const line = document.createElement("div");
    line.textContent = text;
    notes.prepend(line);
  }

  function decoded() {
    const text = atob(document.getElementById("heap-map-data").textContent.trim());
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer();
  }

  function units(size) {
    return Math.min(L.maxUnits, Math.max(L.minUnits, Math.floor(size / L.bytesPerUnit)));
  }

  // The last index i with list[i] <= value (0 when value lies before list[1]).
  function lastAtOrBelow(list, value, count) {
    let low = 0, high = count - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (list[middle] <= value) low = middle; else high = middle - 1;
    }
    return low;
  }

  function layOut(sizes) {
    let top = 0, first = 0;
    return meta.segments.map(function (segment) {
      const count = segment.count;
      const prefix = new Float64Array(count + 1);
      const addresses = new Float64Array(count);
      let unit = 0, address = 0, jump = 0;
      for (let i = 0; i < count; i++) {
        if (jump < segment.jumps.length && segment.jumps[jump][0] === i) {
          address = segment.jumps[jump][1];
          jump++;
        }
        const size = sizes[first + i];
        addresses[i] = address;
        address += size;
        prefix[i] = unit;
        unit += units(size);
      }
      prefix[count] = unit;
      const rows = Math.max(1, Math.ceil(unit / L.rowWidth));
      const band = {segment: segment, first: first, prefix: prefix, addresses: addresses,
                    top: top, rows: rows, units: unit};
      top += L.labelHeight + rows * L.rowHeight + L.segmentGap;
      first += count;
      return band;
    });
  }

  function start(buffer) {
    const total = meta.segments.reduce(function (sum, segment) { return sum + segment.count; }, 0);
    if (buffer.byteLength !== 13 * total) {
      say("the embedded chunk data is damaged: " + buffer.byteLength + " bytes for " + total +
          " chunks");
      return;
    }
    const sizes = new Float64Array(buffer, 0, total);
    const texts = new Uint32Array(buffer, 8 * total, total);
    const states = new Uint8Array(buffer, 12 * total, total);
    const bands = layOut(sizes);
    const tops = bands.map(function (band) { return band.top; });
    const last = bands[bands.length - 1];
    const height = last ? last.top + L.labelHeight + last.rows * L.rowHeight + L.segmentGap : 0;
    document.getElementById("room").style.height = (head.offsetHeight + height) + "px";

    function drawBand(band, scroll, viewHeight) {
      const rowsTop = band.top - scroll + L.labelHeight;
      context.fillStyle = "#000000";
      context.fillText(band.segment.label, L.left, rowsTop - 5);
      const firstRow = Math.max(0, Math.floor(-rowsTop / L.rowHeight));
      const lastRow = Math.min(band.rows - 1, Math.floor((viewHeight - rowsTop) / L.rowHeight));
      if (lastRow < firstRow || band.segment.count === 0) return;
      const endUnit = (lastRow + 1) * L.rowWidth;
      const prefix = band.prefix;
      for (let i = lastAtOrBelow(prefix, firstRow * L.rowWidth, band.segment.count);
           i < band.segment.count && prefix[i] < endUnit; i++) {
        context.fillStyle = meta.colours[states[band.first + i]];
        let unit = prefix[i], width = prefix[i + 1] - unit;
        while (width > 0) {
          const row = Math.floor(unit / L.rowWidth), x = unit - row * L.rowWidth;
          const piece = Math.min(width, L.rowWidth - x);
          const drawn = piece === width && piece >= L.gapFrom ? piece - 1 : piece;
          if (row >= firstRow && row <= lastRow)
            context.fillRect(L.left + x, rowsTop + row * L.rowHeight, drawn, L.boxHeight);
          unit += piece;
          width -= piece;
        }
      }
    }

    function draw() {
      const scroll = window.scrollY, viewHeight = canvas.height;
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, viewHeight);
      context.font = "12px monospace";
      if (!bands.length) return;
      for (let b = lastAtOrBelow(tops, scroll, bands.length);
           b < bands.length && bands[b].top < scroll + viewHeight; b++)
        drawBand(bands[b], scroll, viewHeight);
    }

    function resize() {
      canvas.style.top = head.offsetHeight + "px";
      canvas.width = Math.max(2 * L.left + L.rowWidth, window.innerWidth);
      canvas.height = Math.max(1, window.innerHeight - head.offsetHeight);
      draw();
    }

    function chunkAt(clientX, clientY) {
      const y = clientY - head.offsetHeight + window.scrollY, x = clientX - L.left;
      if (!bands.length || x < 0 || x >= L.rowWidth) return null;
      const band = bands[lastAtOrBelow(tops, y, bands.length)];
      const inside = y - band.top - L.labelHeight;
      const row = Math.floor(inside / L.rowHeight);
      if (inside < 0 || row >= band.rows || inside - row * L.rowHeight >= L.boxHeight) return null;
      const unit = row * L.rowWidth + x;
      if (unit >= band.units) return null;
      return {band: band, row: lastAtOrBelow(band.prefix, unit, band.segment.count)};
    }

    function details(found) {
      const band = found.band, index = band.first + found.row;
      const lines = ["0x" + band.addresses[found.row].toString(16),
                     "size 0x" + sizes[index].toString(16) + " (" + sizes[index] + " bytes)",
                     meta.states[states[index]]];
      if (texts[index]) lines.push(meta.texts[texts[index] - 1]);
      lines.push(band.segment.label);
      return lines.join("\n");
    }

    canvas.addEventListener("mousemove", function (event) {
      const found = chunkAt(event.clientX, event.clientY);
      if (!found) {
        tip.style.display = "none";
        return;
      }
      tip.textContent = details(found);
      tip.style.left = (event.clientX + 14) + "px";
      tip.style.top = (event.clientY + 14) + "px";
      tip.style.display = "block";
    });
    canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    let pending = false;
    window.addEventListener("scroll", function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; draw(); });
    });
    window.addEventListener("resize", resize);
    resize();
    window.heapMap = {bands: bands, chunkAt: chunkAt, details: details};
    document.body.setAttribute("data-drawn", String(total));
  }

  decoded().then(start, function (error) { say("cannot unpack the chunk data: " + error); });
})();
