/**
 * Face templates: an L2-normalised embedding that always carries the model that made it, because
 * embeddings of different models (or of two files under one name) live in unrelated spaces.
 */

export interface FaceTemplate {
  /** manifest name of the embedder */
  modelId: string;
  /** sha256 of the model file that produced the vector */
  sha256: string;
  dim: number;
  /** L2-normalised */
  vector: Float32Array;
}

export interface TemplateMismatch {
  code: 'EMBED_ERR_MODEL_MISMATCH' | 'EMBED_ERR_DIM_MISMATCH';
  message: string;
}

export type CompareResult = { ok: true; value: number } | { ok: false; error: TemplateMismatch };

/** Dot product; the cosine similarity for L2-normalised vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Scale to unit length in place; a zero vector stays zero (it then matches nothing). */
export function l2NormaliseInPlace(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}

/**
 * Cosine similarity of two templates, or a refusal when they come from different models (id or
 * file hash): a template enrolled with another embedder must be re-enrolled, never compared.
 */
export function compareTemplates(a: FaceTemplate, b: FaceTemplate): CompareResult {
  if (a.modelId !== b.modelId || a.sha256 !== b.sha256) {
    return {
      ok: false,
      error: {
        code: 'EMBED_ERR_MODEL_MISMATCH',
        message: `templates from different models: ${a.modelId} (${a.sha256.slice(0, 12)}) vs ${b.modelId} (${b.sha256.slice(0, 12)})`,
      },
    };
  }
  if (a.dim !== b.dim || a.vector.length !== a.dim || b.vector.length !== b.dim) {
    return {
      ok: false,
      error: {
        code: 'EMBED_ERR_DIM_MISMATCH',
        message: `template lengths ${a.vector.length}/${b.vector.length} for dim ${a.dim}/${b.dim}`,
      },
    };
  }
  return { ok: true, value: dot(a.vector, b.vector) };
}

/** Storage form: int8 with one symmetric scale per template (value ≈ data[i] · scale). */
export interface QuantisedTemplate {
  modelId: string;
  sha256: string;
  dim: number;
  scale: number;
  data: Int8Array;
}

/**
 * Symmetric per-template int8 quantisation: scale = max|vᵢ| / 127, so the largest component uses
 * the full range. A 512-d template shrinks from 2 KiB to 516 bytes; scripts/eval-faces.ts reports
 * what it costs in accuracy.
 */
export function quantiseTemplate(t: FaceTemplate): QuantisedTemplate {
  let maxAbs = 0;
  for (let i = 0; i < t.vector.length; i++) maxAbs = Math.max(maxAbs, Math.abs(t.vector[i]!));
  const scale = maxAbs > 0 ? maxAbs / 127 : 1;
  const data = new Int8Array(t.vector.length);
  for (let i = 0; i < t.vector.length; i++) data[i] = Math.max(-127, Math.min(127, Math.round(t.vector[i]! / scale)));
  return { modelId: t.modelId, sha256: t.sha256, dim: t.dim, scale, data };
}

/** Back to a float template, re-normalised so the cosine stays a plain dot product. */
export function dequantiseTemplate(q: QuantisedTemplate): FaceTemplate {
  const vector = new Float32Array(q.data.length);
  for (let i = 0; i < q.data.length; i++) vector[i] = q.data[i]! * q.scale;
  return { modelId: q.modelId, sha256: q.sha256, dim: q.dim, vector: l2NormaliseInPlace(vector) };
}
