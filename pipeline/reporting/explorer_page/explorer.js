// The explorer: every layer type of pipeline/architecture/layers.py run in plain JavaScript, on
// weights exported by pipeline/reporting/explorer.py. Data arrive as scripts (a page opened from
// disk may not fetch files): data/index.js calls explorerIndexLoaded, each model's file
// explorerModelLoaded. Sums run in float64 and each layer's output is stored as float32, as Keras does.
"use strict";

const INFERNO = ["000004", "210c4a", "57106e", "8a226a", "bc3754", "e45a31", "f98e09", "f9cb35", "fcffa4"];
const TURBO = ["30123b", "466be3", "28bceb", "32f298", "a4fc3c", "eecf3a", "fb7e21", "d02f05", "7a0403"];
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
const AUGMENTATION = new Set(["random_shift", "random_flip", "random_zoom"]);

// ---- numbers ----

function lookupTable(stops) {
  const rgb = stops.map((hex) => [0, 2, 4].map((at) => parseInt(hex.slice(at, at + 2), 16)));
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const position = (i / 255) * (rgb.length - 1);
    const low = Math.min(Math.floor(position), rgb.length - 2);
    const part = position - low;
    for (let c = 0; c < 3; c++) table[i * 3 + c] = rgb[low][c] + (rgb[low + 1][c] - rgb[low][c]) * part;
  }
  return table;
}
const INFERNO_TABLE = lookupTable(INFERNO);
const TURBO_TABLE = lookupTable(TURBO);

function erf(x) {
  // Maclaurin series below 3, Laplace's continued fraction for erfc above: both to about 1e-15.
  const size = Math.abs(x);
  if (size < 3) {
    let term = x, sum = x;
    for (let n = 1; n < 100 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let fraction = size;
  for (let n = 60; n >= 1; n--) fraction = size + n / 2 / fraction;
  const complement = Math.exp(-size * size) / (Math.sqrt(Math.PI) * fraction);
  return Math.sign(x) * (1 - complement);
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));
// Each activation of the schema: its value, and its derivative from the input z and output y.
const ACTIVATIONS = {
  linear: [(z) => z, () => 1],
  relu: [(z) => (z > 0 ? z : 0), (z) => (z > 0 ? 1 : 0)],
  sigmoid: [sigmoid, (z, y) => y * (1 - y)],
  tanh: [Math.tanh, (z, y) => 1 - y * y],
  elu: [(z) => (z > 0 ? z : Math.expm1(z)), (z) => (z > 0 ? 1 : Math.exp(z))],
  selu: [
    (z) => SELU_SCALE * (z > 0 ? z : SELU_ALPHA * Math.expm1(z)),
    (z) => (z > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(z)),
  ],
  gelu: [
    (z) => 0.5 * z * (1 + erf(z / Math.SQRT2)),
    (z) => 0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI),
  ],
  swish: [(z) => z * sigmoid(z), (z) => sigmoid(z) * (1 + z * (1 - sigmoid(z)))],
};

function activate(name, z, channels) {
  // The activation over a layer's pre-activations; softmax runs over the last axis, as Keras's.
  const y = new Float32Array(z.length);
  if (name === "softmax") {
    for (let start = 0; start < z.length; start += channels) {
      let peak = -Infinity, total = 0;
      for (let c = 0; c < channels; c++) peak = Math.max(peak, z[start + c]);
      for (let c = 0; c < channels; c++) total += Math.exp(z[start + c] - peak);
      for (let c = 0; c < channels; c++) y[start + c] = Math.exp(z[start + c] - peak) / total;
    }
    return y;
  }
  const value = ACTIVATIONS[name][0];
  for (let i = 0; i < z.length; i++) y[i] = value(z[i]);
  return y;
}

function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// ---- layers ----

function padBefore(size, window, stride, padding, outSize) {
  // Keras pads 'same' inputs by half the total padding, rounded down, on the top and left.
  return padding === "same" ? Math.floor(Math.max((outSize - 1) * stride + window - size, 0) / 2) : 0;
}

