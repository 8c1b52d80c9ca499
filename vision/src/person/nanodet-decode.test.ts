import { describe, expect, it } from 'vitest';
import { VisionError } from '../vision-error.js';
import { decodeNanodet, type RawTensor } from './nanodet-decode.js';

/**
 * A 32×32 input: stride 8 has 4×4 cells, 16 has 2×2, 32 has 1. Tensors are listed in a scrambled
 * order with misleading names, as in the real 320 export, to show they are picked by shape.
 */
function tensors(): { list: RawTensor[]; cls8: Float32Array; reg8: Float32Array } {
  const cls8 = new Float32Array(16 * 80);
  const reg8 = new Float32Array(16 * 32);
  const list: RawTensor[] = [
    { dims: [4, 32], data: new Float32Array(4 * 32) },
    { dims: [1, 80], data: new Float32Array(80) },
    { dims: [16, 80], data: cls8 },
    { dims: [1, 32], data: new Float32Array(32) },
    { dims: [16, 32], data: reg8 },
    { dims: [4, 80], data: new Float32Array(4 * 80) },
  ];
  return { list, cls8, reg8 };
}

/** One side's 8 logits. */
const uniform = [0, 0, 0, 0, 0, 0, 0, 0]; // expectation 3.5 bins
const onlyBin2 = [0, 0, 1000, 0, 0, 0, 0, 0]; // 2 bins
const bins1and3 = [-50, 50, -50, 50, -50, -50, -50, -50]; // (1 + 3) / 2 = 2 bins
const onlyBin0 = [1000, 0, 0, 0, 0, 0, 0, 0]; // 0 bins

describe('decodeNanodet', () => {
  // stride 8, cell x 1, y 2 → idx 9; centre (8 + 3.5, 16 + 3.5) = (11.5, 19.5)
  // l = 3.5·8 = 28, t = 2·8 = 16, r = 2·8 = 16, b = 0 → corners (−16.5, 3.5) – (27.5, 19.5)
  function withPerson(score: number) {
    const t = tensors();
    t.cls8[9 * 80 + 0] = score;
    t.cls8[9 * 80 + 1] = 0.99; // a bicycle in the same cell: ignored
    t.reg8.set([...uniform, ...onlyBin2, ...bins1and3, ...onlyBin0], 9 * 32);
    return t;
  }

  it('decodes distances as the expectation of the softmax over bins, from the cell centre', () => {
    const found = decodeNanodet(withPerson(0.7).list, 32, 32, { scoreThreshold: 0.3, nmsIou: 0.45 });
    expect(found).toHaveLength(1);
    expect(found[0]!.score).toBeCloseTo(0.7, 6);
    const b = found[0]!.box;
    expect([b.x, b.y, b.w, b.h].map((v) => Number(v.toFixed(4)))).toEqual([-16.5, 3.5, 44, 16]);
  });

  it('undoes a centred letterbox (offset, then scale) and clips to the frame', () => {
    const [p] = decodeNanodet(withPerson(0.7).list, 32, 32, {
      scoreThreshold: 0.3,
      nmsIou: 0.45,
      map: { offsetX: 0, offsetY: 4, scaleX: 2, scaleY: 2 },
      clip: { width: 64, height: 64 },
    });
    // x: −33 → 0 … 55; y: (3.5 − 4)·2 = −1 → 0 … (19.5 − 4)·2 = 31
    expect([p!.box.x, p!.box.y, p!.box.w, p!.box.h].map((v) => Number(v.toFixed(4)))).toEqual([0, 0, 55, 31]);
  });

  it('applies the threshold on the person class only', () => {
    expect(decodeNanodet(withPerson(0.2).list, 32, 32, { scoreThreshold: 0.3, nmsIou: 0.45 })).toEqual([]);
    const bikes = decodeNanodet(withPerson(0.2).list, 32, 32, { scoreThreshold: 0.3, nmsIou: 0.45, classIndex: 1 });
    expect(bikes.map((d) => d.score)).toEqual([expect.closeTo(0.99, 6)]);
  });

  it('fails clearly when a level tensor is missing', () => {
    const t = tensors();
    const list = t.list.filter((x) => x.dims[0] !== 4 || x.dims[1] !== 32);
    expect(() => decodeNanodet(list, 32, 32, { scoreThreshold: 0.3, nmsIou: 0.45 })).toThrow(VisionError);
    expect(() => decodeNanodet(list, 32, 32, { scoreThreshold: 0.3, nmsIou: 0.45 })).toThrow(
      /expected one tensor \[4,32\] for stride 16, found 0/,
    );
  });
});
