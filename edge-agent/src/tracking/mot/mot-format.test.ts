import { describe, expect, it } from 'vitest';
import {
  formatMotRows,
  parseDetections,
  parseGroundTruth,
  parseMotRows,
  parseSeqInfo,
  rowsByFrame,
} from './mot-format.js';

describe('mot-format', () => {
  it('parses ground truth, detections and tracker output rows', () => {
    const gt = parseGroundTruth(
      '1,1,399,182,121,229,1,-1,-1,-1\n1,2,10,20,30,40,0,-1,-1,-1\n\n2,1,400,183,120,228,1,-1,-1,-1\n',
    );
    expect(gt).toEqual({
      ok: true,
      value: [
        { frame: 1, id: 1, box: { x: 399, y: 182, w: 121, h: 229 }, score: 1 },
        { frame: 2, id: 1, box: { x: 400, y: 183, w: 120, h: 228 }, score: 1 },
      ],
    });
    const det = parseDetections('1,-1,281.931,187.466,79.93,209.537,0.997784,-1,-1,-1');
    expect(det.ok && det.value[0]).toEqual({
      frame: 1,
      id: -1,
      box: { x: 281.931, y: 187.466, w: 79.93, h: 209.537 },
      score: 0.997784,
    });
    // space-separated files exist too
    expect(parseMotRows('3 7 1 2 3 4 0.5').ok).toBe(true);
  });

  it('reports the line of a malformed row', () => {
    expect(parseMotRows('1,1,2,3,4,5,1\n2,1,x,3,4,5,1', 'gt.txt')).toEqual({
      ok: false,
      error: expect.stringMatching(/^gt\.txt:2: /),
    });
    expect(parseMotRows('0,1,2,3,4,5,1')).toMatchObject({ ok: false, error: expect.stringMatching(/frame must be/) });
  });

  it('groups rows by frame and writes the tracker format back', () => {
    const parsed = parseMotRows('2,5,1.234,2,3,4,0.9,-1,-1,-1\n2,6,5,6,7,8,0.8,-1,-1,-1');
    if (!parsed.ok) throw new Error(parsed.error);
    const byFrame = rowsByFrame(parsed.value, 3);
    expect(byFrame.map((f) => f.length)).toEqual([0, 0, 2, 0]);
    expect(formatMotRows(parsed.value)).toBe('2,5,1.23,2,3,4,0.9,-1,-1,-1\n2,6,5,6,7,8,0.8,-1,-1,-1\n');
  });

  it('reads seqinfo.ini', () => {
    const text =
      '[Sequence]\nname=TUD-Campus\nimDir=img1\nframeRate=25\nseqLength=71\nimWidth=640\nimHeight=480\nimExt=.jpg\n';
    expect(parseSeqInfo(text)).toEqual({
      ok: true,
      value: { name: 'TUD-Campus', frameRate: 25, seqLength: 71, imWidth: 640, imHeight: 480 },
    });
    expect(parseSeqInfo('[Sequence]\nname=x\nframeRate=0\n')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/frameRate/),
    });
  });
});