function windowOf(layer) {
  const [height, width] = layer.input;
  const [outHeight, outWidth] = layer.output;
  const size = layer.arguments.kernel || layer.arguments.pool;
  const stride = layer.arguments.strides;
  const padding = layer.arguments.padding;
  return {
    size, stride,
    top: padBefore(height, size, stride, padding, outHeight),
    left: padBefore(width, size, stride, padding, outWidth),
  };
}

function convolve(layer, x) {
  const [height, width, channels] = layer.input;
  const [outHeight, outWidth, filters] = layer.output;
  const { size, stride, top, left } = windowOf(layer);
  const kernel = layer.kernel, bias = layer.bias;
  const z = new Float32Array(outHeight * outWidth * filters);
  const sums = new Float64Array(filters);
  for (let row = 0; row < outHeight; row++) {
    for (let column = 0; column < outWidth; column++) {
      sums.fill(0);
      for (let dy = 0; dy < size; dy++) {
        const y = row * stride - top + dy;
        if (y < 0 || y >= height) continue;
        for (let dx = 0; dx < size; dx++) {
          const x0 = column * stride - left + dx;
          if (x0 < 0 || x0 >= width) continue;
          const inputAt = (y * width + x0) * channels;
          const kernelAt = (dy * size + dx) * channels * filters;
          for (let c = 0; c < channels; c++) {
            const value = x[inputAt + c];
            if (value === 0) continue;
            const weights = kernelAt + c * filters;
            for (let f = 0; f < filters; f++) sums[f] += value * kernel[weights + f];
          }
        }
      }
      const at = (row * outWidth + column) * filters;
      for (let f = 0; f < filters; f++) z[at + f] = sums[f] + bias[f];
    }
  }
  return { z, y: activate(layer.arguments.activation, z, filters) };
}

function poolWinner(layer, x, row, column, channel) {
  // The input index of the window's largest value, the first in reading order on ties.
  const [height, width, channels] = layer.input;
  const { size, stride, top, left } = windowOf(layer);
  let winner = -1;
  for (let y = Math.max(row * stride - top, 0); y < Math.min(row * stride - top + size, height); y++) {
    for (let x0 = Math.max(column * stride - left, 0); x0 < Math.min(column * stride - left + size, width); x0++) {
      const at = (y * width + x0) * channels + channel;
      if (winner < 0 || x[at] > x[winner]) winner = at;
    }
  }
  return winner;
}

function maxPool(layer, x) {
  const [outHeight, outWidth, channels] = layer.output;
  const y = new Float32Array(outHeight * outWidth * channels);
  for (let row = 0; row < outHeight; row++)
    for (let column = 0; column < outWidth; column++)
      for (let c = 0; c < channels; c++) y[(row * outWidth + column) * channels + c] = x[poolWinner(layer, x, row, column, c)];
  return { y };
}

function dense(layer, x) {
  const inputs = layer.input[0], units = layer.output[0];
  const sums = new Float64Array(units);
  for (let i = 0; i < inputs; i++) {
    const value = x[i];
    if (value === 0) continue;
    const row = i * units;
    for (let j = 0; j < units; j++) sums[j] += value * layer.kernel[row + j];
  }
  const z = new Float32Array(units);
  for (let j = 0; j < units; j++) z[j] = sums[j] + layer.bias[j];
  return { z, y: activate(layer.arguments.activation, z, units) };
}

const identity = (layer, x) => ({ y: x }); // flatten keeps the row-major order; the rest act only in training
const FORWARD = {
  conv: convolve, maxpool: maxPool, dense, flatten: identity, dropout: identity,
  random_shift: identity, random_flip: identity, random_zoom: identity,
};

function forward(model, image) {
  // Every layer's output (and pre-activation, for conv and dense) for one 28x28 image.
  const steps = [];
  let x = image;
  for (const layer of model.layers) {
    const step = FORWARD[layer.type](layer, x);
    steps.push(step);
    x = step.y;
  }
  return steps;
}

// ---- Grad-CAM, as pipeline/analysis/attention.py computes it ----

function lastConvolution(model) {
  return model.layers.map((layer) => layer.type).lastIndexOf("conv");
}

