// drumscribe's chart check: read a song folder with scan-chart (Clone Hero-parity parser) and print one JSON
// summary on stdout: what the games list (playable, instruments/difficulties, issues) and the parsed drum notes.
//   node scan.js "SONG FOLDER"          (run with NODE_PATH or from a folder where scan-chart is installed)
const fs = require('fs'), path = require('path');
const sc = require('scan-chart');
const dir = process.argv[2];
const names = fs.readdirSync(dir);
const files = names.map(f => ({ fileName: f, data: new Uint8Array(fs.readFileSync(path.join(dir, f))) }));
const out = { folder: dir, files: names.sort() };
try {
  const s = sc.scanChartFolder(files, { includeMd5: false, includeBChart: false });
  out.playable = s.playable;
  out.folderIssues = s.folderIssues;
  out.metadataIssues = s.metadataIssues;
  out.metadata = { name: s.name, artist: s.artist, album: s.album, genre: s.genre, year: s.year, charter: s.charter,
    diff_drums: s.diff_drums, diff_drums_real: s.diff_drums_real, pro_drums: s.pro_drums, delay: s.delay,
    preview_start_time: s.preview_start_time, song_length: s.song_length };
  const nd = s.notesData;
  if (nd) {
    out.instruments = nd.instruments;
    out.drumType = nd.drumType;
    out.hasSoloSections = nd.hasSoloSections;
    out.hasFlexLanes = nd.hasFlexLanes;
    out.chartIssues = nd.chartIssues.map(i => ({ instrument: i.instrument, difficulty: i.difficulty, noteIssue: i.noteIssue, description: i.description }));
    out.noteCounts = nd.noteCounts;
    out.maxNps = nd.maxNps;
    out.effectiveLength = nd.effectiveLength;
  }
} catch (e) { out.scanError = String(e && e.stack || e); }
const chart = names.find(n => n === 'notes.mid' || n === 'notes.chart');
if (chart) {
  try {
    const iniTxt = names.includes('song.ini') ? fs.readFileSync(path.join(dir, 'song.ini'), 'utf8') : '';
    const pro = /^\s*pro_drums\s*=\s*(1|true)\s*$/im.test(iniTxt);
    const p = sc.parseChartFile(new Uint8Array(fs.readFileSync(path.join(dir, chart))), chart.endsWith('.mid') ? 'mid' : 'chart',
      { pro_drums: pro, five_lane_drums: false, song_length: 0 });
    out.chartFile = chart;
    out.drumTypeParsed = p.drumType;
    out.resolution = p.resolution;
    out.sections = p.sections.map(s => ({ tick: s.tick, ms: s.msTime, name: s.name }));
    out.endEvents = p.endEvents.map(e => e.tick);
    out.parseIssues = p.parseIssues;
    out.timeSignatures = p.timeSignatures.map(t => [t.tick, t.numerator, t.denominator]);
    out.tempos = p.tempos.length;
    out.tracks = p.trackData.map(t => ({
      instrument: t.instrument, difficulty: t.difficulty,
      starPower: t.starPowerSections.map(x => [x.tick, x.length]),
      fills: t.drumFreestyleSections.map(x => [x.tick, x.length]),
      notes: t.noteEventGroups.flat().map(n => [n.tick, n.type, n.flags]),
    }));
    out.noteTypes = sc.noteTypes; out.noteFlags = sc.noteFlags;
  } catch (e) { out.parseError = String(e && e.stack || e); }
}
process.stdout.write(JSON.stringify(out));
