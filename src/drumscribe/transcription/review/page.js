// drumscribe review page: draw, play and fix a drum transcription.  Plain JavaScript, no network, no build step.
// The data block (#drumscribe-data) is written by drumscribe/transcription/review_page.py (see its docstring).
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("drumscribe-data").textContent);
  const $ = (id) => document.getElementById(id);
  const LANES = D.lanes;
  const G = D.grid;
  const M = D.midi;
  const BEATS = G.beats;
  const QPB = G.quarters_per_beat;
  const RULER_H = 22, WAVE_H = 34, LANE_H = 30, HIT_W = 7;
  const MIN_PPS = 0.05, MAX_PPS = 2000;

  // ------------------------------------------------------------ the events (sorted by time, then class, then seq)
  // tick: the note's MIDI tick as the CLI wrote it (null once the hit moved: computed from the beat grid then)
  let events = D.events.time.map((t, i) => ({
    t: t, lane: D.events.lane[i], v: D.events.velocity[i], s: D.events.strength[i], tick: D.events.tick[i], seq: i,
  }));
  let nextSeq = events.length;
  const undoStack = [];
  const present = new Set(events.map((e) => e.lane));
  const muted = new Set(), soloed = new Set();

  function sortEvents() {
    events.sort((a, b) => a.t - b.t || LANES[a.lane].cls - LANES[b.lane].cls || a.seq - b.seq);
  }
  function snapshot() {
    undoStack.push(events.map((e) => Object.assign({}, e)));
    if (undoStack.length > 500) undoStack.shift();
    $("undo").disabled = false;
  }
  function undo() {
    if (!undoStack.length) return;
    events = undoStack.pop();
    $("undo").disabled = !undoStack.length;
    edited();
  }

  // ------------------------------------------------------------ the beat grid (drumscribe.transcription.beats.BeatMap)
  function interp(x, xs, ys) { // numpy.interp on increasing xs, x inside [xs[0], xs[-1]]
    let lo = 0, hi = xs.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
    const dx = xs[hi] - xs[lo];
    return dx > 0 ? ys[lo] + (x - xs[lo]) * (ys[hi] - ys[lo]) / dx : ys[lo];
  }
  const QUARTERS = BEATS.map((_, i) => i * QPB);
  function toQuarters(t) {
    const b = BEATS, n = b.length;
    if (n < 2) return (t - (n ? b[0] : 0)) * (D.grid.bpm / 60);
    if (t > b[n - 1]) return QUARTERS[n - 1] + (t - b[n - 1]) / (b[n - 1] - b[n - 2]) * QPB;
    if (t < b[0]) return QUARTERS[0] + (t - b[0]) / (b[1] - b[0]) * QPB;
    return interp(t, b, QUARTERS);
  }
  function toSeconds(q) {
    const b = BEATS, n = b.length, qq = QUARTERS;
    if (n < 2) return (n ? b[0] : 0) + q * 60 / (D.grid.bpm || 120);
    if (q > qq[n - 1]) return b[n - 1] + (q - qq[n - 1]) / QPB * (b[n - 1] - b[n - 2]);
    if (q < qq[0]) return b[0] + (q - qq[0]) / QPB * (b[1] - b[0]);
    return interp(q, qq, b);
  }
  function rint(x) { // numpy.rint: halves to even
    const r = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }
  function snapTo(t, step) { return toSeconds(rint(toQuarters(t) / step) * step); }
  function barAndBeat(t) {
    const q = toQuarters(t), q0 = G.downbeat_index * QPB, qpbar = G.beats_per_bar * QPB;
    const bar = Math.floor((q - q0) / qpbar + 1 / (32 * G.beats_per_bar));
    return [bar + 1, (q - q0 - bar * qpbar) / QPB + 1];
  }
  function localBpm(t) {
    const i = Math.max(0, Math.min(BEATS.length - 2, upper(BEATS, t) - 1));
    const p = BEATS[i + 1] - BEATS[i];
    return p > 0 ? 60 / p * QPB : G.bpm;
  }
  function upper(arr, x) { let lo = 0, hi = arr.length; while (lo < hi) { const m = (lo + hi) >> 1; if (arr[m] <= x) lo = m + 1; else hi = m; } return lo; }
  function lowerEv(t) { let lo = 0, hi = events.length; while (lo < hi) { const m = (lo + hi) >> 1; if (events[m].t < t) lo = m + 1; else hi = m; } return lo; }

  // ------------------------------------------------------------ MIDI and JSON out (mirrors transcription/midi_out.py)
  function eventTick(e) {
    if (e.tick !== null && e.tick !== undefined) return e.tick;
    const t = M.quantize ? snapTo(e.t, M.quantize) : e.t;
    return rint(toQuarters(t) * M.ticks_per_beat);
  }
  function vlq(n) { const out = [n & 0x7f]; n = Math.floor(n / 128); while (n > 0) { out.unshift((n & 0x7f) | 0x80); n = Math.floor(n / 128); } return out; }
  function u32(n) { return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]; }
  function ascii(s) { return Array.from(s, (c) => c.charCodeAt(0) & 255); }
  function chunk(tag, body) { return ascii(tag).concat(u32(body.length), body); }
  function trackBody(evs) { // evs: [tick, order, bytes]; stable sort by (tick, order), then deltas
    evs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out = [];
    let now = 0;
    for (const [tick, , bytes] of evs) { out.push(...vlq(tick - now), ...bytes); now = tick; }
    out.push(0, 0xff, 0x2f, 0);
    return out;
  }
  function midiBytes() {
    const meta = M.meta.map((m, i) => {
      if (m[1] === "tempo") return [m[0], i, [0xff, 0x51, 3, (m[2] >> 16) & 255, (m[2] >> 8) & 255, m[2] & 255]];
      return [m[0], i, [0xff, 0x58, 4, m[2], Math.round(Math.log2(m[3])), m[4], m[5]]];
    });
    const tracks = [trackBody(meta)];
    let groups;
    if (M.tracks === "per-drum") {
      groups = D.class_names.map((name, c) => [name, events.filter((e) => LANES[e.lane].cls === c)]).filter((g) => g[1].length);
    } else {
      groups = [["drums", events]];
    }
    for (const [name, evs] of groups) {
      const body = [0, 0xff, 0x03, ...vlq(name.length), ...ascii(name)];
      const msgs = [];
      for (const e of evs) {
        const on = Math.max(eventTick(e), 0), note = LANES[e.lane].note;
        const vel = Math.min(Math.max(Math.round(e.v), 1), 127);
        msgs.push([on, 1, [0x99, note, vel]], [on + M.note_ticks, 0, [0x89, note, 0]]);
      }
      const rest = trackBody(msgs);
      tracks.push(body.concat(rest));
    }
    const header = chunk("MThd", [0, 1, (tracks.length >> 8) & 255, tracks.length & 255,
      (M.ticks_per_beat >> 8) & 255, M.ticks_per_beat & 255]);
    let all = header;
    for (const tr of tracks) all = all.concat(chunk("MTrk", tr));
    return new Uint8Array(all);
  }
  function r6(x) { return Math.round(x * 1e6) / 1e6; }
  function jsonDoc() {
    const arts = events.some((e) => LANES[e.lane].art);
    const quant = M.quantize;
    const rows = events.map((e) => {
      const ln = LANES[e.lane], bb = barAndBeat(e.t);
      const row = { time: r6(e.t), class: ln.cls, name: D.class_names[ln.cls], note: ln.note, velocity: e.v, strength: e.s };
      if (arts) { row.articulation = ln.art; row.rimshot = ln.art === "rimshot"; }
      row.bar = bb[0]; row.beat = Math.round(bb[1] * 1e4) / 1e4;
      if (quant) row.quantized_time = r6(snapTo(e.t, quant));
      return row;
    });
    const downbeats = BEATS.filter((_, i) => i >= G.downbeat_index && (i - G.downbeat_index) % G.beats_per_bar === 0);
    return { events: rows, class_names: D.class_names, duration: D.duration,
      tempo: { bpm: G.bpm, meter: G.meter, beats: BEATS.map(r6), downbeats: downbeats.map(r6) } };
  }
  function download(name, blob) { // the page only offers downloads; it never writes anything itself
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  const stem = (D.title || "drums").replace(/\.[^.]*$/, "");

  // ------------------------------------------------------------ lanes shown
  let shown = [];
  function visibleLanes() {
    const all = $("alllanes").checked, used = new Set(events.map((e) => e.lane));
    const idx = LANES.map((_, i) => i).filter((i) => all || present.has(i) || used.has(i));
    idx.sort((a, b) => LANES[a].cls - LANES[b].cls || (LANES[a].art ? 1 : 0) - (LANES[b].art ? 1 : 0) || a - b);
    return idx;
  }
  const COLORS = { kick: "#ef5350", snare: "#ffa726", hihat: "#29b6f6", hi_tom: "#9ccc65", mid_tom: "#66bb6a",
    low_tom: "#26a69a", crash: "#ffee58", ride: "#ab47bc" };
  function laneColor(i) {
    const ln = LANES[i], base = COLORS[D.class_names[ln.cls]] || `hsl(${(ln.cls * 67) % 360},60%,60%)`;
    return ln.art ? shade(base) : base;
  }
  function shade(hex) { // an articulation: its drum's colour, lighter
    if (hex[0] !== "#") return hex;
    const n = parseInt(hex.slice(1), 16), f = (c) => Math.round(c + (255 - c) * 0.45);
    return `rgb(${f(n >> 16)},${f((n >> 8) & 255)},${f(n & 255)})`;
  }
  function buildHeads() {
    shown = visibleLanes();
    const heads = $("heads");
    heads.innerHTML = "";
    const pad = document.createElement("div");
    pad.style.height = (RULER_H + WAVE_H) + "px";
    pad.style.borderBottom = "1px solid var(--line)";
    heads.appendChild(pad);
    const used = new Set(events.map((e) => e.lane));
    for (const i of shown) {
      const ln = LANES[i], row = document.createElement("div");
      row.className = "head" + (used.has(i) ? "" : " empty");
      row.style.height = LANE_H + "px";
      row.title = `${ln.gm} (GM note ${ln.note}): ${ln.name}`;
      row.innerHTML = `<span class="sw"></span><span class="nm"></span><button data-k="m" title="mute">M</button><button data-k="s" title="solo">S</button>`;
      row.querySelector(".sw").style.background = laneColor(i);
      row.querySelector(".nm").innerHTML = `${esc(ln.gm)} <small>${esc(ln.name)}</small>`;
      for (const b of row.querySelectorAll("button")) {
        const set = b.dataset.k === "m" ? muted : soloed;
        b.classList.toggle("on", set.has(i));
        b.onclick = () => { if (set.has(i)) set.delete(i); else set.add(i); b.classList.toggle("on", set.has(i)); };
      }
      heads.appendChild(row);
    }
    resize();
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
  function audible(lane) { return soloed.size ? soloed.has(lane) : !muted.has(lane); }

  // ------------------------------------------------------------ view and drawing (only what is visible is drawn)
  const cv = $("lanes"), ov = $("overview");
  const ctx2d = cv.getContext("2d"), ovx = ov.getContext("2d");
  let W = 0, H = 0, OW = 0, OH = 0, dpr = 1;
  let viewStart = 0, pps = 100;
  let dirty = true, lastDrawn = 0, firstDrawMs = null, hitBoxes = [];
  const env = Uint8Array.from(atob(D.envelope.peaks), (c) => c.charCodeAt(0));
  const ENV_RATE = D.envelope.rate;
  let ovImage = null;

  function viewSeconds() { return W / pps; }
  function clampView() {
    const span = viewSeconds();
    viewStart = Math.max(0, Math.min(viewStart, Math.max(0, D.duration - span * 0.5)));
  }
  function resize() {
    dpr = window.devicePixelRatio || 1;
    W = Math.max(100, cv.parentElement.clientWidth - $("heads").offsetWidth);
    H = RULER_H + WAVE_H + shown.length * LANE_H;
    cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);
    cv.style.width = W + "px"; cv.style.height = H + "px";
    OW = ov.clientWidth; OH = ov.clientHeight;
    ov.width = Math.round(OW * dpr); ov.height = Math.round(OH * dpr);
    ovImage = null;
    dirty = true;
  }
  function fit() { pps = Math.min(MAX_PPS, Math.max(MIN_PPS, W / Math.max(D.duration, 1))); viewStart = 0; dirty = true; }
  function zoom(f, atX) {
    const t = viewStart + (atX === undefined ? W / 2 : atX) / pps;
    pps = Math.min(MAX_PPS, Math.max(MIN_PPS, pps * f));
    viewStart = t - (atX === undefined ? W / 2 : atX) / pps;
    clampView(); dirty = true;
  }
  const xOf = (t) => (t - viewStart) * pps;
  const tOf = (x) => viewStart + x / pps;
  const laneTop = (row) => RULER_H + WAVE_H + row * LANE_H;

  function drawOverview(pos) {
    const c = ovx;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!ovImage) {
      c.fillStyle = "#111318"; c.fillRect(0, 0, OW, OH);
      c.fillStyle = "#3d5a73";
      const mid = OH / 2, per = env.length / OW;
      for (let x = 0; x < OW; x++) {
        let m = 0;
        for (let k = Math.floor(x * per), e = Math.min(env.length, Math.floor((x + 1) * per) + 1); k < e; k++) if (env[k] > m) m = env[k];
        const h = m / 255 * (OH / 2 - 2);
        c.fillRect(x, mid - h, 1, 2 * h || 1);
      }
      ovImage = c.getImageData(0, 0, ov.width, ov.height);
    } else {
      c.putImageData(ovImage, 0, 0);
    }
    const sx = OW / Math.max(D.duration, 1e-3);
    c.fillStyle = "rgba(79,195,247,0.18)"; c.strokeStyle = "rgba(79,195,247,0.8)";
    c.fillRect(viewStart * sx, 0, viewSeconds() * sx, OH);
    c.strokeRect(viewStart * sx + 0.5, 0.5, Math.max(viewSeconds() * sx - 1, 1), OH - 1);
    c.fillStyle = "#fff"; c.fillRect(pos * sx, 0, 1.5, OH);
  }

  const drawMs = []; // the last draws' durations (bench/review_page.py reads them through the test hook)
  function draw() {
    const started = performance.now();
    const pos = position();
    const c = ctx2d;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.fillStyle = "#16181d"; c.fillRect(0, 0, W, H);
    const t0 = viewStart, t1 = tOf(W);
    // lane backgrounds
    shown.forEach((lane, row) => {
      c.fillStyle = row % 2 ? "#1a1d23" : "#1d2027";
      c.fillRect(0, laneTop(row), W, LANE_H);
    });
    // grid: beats, bars, subdivisions (snap grid) when there is room
    const step = parseFloat($("grid").value);
    const i0 = Math.max(0, upper(BEATS, t0) - 1), i1 = Math.min(BEATS.length - 1, upper(BEATS, t1));
    const beatPx = (BEATS.length > 1 ? (BEATS[1] - BEATS[0]) : 0.5) * pps;
    if ($("snap").checked && beatPx * step / QPB > 8) {
      c.fillStyle = "#23272f";
      const q0 = Math.ceil(toQuarters(t0) / step), q1 = Math.floor(toQuarters(t1) / step);
      for (let k = q0; k <= q1 && k - q0 < 4000; k++) c.fillRect(Math.round(xOf(toSeconds(k * step))), RULER_H, 1, H - RULER_H);
    }
    c.font = "11px system-ui, sans-serif"; c.textBaseline = "middle";
    let lastLabel = -1e9;
    for (let i = i0; i <= i1; i++) {
      const x = Math.round(xOf(BEATS[i])), rel = i - G.downbeat_index;
      const isBar = rel >= 0 && rel % G.beats_per_bar === 0;
      if (!isBar && beatPx < 4) continue;
      c.fillStyle = isBar ? "#4a5262" : "#2e333d";
      c.fillRect(x, isBar ? 0 : RULER_H, 1, H);
      if (isBar) {
        const bar = rel / G.beats_per_bar + 1;
        if (x - lastLabel > 34) { c.fillStyle = "#aab3c2"; c.fillText(String(bar), x + 3, RULER_H / 2); lastLabel = x; }
      }
    }
    c.fillStyle = "#2c313b"; c.fillRect(0, RULER_H - 1, W, 1); c.fillRect(0, RULER_H + WAVE_H - 1, W, 1);
    // waveform strip from the loudness envelope
    c.fillStyle = "#3d5a73";
    const wm = RULER_H + WAVE_H / 2, wh = WAVE_H / 2 - 2;
    for (let x = 0; x < W; x++) {
      const a = Math.floor(tOf(x) * ENV_RATE), b = Math.max(a + 1, Math.floor(tOf(x + 1) * ENV_RATE));
      if (b <= 0 || a >= env.length) continue;
      let m = 0;
      for (let k = Math.max(0, a); k < Math.min(b, env.length); k++) if (env[k] > m) m = env[k];
      const h = m / 255 * wh;
      c.fillRect(x, wm - h, 1, 2 * h || 1);
    }
    // hits: binary search the visible time range
    const rowOf = new Map(shown.map((lane, row) => [lane, row]));
    const margin = HIT_W / pps;
    let n = 0;
    hitBoxes = [];
    for (let k = lowerEv(t0 - margin); k < events.length && events[k].t <= t1 + margin; k++) {
      const e = events[k], row = rowOf.get(e.lane);
      if (row === undefined) continue;
      const x = xOf(e.t), vv = e.v / 127, h = LANE_H * (0.3 + 0.6 * vv), y = laneTop(row) + (LANE_H - h) / 2;
      c.globalAlpha = 0.45 + 0.55 * vv;
      c.fillStyle = laneColor(e.lane);
      c.fillRect(Math.round(x - HIT_W / 2), Math.round(y), HIT_W, Math.round(h));
      c.globalAlpha = 1;
      hitBoxes.push([e.seq, x, laneTop(row) + LANE_H / 2]);
      n++;
    }
    lastDrawn = n;
    // cursor
    c.fillStyle = "#ffffff"; c.fillRect(Math.round(xOf(pos)), 0, 2, H);
    drawOverview(pos);
    const bb = barAndBeat(pos);
    $("clock").textContent = fmtTime(pos);
    $("tempo").textContent = `${localBpm(pos).toFixed(1)} bpm (${G.bpm.toFixed(1)} overall) · ${G.meter} · bar ${bb[0]} beat ${Math.floor(bb[1])}`;
    if (firstDrawMs === null) firstDrawMs = performance.now();
    drawMs.push(performance.now() - started);
    if (drawMs.length > 600) drawMs.shift();
    dirty = false;
  }
  function fmtTime(t) { const m = Math.floor(t / 60), s = t - 60 * m; return `${m}:${s.toFixed(2).padStart(5, "0")}`; }

  function frame() {
    if (playing) {
      const pos = position();
      if (pos >= D.duration + 0.05) stop(D.duration);
      else if (follow && (xOf(pos) > W * 0.9 || xOf(pos) < 0)) { viewStart = pos - viewSeconds() * 0.1; clampView(); }
      dirty = true;
    }
    if (dirty) draw();
    requestAnimationFrame(frame);
  }

  // ------------------------------------------------------------ sound: the song, and the hits synthesised
  const song = $("song");
  let actx = null, hitsGain = null, voices = null;
  let playing = false, pausedAt = 0, anchorCtx = 0, anchorSong = 0, rate = 1, follow = true;
  let schedFrom = 0, schedTimer = null, songOk = false;
  const audioText = document.getElementById("drumscribe-audio").textContent.trim();
  function loadSong() {
    if (D.audio && D.audio.mode === "link") song.src = D.audio.src;
    else if (audioText) song.src = `data:${D.audio.mime};base64,${audioText}`;
    else return;
    song.preservesPitch = true;
    song.addEventListener("canplay", () => { songOk = true; status(""); });
    song.addEventListener("error", () => {
      songOk = false;
      status(D.audio.mode === "link" ? `audio not found beside the page: ${D.audio.src} (hits only)` : "the song cannot be played here (hits only)");
    });
  }
  function status(s) { $("status").textContent = s; }

  function noiseGen(seed) { let x = seed >>> 0 || 1; return () => { x ^= x << 13; x >>>= 0; x ^= x >> 17; x ^= x << 5; x >>>= 0; return x / 2147483648 - 1; }; }
  function synth(kind, sr) {
    const spec = {
      kick: 0.5, snare: 0.35, rimshot: 0.35, cross_stick: 0.12, hihat: 0.09, hihat_open: 0.7, hihat_pedal: 0.07,
      hi_tom: 0.6, mid_tom: 0.65, low_tom: 0.75, crash: 2.2, ride: 1.4, ride_bell: 1.2,
    };
    const dur = spec[kind] || 0.3, n = Math.floor(dur * sr), y = new Float32Array(n), rnd = noiseGen(kind.length * 7919 + 13);
    const metal = [205.3, 304.4, 369.6, 522.7, 540.0, 800.0];
    let ph = 0, hp = 0, xp = 0, lp = 0;
    const hpA = (fc) => 1 / (1 + 2 * Math.PI * fc / sr);
    for (let i = 0; i < n; i++) {
      const t = i / sr, w = rnd();
      let s = 0;
      if (kind === "kick") {
        const f = 48 + 110 * Math.exp(-t * 28); ph += 2 * Math.PI * f / sr;
        s = Math.sin(ph) * Math.exp(-t * 7) + w * Math.exp(-t * 350) * 0.25;
      } else if (kind === "snare" || kind === "rimshot") {
        const a = hpA(1200); hp = a * (hp + w - xp); xp = w;
        const tone = Math.sin(2 * Math.PI * 185 * t) * 0.6 + Math.sin(2 * Math.PI * 330 * t) * 0.3;
        s = tone * Math.exp(-t * 22) + hp * Math.exp(-t * 15) * 0.9;
        if (kind === "rimshot") s = s * 1.1 + Math.sin(2 * Math.PI * 900 * t) * Math.exp(-t * 70) * 0.6;
      } else if (kind === "cross_stick") {
        s = Math.sin(2 * Math.PI * 1650 * t) * Math.exp(-t * 65) * 0.8 + w * Math.exp(-t * 160) * 0.4;
      } else if (kind.startsWith("hihat") || kind === "crash" || kind === "ride") {
        let m = 0;
        for (const f of metal) m += (Math.sin(2 * Math.PI * f * (kind === "ride" ? 2.1 : 3.2) * t) > 0 ? 1 : -1);
        const src = m / 6 * 0.6 + w * (kind === "ride" ? 0.35 : 0.8);
        const a = hpA(kind === "crash" ? 4000 : 6500); hp = a * (hp + src - xp); xp = src;
        const decay = { hihat: 55, hihat_open: 5, hihat_pedal: 70, crash: 1.8, ride: 3.2 }[kind];
        s = hp * Math.exp(-t * decay) * (kind === "ride" ? 0.8 : 1);
      } else if (kind === "ride_bell") {
        s = (Math.sin(2 * Math.PI * 620 * t) + 0.6 * Math.sin(2 * Math.PI * 1490 * t) + 0.3 * Math.sin(2 * Math.PI * 2350 * t)) * Math.exp(-t * 4) * 0.45;
      } else if (kind.endsWith("tom")) {
        const f0 = { hi_tom: 210, mid_tom: 160, low_tom: 110 }[kind];
        const f = f0 * (1 + 0.45 * Math.exp(-t * 18)); ph += 2 * Math.PI * f / sr;
        lp += 0.2 * (w - lp);
        s = Math.sin(ph) * Math.exp(-t * 6.5) + lp * Math.exp(-t * 30) * 0.5;
      } else { // an unknown class: a short click
        s = w * Math.exp(-t * 90);
      }
      const attack = Math.min(1, i / (0.001 * sr));
      y[i] = s * attack;
    }
    let peak = 0;
    for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(y[i]));
    const level = { kick: 0.95, snare: 0.7, rimshot: 0.8, cross_stick: 0.5, hihat: 0.32, hihat_open: 0.32, hihat_pedal: 0.25,
      crash: 0.38, ride: 0.3, ride_bell: 0.35 }[kind] || 0.7;
    if (peak > 0) for (let i = 0; i < n; i++) y[i] *= level / peak;
    const buf = actx.createBuffer(1, n, sr);
    buf.copyToChannel(y, 0);
    return buf;
  }
  function voiceOf(lane) {
    const ln = LANES[lane];
    return ln.art || D.class_names[ln.cls];
  }
  function ensureAudio() {
    if (actx) return;
    actx = new (window.AudioContext || window.webkitAudioContext)();
    hitsGain = actx.createGain();
    hitsGain.connect(actx.destination);
    voices = new Map();
    for (let i = 0; i < LANES.length; i++) { const k = voiceOf(i); if (!voices.has(k)) voices.set(k, synth(k, actx.sampleRate)); }
    applyBalance();
  }
  function applyBalance() {
    const b = $("balance").value / 100;
    song.volume = Math.min(1, 2 * (1 - b));
    if (hitsGain) hitsGain.gain.value = Math.min(1, 2 * b);
  }
  function position() {
    if (!playing) return pausedAt;
    return anchorSong + (actx.currentTime - anchorCtx) * rate;
  }
  function reanchor(songT) { anchorCtx = actx.currentTime; anchorSong = songT; }
  const LOOKAHEAD = 0.2;
  function schedule() { // hits due in the next LOOKAHEAD seconds of context time, placed in song time
    if (!playing) return;
    if (songOk && !song.paused && !song.seeking) {
      const drift = song.currentTime - position();
      if (Math.abs(drift) > 0.06) { reanchor(song.currentTime); schedFrom = song.currentTime; }
    }
    const now = actx.currentTime, until = position() + LOOKAHEAD * rate;
    for (let k = lowerEv(schedFrom); k < events.length && events[k].t < until; k++) {
      const e = events[k];
      if (!audible(e.lane)) continue;
      const when = anchorCtx + (e.t - anchorSong) / rate;
      if (when < now - 0.02) continue;
      const src = actx.createBufferSource(), g = actx.createGain();
      src.buffer = voices.get(voiceOf(e.lane));
      g.gain.value = Math.pow(e.v / 127, 1.4);
      src.connect(g); g.connect(hitsGain);
      src.start(Math.max(when, now));
    }
    schedFrom = Math.max(schedFrom, until);
  }
  function play() {
    ensureAudio();
    if (actx.state === "suspended") actx.resume();
    if (pausedAt >= D.duration - 0.01) pausedAt = 0;
    rate = parseFloat($("speed").value);
    playing = true;
    reanchor(pausedAt);
    schedFrom = pausedAt;
    if (songOk || song.src) {
      song.playbackRate = rate;
      song.currentTime = pausedAt;
      const p = song.play();
      if (p && p.catch) p.catch(() => status("the song cannot be played here (hits only)"));
    }
    schedule();
    schedTimer = setInterval(schedule, 25);
    $("play").innerHTML = "&#10074;&#10074; Pause";
  }
  function stop(at) {
    pausedAt = Math.max(0, Math.min(at === undefined ? position() : at, D.duration));
    playing = false;
    clearInterval(schedTimer);
    song.pause();
    $("play").innerHTML = "&#9654; Play";
    dirty = true;
  }
  function seek(t) {
    t = Math.max(0, Math.min(t, D.duration));
    if (playing) { stop(t); play(); } else { pausedAt = t; dirty = true; }
  }
  function rescheduleAfterEdit() { if (playing) schedFrom = position() + LOOKAHEAD * rate; }

  // ------------------------------------------------------------ editing with the mouse
  function rowAt(y) { const r = Math.floor((y - RULER_H - WAVE_H) / LANE_H); return r >= 0 && r < shown.length ? r : -1; }
  function hitAt(x, y) {
    const row = rowAt(y);
    if (row < 0) return null;
    const lane = shown[row], tol = (HIT_W / 2 + 3) / pps, t = tOf(x);
    let best = null, bd = Infinity;
    for (let k = lowerEv(t - tol); k < events.length && events[k].t <= t + tol; k++) {
      const e = events[k], d = Math.abs(e.t - t);
      if (e.lane === lane && d < bd) { best = e; bd = d; }
    }
    return best;
  }
  function snapped(t) { return $("snap").checked ? snapTo(t, parseFloat($("grid").value)) : t; }
  function edited() { sortEvents(); rescheduleAfterEdit(); buildHeadsIfNeeded(); dirty = true; }
  function buildHeadsIfNeeded() { const want = visibleLanes(); if (want.join() !== shown.join()) buildHeads(); }
  function typicalVelocity(lane) {
    const v = events.filter((e) => e.lane === lane).map((e) => e.v).sort((a, b) => a - b);
    return v.length ? v[v.length >> 1] : 100;
  }
  let drag = null;
  function pointer(ev) { const r = cv.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
  cv.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0) return;
    const [x, y] = pointer(ev);
    if (y < RULER_H + WAVE_H) { seek(tOf(x)); return; }
    const row = rowAt(y);
    if (row < 0) return;
    const hit = hitAt(x, y);
    if (hit) { drag = { e: hit, x0: x, y0: y, moved: false }; return; }
    snapshot();
    const t = Math.max(0, Math.min(snapped(tOf(x)), D.duration));
    events.push({ t: t, lane: shown[row], v: typicalVelocity(shown[row]), s: null, tick: null, seq: nextSeq++ });
    edited();
  });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    const [x, y] = pointer(ev);
    if (!drag.moved && Math.abs(x - drag.x0) < 4 && Math.abs(y - drag.y0) < LANE_H / 2) return;
    if (!drag.moved) { snapshot(); drag.moved = true; }
    const row = Math.max(0, Math.min(shown.length - 1, Math.floor((y - RULER_H - WAVE_H) / LANE_H)));
    const t = Math.max(0, Math.min(snapped(tOf(x)), D.duration));
    if (t !== drag.e.t) { drag.e.t = t; drag.e.tick = null; }
    drag.e.lane = shown[row];
    edited();
  });
  window.addEventListener("mouseup", () => {
    if (!drag) return;
    if (!drag.moved) { snapshot(); events = events.filter((e) => e !== drag.e); edited(); }
    drag = null;
  });
  const pick = $("drumpick");
  let pickFor = null;
  cv.addEventListener("contextmenu", (ev) => {
    const [x, y] = pointer(ev), hit = hitAt(x, y);
    if (!hit) return;
    ev.preventDefault();
    pickFor = hit;
    pick.innerHTML = LANES.map((ln, i) => `<option value="${i}"${i === hit.lane ? " selected" : ""}>${esc(ln.gm)} (${esc(ln.name)})</option>`).join("");
    pick.style.left = ev.clientX + "px"; pick.style.top = ev.clientY + "px";
    pick.hidden = false; pick.focus();
  });
  pick.addEventListener("change", () => {
    if (pickFor) { snapshot(); pickFor.lane = parseInt(pick.value, 10); edited(); }
    pick.hidden = true; pickFor = null;
  });
  pick.addEventListener("blur", () => { pick.hidden = true; pickFor = null; });
  cv.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    if (ev.ctrlKey || ev.metaKey) zoom(Math.exp(-ev.deltaY * 0.002), pointer(ev)[0]);
    else { viewStart += (Math.abs(ev.deltaX) > Math.abs(ev.deltaY) ? ev.deltaX : ev.deltaY) / pps; clampView(); follow = !playing; }
    dirty = true;
  }, { passive: false });
  let ovDrag = false;
  function ovMove(ev) {
    const r = ov.getBoundingClientRect(), t = (ev.clientX - r.left) / OW * D.duration;
    viewStart = t - viewSeconds() / 2; clampView(); dirty = true;
  }
  ov.addEventListener("mousedown", (ev) => { ovDrag = true; ovMove(ev); });
  window.addEventListener("mousemove", (ev) => { if (ovDrag) ovMove(ev); });
  window.addEventListener("mouseup", () => { ovDrag = false; });
  ov.addEventListener("dblclick", (ev) => { const r = ov.getBoundingClientRect(); seek((ev.clientX - r.left) / OW * D.duration); });

  // ------------------------------------------------------------ controls
  $("title").textContent = D.title;
  $("title").title = `${D.title}: ${events.length} hits, ${D.duration.toFixed(1)} s`;
  $("play").onclick = () => (playing ? stop() : play());
  $("speed").onchange = () => {
    const pos = position(); rate = parseFloat($("speed").value); song.playbackRate = rate;
    if (playing) { reanchor(pos); schedFrom = pos; }
  };
  $("balance").oninput = applyBalance;
  $("zoomin").onclick = () => zoom(1.5);
  $("zoomout").onclick = () => zoom(1 / 1.5);
  $("fit").onclick = () => { fit(); };
  $("snap").onchange = $("grid").onchange = () => { dirty = true; };
  $("alllanes").onchange = buildHeads;
  $("undo").onclick = undo;
  $("dlmidi").onclick = () => download(`${stem}.reviewed.mid`, new Blob([midiBytes()], { type: "audio/midi" }));
  $("dljson").onclick = () => download(`${stem}.reviewed.json`, new Blob([JSON.stringify(jsonDoc(), null, 1) + "\n"], { type: "application/json" }));
  window.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "SELECT" || ev.target.tagName === "INPUT") return;
    if (ev.key === " ") { ev.preventDefault(); playing ? stop() : play(); }
    else if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") { ev.preventDefault(); undo(); }
    else if (ev.key === "+" || ev.key === "=") zoom(1.5);
    else if (ev.key === "-") zoom(1 / 1.5);
  });
  window.addEventListener("resize", () => { resize(); });
  song.addEventListener("ended", () => { if (playing) stop(D.duration); });

  // ------------------------------------------------------------ the read-only test hook
  window.drumscribeReview = Object.freeze({
    get state() {
      return {
        events: events.map((e) => ({ time: e.t, lane: e.lane, note: LANES[e.lane].note, velocity: e.v, seq: e.seq })),
        lanes: shown.slice(), drawn: lastDrawn, hitBoxes: hitBoxes.map((h) => h.slice()), position: position(),
        playing: playing, songReady: songOk, viewStart: viewStart, pxPerSecond: pps, undo: undoStack.length,
        firstDrawMs: firstDrawMs, laneTop: shown.map((_, r) => laneTop(r)), laneHeight: LANE_H,
        canvas: { width: W, height: H }, drawMs: drawMs.slice(),
      };
    },
    midiBytes: () => Array.from(midiBytes()),
    json: () => jsonDoc(),
  });

  if (!events.length) $("alllanes").checked = true; // nothing found: every lane, to add hits by hand
  buildHeads();
  fit();
  draw();
  requestAnimationFrame(frame);
  setTimeout(loadSong, 0);
})();