function backward(layer, step, x, gradient) {
  // The gradient at a layer's input from the gradient at its output.
  if (layer.type === "dense") {
    const units = layer.output[0], inputs = layer.input[0];
    const atZ = new Float64Array(units);
    if (layer.arguments.activation === "softmax") {
      let dot = 0;
      for (let j = 0; j < units; j++) dot += gradient[j] * step.y[j];
      for (let j = 0; j < units; j++) atZ[j] = step.y[j] * (gradient[j] - dot);
    } else {
      const derivative = ACTIVATIONS[layer.arguments.activation][1];
      for (let j = 0; j < units; j++) atZ[j] = gradient[j] * derivative(step.z[j], step.y[j]);
    }
    const atX = new Float64Array(inputs);
    for (let i = 0; i < inputs; i++) {
      let sum = 0;
      for (let j = 0; j < units; j++) sum += layer.kernel[i * units + j] * atZ[j];
      atX[i] = sum;
    }
    return atX;
  }
  if (layer.type === "maxpool") {
    const [outHeight, outWidth, channels] = layer.output;
    const atX = new Float64Array(x.length);
    for (let row = 0; row < outHeight; row++)
      for (let column = 0; column < outWidth; column++)
        for (let c = 0; c < channels; c++) {
          atX[poolWinner(layer, x, row, column, c)] += gradient[(row * outWidth + column) * channels + c];
        }
    return atX;
  }
  return gradient; // flatten, dropout, augmentation: identity at inference
}

function gradCam(model, image, chosen, steps = forward(model, image)) {
  // The map of class `chosen` at the last convolution, scaled to a maximum of 1; null without one.
  const last = lastConvolution(model);
  if (last < 0) return null;
  const layers = model.layers;
  const head = layers[layers.length - 1];
  const units = head.output[0];
  let gradient = new Float64Array(head.input[0]);
  for (let i = 0; i < gradient.length; i++) gradient[i] = head.kernel[i * units + chosen];
  for (let index = layers.length - 2; index > last; index--) {
    gradient = backward(layers[index], steps[index], steps[index - 1].y, gradient);
  }
  const [height, width, channels] = layers[last].output;
  const activations = steps[last].y;
  const weights = new Float64Array(channels);
  for (let p = 0; p < height * width; p++)
    for (let c = 0; c < channels; c++) weights[c] += gradient[p * channels + c] / (height * width);
  const map = new Float64Array(height * width);
  let peak = 0;
  for (let p = 0; p < height * width; p++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += weights[c] * activations[p * channels + c];
    map[p] = Math.max(sum, 0);
    peak = Math.max(peak, map[p]);
  }
  for (let p = 0; p < map.length; p++) map[p] = peak > 0 ? map[p] / peak : 0;
  return { height, width, map: Array.from(map) };
}

// ---- the page ----

const state = {
  index: null, models: new Map(), loading: new Map(), model: null, image: new Float32Array(784),
  caption: "", steps: null, camClass: null, views: [], timings: {}, chosenThumb: null,
};
const element = (id) => document.getElementById(id);

function make(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function paint(canvas, values, width, height, table, channel = 0, stride = 1) {
  // values[(p * stride) + channel] for each cell p, on the map's own scale.
  let low = Infinity, high = -Infinity;
  for (let p = 0; p < width * height; p++) {
    const value = values[p * stride + channel];
    if (value < low) low = value;
    if (value > high) high = value;
  }
  const range = high - low;
  const context = canvas.getContext("2d");
  const picture = context.createImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    const level = range > 0 ? Math.round(((values[p * stride + channel] - low) / range) * 255) : 0;
    picture.data.set(table.subarray(level * 3, level * 3 + 3), p * 4);
    picture.data[p * 4 + 3] = 255;
  }
  context.putImageData(picture, 0, 0);
}

function paintImage(canvas, pixels, offset = 0) {
  const context = canvas.getContext("2d");
  const picture = context.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    const level = 255 - Math.round(pixels[offset + p] * 255); // dark garment on white, as in the figures
    picture.data.set([level, level, level, 255], p * 4);
  }
  context.putImageData(picture, 0, 0);
}

