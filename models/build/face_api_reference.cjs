// face-api's own age/gender network on raw 112 px RGB chips, for checking the rebuilt ONNX graph.
// NODE_PATH=<node_modules with @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm 4.22.0 (npm install)>
//   node face_api_reference.cjs FACE_API_PACKAGE_DIR CHIPS_U8_FILE COUNT  ->  JSON [{age, male}, ...]
// Loads face-api's dist/face-api.node-wasm.js (CommonJS, tfjs from node_modules) and runs it on
// tfjs's CPU backend. Build time only.
const fs = require('node:fs');
const path = require('node:path');

async function main() {
  const [packageDir, chipsFile, countText] = process.argv.slice(2);
  const faceapi = require(path.join(packageDir, 'dist/face-api.node-wasm.js'));
  const { tf } = faceapi;
  await tf.setBackend('cpu');
  await tf.ready();
  const specs = JSON.parse(fs.readFileSync(path.join(packageDir, 'model/age_gender_model-weights_manifest.json')));
  const blob = fs.readFileSync(path.join(packageDir, 'model/age_gender_model.bin'));
  const buffer = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength);
  faceapi.nets.ageGenderNet.loadFromWeightMap(tf.io.decodeWeights(buffer, specs[0].weights));
  const count = Number(countText);
  const side = 112 * 112 * 3;
  const pixels = new Uint8Array(fs.readFileSync(chipsFile));
  const rows = [];
  for (let i = 0; i < count; i += 1) {
    const chip = tf.tensor3d(pixels.subarray(i * side, (i + 1) * side), [112, 112, 3], 'int32');
    const out = await faceapi.nets.ageGenderNet.predictAgeAndGender(chip);
    rows.push({ age: out.age, male: out.gender === 'male' ? out.genderProbability : 1 - out.genderProbability });
    chip.dispose();
  }
  process.stdout.write(JSON.stringify(rows));
}

main();
