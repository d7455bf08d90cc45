#!/usr/bin/env node
// Runs Spotify's original Basic Pitch model in node, through the npm package's
// own code, to give reference outputs for the TorchScript conversion:
//
//   node run-node.js --package PKG_DIR --in clip.f32 --out OUTPREFIX
//
// PKG_DIR is node_modules/@spotify/basic-pitch as installed by
// scripts/fetch-basic-pitch.sh; clip.f32 is raw little-endian float32 mono
// audio at 22050 Hz. Writes OUTPREFIX.note.f32, .onset.f32 (frames x 88) and
// .contour.f32 (frames x 264), row-major float32, and OUTPREFIX.json with the
// frame count, the time spent in evaluateModel and the decoded notes. Works
// offline: the model is read from the package folder, not fetched.
'use strict';

const fs = require('fs');
const path = require('path');

function usage(message) {
  if (message) console.error(`run-node.js: ${message}`);
  console.error('usage: node run-node.js --package PKG_DIR --in clip.f32 --out OUTPREFIX');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!['--package', '--in', '--out'].includes(key)) usage(`unknown argument ${key}`);
    if (i + 1 >= argv.length) usage(`${key} needs a value`);
    args[key.slice(2)] = argv[i + 1];
  }
  for (const key of ['package', 'in', 'out']) {
    if (!args[key]) usage(`--${key} is required`);
  }
  return args;
}

// tfjs must come from the package's own dependency tree: the BasicPitch class
// requires '@tensorflow/tfjs' itself, and the model it runs has to live in the
// same tfjs instance (same engine, same CPU backend).
function loadModules(pkgDir) {
  const pkgJson = path.join(pkgDir, 'package.json');
  if (!fs.existsSync(pkgJson)) usage(`${pkgDir} is not a package folder (no package.json)`);
  const tfPath = require.resolve('@tensorflow/tfjs', { paths: [pkgDir] });
  const tf = require(tfPath);
  const basicPitch = require(path.resolve(pkgDir));
  return { tf, basicPitch };
}

// An IOHandler that reads model.json and its weight shards from disk, so that
// loading needs neither fetch nor tfjs-node.
function fileHandler(modelDir) {
  return {
    async load() {
      const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
      const weightSpecs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(modelDir, shard)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

function readClip(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length % 4 !== 0) usage(`${file}: size is not a multiple of 4 bytes`);
  const samples = new Float32Array(bytes.length / 4);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readFloatLE(i * 4);
  return samples;
}

function writeMatrix(file, rows, width) {
  const out = Buffer.alloc(rows.length * width * 4);
  rows.forEach((row, r) => {
    if (row.length !== width) throw new Error(`${file}: row ${r} has ${row.length} values, not ${width}`);
    row.forEach((v, c) => out.writeFloatLE(v, (r * width + c) * 4));
  });
  fs.writeFileSync(file, out);
}

// One note per line: readable, and diffable between runs.
function formatResult(result) {
  const notes = result.notes.map((n) => `  ${JSON.stringify(n)}`).join(',\n');
  return (
    `{\n "frames": ${result.frames},\n "seconds_model": ${result.seconds_model},\n` +
    ` "notes": [${notes ? `\n${notes}\n ` : ''}]\n}\n`
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { tf, basicPitch } = loadModules(args.package);
  await tf.setBackend('cpu');
  await tf.ready();

  const audio = readClip(args.in);
  const model = await tf.loadGraphModel(fileHandler(path.join(args.package, 'model')));
  const bp = new basicPitch.BasicPitch(model);

  // Collect the windows' outputs exactly as the package's demo does.
  const frames = [];
  const onsets = [];
  const contours = [];
  const t0 = process.hrtime.bigint();
  await bp.evaluateModel(
    audio,
    (f, o, c) => {
      frames.push(...f);
      onsets.push(...o);
      contours.push(...c);
    },
    () => {},
  );
  const secondsModel = Number(process.hrtime.bigint() - t0) / 1e9;

  // Written before decoding: the decoder takes the arrays by reference.
  writeMatrix(`${args.out}.note.f32`, frames, 88);
  writeMatrix(`${args.out}.onset.f32`, onsets, 88);
  writeMatrix(`${args.out}.contour.f32`, contours, 264);

  const notes = basicPitch.addPitchBendsToNoteEvents(
    contours,
    basicPitch.outputToNotesPoly(frames, onsets),
  );
  const timed = basicPitch.noteFramesToTime(notes);
  const result = {
    frames: frames.length,
    seconds_model: secondsModel,
    notes: notes.map((n, i) => ({
      start_frame: n.startFrame,
      duration_frames: n.durationFrames,
      pitch_midi: n.pitchMidi,
      amplitude: n.amplitude,
      pitch_bends: n.pitchBends,
      start_s: timed[i].startTimeSeconds,
      duration_s: timed[i].durationSeconds,
    })),
  };
  fs.writeFileSync(`${args.out}.json`, formatResult(result));
  console.log(
    `${audio.length} samples, ${frames.length} frames, ${notes.length} notes, ` +
      `evaluateModel ${secondsModel.toFixed(3)} s`,
  );
}

main().catch((err) => {
  console.error(`run-node.js: ${err.stack || err}`);
  process.exit(1);
});