function format(value, digits = 4) {
  return Number(value).toFixed(digits);
}

window.explorerIndexLoaded = function (index) {
  const bytes = decode(index.images.pixels);
  index.images.values = Float32Array.from(bytes, (level) => level / 255);
  state.index = index;
  const select = element("model");
  for (const group of new Set(index.models.map((entry) => entry.group))) {
    const options = make("optgroup", { label: group === "models" ? "models" : `${group} study` });
    for (const entry of index.models.filter((model) => model.group === group)) {
      options.append(make("option", { value: entry.key }, `${entry.name}: ${entry.description}`));
    }
    select.append(options);
  }
  const total = index.models.reduce((sum, entry) => sum + entry.bytes, 0);
  element("included").textContent =
    `All ${index.models.length} declared models are included, with their float32 weights as trained ` +
    `(not quantised): ${(total / 1e6).toFixed(1)} MB, each loaded when it is picked.`;
  select.addEventListener("change", () => choose(select.value));
  setUpDrawing();
  showImage(0, "test");
  window.explorer.ready = choose(index.models[0].key).then(() => {
    state.timings.ready = performance.now();
    return state.timings;
  });
};

window.explorerModelLoaded = function (exported) {
  for (const layer of exported.layers) {
    for (const key of ["kernel", "bias"]) {
      if (layer[key]) layer[key] = new Float32Array(decode(layer[key]).buffer);
    }
  }
  state.models.set(exported.key, exported);
};

function load(key) {
  // A model's script, added once; resolves with the model when it has run.
  if (!state.loading.has(key)) {
    const entry = state.index.models.find((model) => model.key === key);
    state.loading.set(key, new Promise((resolve, reject) => {
      const tag = make("script", { src: entry.file });
      tag.onload = () => resolve(state.models.get(key));
      tag.onerror = () => reject(new Error(`cannot load ${entry.file}`));
      document.head.append(tag);
    }));
  }
  return state.loading.get(key);
}

async function choose(key) {
  const model = await load(key);
  const entry = state.index.models.find((item) => item.key === key);
  state.model = model;
  state.camClass = null;
  element("model").value = key;
  element("model-facts").textContent =
    `${entry.parameters.toLocaleString("en")} parameters, test accuracy ${(entry.accuracy * 100).toFixed(2)}%` +
    (entry.precision === "float32"
      ? ""
      : `; trained in ${entry.precision}, computed here in float32, so the last digits may differ from Keras's`);
  buildLayers(model);
  buildGallery(entry);
  render();
  return entry;
}

function mapScale(height, width) {
  return Math.max(2, Math.floor(84 / Math.max(height, width)));
}

function buildLayers(model) {
  const container = element("layers");
  container.replaceChildren();
  state.views = [];
  const layers = [{ name: "input image", keras: "InputLayer", output: [28, 28, 1], shape: "28x28x1" }, ...model.layers];
  layers.forEach((layer, position) => {
    const section = make("div", { class: "layer", "data-layer": layer.name });
    const note = AUGMENTATION.has(layer.type) || layer.type === "dropout" ? " (identity at inference)" : "";
    const heading = make("h3", {}, `${layer.name} `);
    heading.append(make("span", { class: "shape" }, `${layer.keras} · ${layer.shape}${note}${describeLayer(layer)}`));
    section.append(heading);
    const maps = make("div", { class: "maps" });
    const canvases = [];
    if (layer.output.length === 3) {
      const [height, width, channels] = layer.output;
      const scale = mapScale(height, width);
      for (let c = 0; c < channels; c++) {
        const canvas = make("canvas", { width, height, title: `${layer.name} channel ${c}`, "data-channel": c });
        canvas.style.width = `${width * scale}px`;
        canvas.style.height = `${height * scale}px`;
        if (position > 0) canvas.addEventListener("click", (event) => showCell(position - 1, event, c));
        canvases.push(canvas);
      }
    } else {
      const count = layer.output[0];
      const width = Math.min(count, 64), height = Math.ceil(count / width);
      const scale = count <= 16 ? 16 : count <= 256 ? 6 : 4;
      const canvas = make("canvas", { width, height, title: `${layer.name}: ${count} values, row by row` });
      canvas.style.width = `${width * scale}px`;
      canvas.style.height = `${height * scale}px`;
      canvases.push(canvas);
    }
    maps.append(...canvases);
    section.append(maps);
    container.append(section);
    state.views.push({ layer, canvases });
  });
}

