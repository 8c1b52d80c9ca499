import { Writable } from 'node:stream';
import { resolveModel } from '@portail/models';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openOnnxSession } from './onnx-session.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('execution provider fallback (real onnxruntime, real model)', () => {
  it("['cuda', 'cpu'] on a machine without CUDA runs on CPU and logs why CUDA failed", async () => {
    const model = await resolveModel('yunet-2023mar-dynamic');
    const { logger, lines } = capturingLogger();
    const opened = await openOnnxSession(model.path, { providers: ['cuda', 'cpu'], intraOpThreads: 1, logger });
    try {
      expect(opened.provider).toBe('cpu');
      expect(opened.failures).toHaveLength(1);
      expect(opened.failures[0]!.provider).toBe('cuda');
      expect(opened.failures[0]!.reason.length).toBeGreaterThan(5);
      const warn = lines.find((l) => l.msg === 'execution provider unavailable');
      expect(warn).toMatchObject({ provider: 'cuda', reason: opened.failures[0]!.reason });
      // the session really runs
      expect(opened.session.inputNames).toContain('input');
    } finally {
      await opened.session.release();
    }
  });

  it('appends cpu as the last resort when the list does not name it', async () => {
    const model = await resolveModel('yunet-2023mar-dynamic');
    const opened = await openOnnxSession(model.path, { providers: ['webgpu'], intraOpThreads: 1 });
    try {
      expect(opened.provider).toBe('cpu');
      expect(opened.failures.map((f) => f.provider)).toEqual(['webgpu']);
    } finally {
      await opened.session.release();
    }
  });
});
