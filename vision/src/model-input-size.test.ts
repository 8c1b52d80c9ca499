import { findEntry, type ModelEntry } from '@portail/models';
import { describe, expect, it } from 'vitest';
import { modelInputSize } from './model-input-size.js';
import { VisionError } from './vision-error.js';

const yolox480 = findEntry('yolox-nano-480x640')!;
const yunet = findEntry('yunet-2023mar-dynamic')!;

describe('modelInputSize', () => {
  it('reads H and W from the manifest when the session does not declare them', () => {
    expect(modelInputSize(yolox480, {})).toEqual({ height: 480, width: 640 });
  });
  it('takes the session metadata when it agrees with the manifest', () => {
    expect(modelInputSize(yolox480, { height: 480, width: 640 })).toEqual({ height: 480, width: 640 });
  });
  it('uses the session size when the manifest gives symbolic dims', () => {
    const entry: ModelEntry = { ...yunet, input: { ...yunet.input, shape: [1, 3, 'H', 'W'] } };
    expect(modelInputSize(entry, { height: 96, width: 128 })).toEqual({ height: 96, width: 128 });
  });
  it('refuses a session whose input disagrees with the manifest (wrong file)', () => {
    expect(() => modelInputSize(yolox480, { height: 416, width: 416 })).toThrow(VisionError);
    expect(() => modelInputSize(yolox480, { height: 416, width: 416 })).toThrow(/416×416 but the manifest says 640×480/);
  });
  it('refuses when neither gives a size', () => {
    expect(() => modelInputSize(yunet, {})).toThrow(/neither the model nor the manifest/);
  });
});