function describeLayer(layer) {
  const args = layer.arguments || {};
  if (layer.type === "conv") {
    return `, ${args.filters} kernels ${args.kernel}x${args.kernel} /${args.strides} ${args.padding}, ${args.activation}`;
  }
  if (layer.type === "maxpool") return `, pool ${args.pool}x${args.pool} /${args.strides} ${args.padding}`;
  if (layer.type === "dense") return `, ${args.activation}`;
  return "";
}

function drawLayers(steps) {
  state.views.forEach(({ layer, canvases }, position) => {
    const values = position === 0 ? state.image : steps[position - 1].y;
    if (layer.output.length === 3) {
      const [height, width, channels] = layer.output;
      canvases.forEach((canvas, c) => paint(canvas, values, width, height, INFERNO_TABLE, c, channels));
    } else {
      const canvas = canvases[0];
      const padded = new Float32Array(canvas.width * canvas.height).fill(NaN);
      padded.set(values);
      paintStrip(canvas, padded, layer.output[0]);
    }
  });
}

function paintStrip(canvas, values, count) {
  let low = Infinity, high = -Infinity;
  for (let i = 0; i < count; i++) {
    low = Math.min(low, values[i]);
    high = Math.max(high, values[i]);
  }
  const context = canvas.getContext("2d");
  const picture = context.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < values.length; i++) {
    const level = i < count && high > low ? Math.round(((values[i] - low) / (high - low)) * 255) : 0;
    picture.data.set(i < count ? INFERNO_TABLE.subarray(level * 3, level * 3 + 3) : [255, 255, 255], i * 4);
    picture.data[i * 4 + 3] = 255;
  }
  context.putImageData(picture, 0, 0);
}

function render() {
  const started = performance.now();
  const steps = forward(state.model, state.image);
  state.steps = steps;
  drawLayers(steps);
  const probabilities = steps[steps.length - 1].y;
  drawBars(probabilities);
  drawCam(steps, probabilities);
  state.timings.render = performance.now() - started;
}

function predicted(probabilities) {
  let best = 0;
  for (let c = 1; c < probabilities.length; c++) if (probabilities[c] > probabilities[best]) best = c;
  return best;
}

function drawBars(probabilities) {
  const bars = element("bars");
  const top = predicted(probabilities);
  const camClass = state.camClass ?? top;
  bars.replaceChildren(...state.index.classes.map((name, c) => {
    const row = make("div", {
      class: `bar${c === top ? " top" : ""}${c === camClass ? " cam" : ""}`,
      "data-class": c, "data-probability": probabilities[c], title: "click: Grad-CAM of this class",
    });
    const track = make("div", { class: "track" });
    const fill = make("div", { class: "fill" });
    fill.style.width = `${(probabilities[c] * 100).toFixed(2)}%`;
    track.append(fill);
    row.append(make("span", { class: "name" }, name), track, make("span", { class: "value" }, format(probabilities[c])));
    row.addEventListener("click", () => {
      state.camClass = c;
      drawBars(probabilities);
      drawCam(state.steps, probabilities);
    });
    return row;
  }));
}

