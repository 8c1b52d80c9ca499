import { dequantiseTemplate, quantiseTemplate, type FaceTemplate } from './embed-template.js';

/**
 * The clear form of a template inside its ciphertext. `f32`: the float32 vector, little endian.
 * `i8`: a float32 scale then one int8 per dimension (4× smaller; eval:faces reports its cost).
 */
export type TemplateEncoding = 'f32' | 'i8';

export function serialiseTemplate(t: FaceTemplate, encoding: TemplateEncoding): Uint8Array {
  if (encoding === 'f32') {
    const out = new Uint8Array(t.vector.length * 4);
    const view = new DataView(out.buffer);
    t.vector.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return out;
  }
  const q = quantiseTemplate(t);
  const out = new Uint8Array(4 + q.data.length);
  new DataView(out.buffer).setFloat32(0, q.scale, true);
  out.set(new Uint8Array(q.data.buffer, q.data.byteOffset, q.data.length), 4);
  return out;
}

/** Parse a clear template; the caller zeroes `plain` (and the returned vector) after use. */
export function parseTemplate(plain: Uint8Array, encoding: TemplateEncoding, model: { modelId: string; sha256: string }): FaceTemplate {
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  if (encoding === 'f32') {
    if (plain.length % 4 !== 0) throw new RangeError('f32 template length is not a multiple of 4');
    const vector = new Float32Array(plain.length / 4);
    for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
    return { modelId: model.modelId, sha256: model.sha256, dim: vector.length, vector };
  }
  if (plain.length < 5) throw new RangeError('i8 template too short');
  const data = new Int8Array(plain.length - 4);
  for (let i = 0; i < data.length; i++) data[i] = view.getInt8(4 + i);
  const t = dequantiseTemplate({ modelId: model.modelId, sha256: model.sha256, dim: data.length, scale: view.getFloat32(0, true), data });
  data.fill(0);
  return t;
}