function drawCam(steps, probabilities) {
  // The image, and over it the map of the chosen class upsampled bilinearly, as the insight figures show it.
  const canvas = element("cam");
  const caption = element("cam-caption");
  const chosen = state.camClass ?? predicted(probabilities);
  const cam = gradCam(state.model, state.image, chosen, steps);
  const image = make("canvas", { width: 28, height: 28 });
  paintImage(image, state.image);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (!cam) {
    caption.textContent = "This model has no convolution, so no Grad-CAM.";
    return;
  }
  const heat = make("canvas", { width: cam.width, height: cam.height });
  paint(heat, cam.map, cam.width, cam.height, TURBO_TABLE);
  context.imageSmoothingEnabled = true;
  context.globalAlpha = 0.55;
  context.drawImage(heat, 0, 0, canvas.width, canvas.height);
  context.globalAlpha = 1;
  const kind = state.camClass === null ? "the predicted class" : "the chosen class";
  caption.textContent = `${state.index.classes[chosen]} (${kind}), at ${cam.height}x${cam.width}.`;
}

// ---- the cell a user clicks ----

function showCell(layerIndex, event, channel) {
  const layer = state.model.layers[layerIndex];
  const canvas = event.currentTarget;
  const [height, width] = layer.output;
  const row = Math.min(height - 1, Math.floor((event.offsetY / canvas.clientHeight) * height));
  const column = Math.min(width - 1, Math.floor((event.offsetX / canvas.clientWidth) * width));
  explainCell(layerIndex, row, column, channel);
}

function explainCell(layerIndex, row, column, channel) {
  const layer = state.model.layers[layerIndex];
  const input = layerIndex === 0 ? state.image : state.steps[layerIndex - 1].y;
  const value = state.steps[layerIndex].y[(row * layer.output[1] + column) * layer.output[2] + channel];
  const detail = element("detail");
  detail.replaceChildren(make("h3", {}, `${layer.name}, row ${row}, column ${column}, channel ${channel}`));
  if (layer.type === "conv") explainConvolution(detail, layer, input, row, column, channel, value);
  else if (layer.type === "maxpool") explainPool(detail, layer, input, row, column, channel, value);
  else detail.append(make("p", {}, `${layer.keras} passes its input on at inference: ${format(value, 6)}.`));
}

function windowCanvas(layer, input, row, column, channel) {
  // The layer's input (one channel) with the window drawn on it, padding outside the frame.
  const [height, width, channels] = layer.input;
  const { size, stride, top, left } = windowOf(layer);
  const scale = 6, margin = size * scale;
  const canvas = make("canvas", { width: width * scale + 2 * margin, height: height * scale + 2 * margin });
  const map = make("canvas", { width, height });
  paint(map, input, width, height, INFERNO_TABLE, channel, channels);
  const context = canvas.getContext("2d");
  context.fillStyle = "#ddd";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.imageSmoothingEnabled = false;
  context.drawImage(map, margin, margin, width * scale, height * scale);
  context.strokeStyle = "#00e5ff";
  context.lineWidth = 2;
  context.strokeRect(margin + (column * stride - left) * scale, margin + (row * stride - top) * scale,
    size * scale, size * scale);
  canvas.style.width = "168px";
  canvas.style.height = `${Math.round((168 * canvas.height) / canvas.width)}px`;
  return canvas;
}

function explainConvolution(detail, layer, input, row, column, filter, value) {
  const [height, width, channels] = layer.input;
  const filters = layer.output[2];
  const { size, stride, top, left } = windowOf(layer);
  const y0 = row * stride - top, x0 = column * stride - left;
  let total = 0, strongest = 0, strongestSum = -Infinity;
  const blocks = [];
  for (let c = 0; c < channels; c++) {
    const tables = ["inputs", "weights", "products"].map((kind) => make("table", { "data-role": kind }));
    const rows = tables.map((table) => { const body = make("tbody"); table.append(body); return body; });
    let sum = 0;
    for (let dy = 0; dy < size; dy++) {
      const cells = rows.map((body) => { const tr = make("tr"); body.append(tr); return tr; });
      for (let dx = 0; dx < size; dx++) {
        const y = y0 + dy, x = x0 + dx;
        const inside = y >= 0 && y < height && x >= 0 && x < width;
        const pixel = inside ? input[(y * width + x) * channels + c] : 0;
        const weight = layer.kernel[((dy * size + dx) * channels + c) * filters + filter];
        const product = pixel * weight;
        sum += product;
        const outside = inside ? {} : { class: "outside" };
        cells[0].append(make("td", outside, format(pixel, 3)));
        cells[1].append(make("td", {}, format(weight, 3)));
        cells[2].append(make("td", { ...outside, "data-role": "product", "data-value": product }, format(product, 4)));
      }
    }
    total += sum;
    if (Math.abs(sum) > strongestSum) [strongest, strongestSum] = [c, Math.abs(sum)];
    const block = make("div", { class: "channel" });
    block.append(make("span", {}, `in ${c}:`), tables[0], make("span", {}, "×"), tables[1], make("span", {}, "="),
      tables[2], make("span", {}, `Σ ${format(sum)}`));
    blocks.push(block);
  }
  const bias = layer.bias[filter];
  const z = total + bias;
  const activation = layer.arguments.activation;
  const activated = activation === "softmax" ? softmaxAt(layer, row, column, filter) : ACTIVATIONS[activation][0](z);
  const equation = make("p", { class: "equation" });
  equation.append(
    "Σ products ", make("b", { "data-role": "sum", "data-value": total }, format(total, 6)),
    " + bias ", make("b", { "data-role": "bias", "data-value": bias }, format(bias, 6)),
    " = ", make("b", { "data-role": "pre-activation", "data-value": z }, format(z, 6)),
    `; ${activation} of it = `, make("b", { "data-role": "activation", "data-value": activated }, format(activated, 6)),
    "; the map holds ", make("b", { "data-role": "map-value", "data-value": value }, format(value, 6)),
    activation === "softmax" ? " (softmax over the channels at this position)" : "",
  );
  detail.append(
    make("p", {}, `Receptive window: input rows ${y0} to ${y0 + size - 1}, columns ${x0} to ${x0 + size - 1} ` +
      `(outside the image: padding, zero), drawn on input channel ${strongest}` +
      (channels > 1 ? ", the one with the largest |Σ|." : ".")),
    windowCanvas(layer, input, row, column, strongest),
    equation,
    make("p", {}, `Kernel ${filter}: ${size}x${size}x${channels} weights; inputs × weights = products, per input channel.`),
    ...blocks,
  );
}

function softmaxAt(layer, row, column, filter) {
  // A softmax convolution's value: its pre-activations at this position, over the channels.
  const filters = layer.output[2];
  const at = (row * layer.output[1] + column) * filters;
  const z = state.steps[state.model.layers.indexOf(layer)].z.subarray(at, at + filters);
  return activate("softmax", z, filters)[filter];
}

function explainPool(detail, layer, input, row, column, channel, value) {
  const [height, width, channels] = layer.input;
  const { size, stride, top, left } = windowOf(layer);
  const y0 = row * stride - top, x0 = column * stride - left;
  const winner = poolWinner(layer, input, row, column, channel);
  detail.append(windowCanvas(layer, input, row, column, channel));
  detail.append(make("p", {}, `Window over input rows ${y0} to ${y0 + size - 1}, columns ${x0} to ` +
    `${x0 + size - 1}, channel ${channel}; the largest wins (the first in reading order on ties):`));
  const table = make("table", { "data-role": "window" });
  for (let y = y0; y < y0 + size; y++) {
    const tr = make("tr");
    for (let x = x0; x < x0 + size; x++) {
      const at = (y * width + x) * channels + channel;
      if (y < 0 || y >= height || x < 0 || x >= width) tr.append(make("td", { class: "outside" }, "pad"));
      else tr.append(make("td", { class: at === winner ? "winner" : "", "data-value": input[at] }, format(input[at])));
    }
    table.append(tr);
  }
  detail.append(table);
  const [wonRow, wonColumn] = [Math.floor(winner / channels / width), Math.floor(winner / channels) % width];
  detail.append(make("p", { "data-role": "winner", "data-value": input[winner] },
    `Winner: input row ${wonRow}, column ${wonColumn}, value ${format(input[winner], 6)} = the map's ${format(value, 6)}.`));
}

// ---- the image: a test image, or a drawing ----

function showImage(position, kind) {
  const values = state.index.images.values.subarray(position * 784, position * 784 + 784);
  state.image = Float32Array.from(values);
  const index = state.index.images.test_index[position];
  const label = state.index.classes[state.index.images.labels[position]];
  element("input-caption").textContent = `${kind} image #${index}, labelled ${label}`;
  paintImage(element("drawing"), state.image);
}

function setUpDrawing() {
  const canvas = element("drawing");
  let drawing = false, queued = false;
  const stroke = (event) => {
    const x = (event.offsetX / canvas.clientWidth) * 28, y = (event.offsetY / canvas.clientHeight) * 28;
    for (let row = Math.floor(y - 2); row <= y + 2; row++)
      for (let column = Math.floor(x - 2); column <= x + 2; column++) {
        if (row < 0 || row >= 28 || column < 0 || column >= 28) continue;
        const distance = Math.hypot(column + 0.5 - x, row + 0.5 - y);
        const ink = Math.max(0, 1 - distance / 1.8);
        state.image[row * 28 + column] = Math.min(1, state.image[row * 28 + column] + ink);
      }
    paintImage(canvas, state.image);
    element("input-caption").textContent = "your drawing";
    if (!queued) {
      queued = true;
      requestAnimationFrame(() => { queued = false; render(); });
    }
  };
  canvas.addEventListener("pointerdown", (event) => { drawing = true; canvas.setPointerCapture(event.pointerId); stroke(event); });
  canvas.addEventListener("pointermove", (event) => { if (drawing) stroke(event); });
  canvas.addEventListener("pointerup", () => { drawing = false; });
  element("clear").addEventListener("click", () => { state.image.fill(0); paintImage(canvas, state.image); render(); });
  element("invert").addEventListener("click", () => {
    state.image = state.image.map((v) => 1 - v);
    paintImage(canvas, state.image);
    render();
  });
}

function thumbnail(position, title, kind) {
  const canvas = make("canvas", { width: 28, height: 28, title, "data-image": position });
  paintImage(canvas, state.index.images.values, position * 784);
  canvas.addEventListener("click", () => {
    if (state.chosenThumb) state.chosenThumb.classList.remove("chosen");
    canvas.classList.add("chosen");
    state.chosenThumb = canvas;
    showImage(position, kind);
    render();
  });
  return canvas;
}

function buildGallery(entry) {
  const { classes, images } = state.index;
  const rows = classes.map((name, c) => {
    const row = make("div", { class: "row" });
    row.append(make("span", { class: "label" }, name));
    images.labels.forEach((label, position) => {
      if (label === c && row.childElementCount <= state.index.per_class) row.append(thumbnail(position, `test #${images.test_index[position]}`, "test"));
    });
    return row;
  });
  const wrong = make("div", { class: "row", id: "misclassified" });
  wrong.append(make("span", { class: "label" }, `misclassified by ${entry.name}`));
  for (const { image, predicted: said } of entry.misclassified) {
    const figure = make("figure");
    const title = `test #${images.test_index[image]}: ${classes[images.labels[image]]}, said ${classes[said]}`;
    figure.append(thumbnail(image, title, "misclassified test"), make("figcaption", {}, `said ${classes[said]}`));
    wrong.append(figure);
  }
  element("gallery").replaceChildren(wrong, ...rows);
}

// ---- what the tests (and a console) may call ----

window.explorer = {
  ready: null,
  timings: state.timings,
  choose,
  state,
  predict(flat, count) {
    // Probabilities of the chosen model for `count` images given one after another, 784 values each.
    const results = [];
    for (let i = 0; i < count; i++) {
      const steps = forward(state.model, Float32Array.from(flat.slice(i * 784, (i + 1) * 784)));
      results.push(Array.from(steps[steps.length - 1].y));
    }
    return results;
  },
  gradCam(flat, chosen) {
    return gradCam(state.model, Float32Array.from(flat), chosen);
  },
  show(pixels) {
    state.image = Float32Array.from(pixels);
    paintImage(element("drawing"), state.image);
    render();
    return Array.from(state.steps[state.steps.length - 1].y);
  },
  probabilities() {
    return Array.from(state.steps[state.steps.length - 1].y);
  },
  explainCell,
};
