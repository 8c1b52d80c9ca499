import type { Tone } from '../../event-labels.js';

/**
 * Optional sound per verdict, off by default (a browser plays sound only after a user gesture anyway):
 * one short high tone when the person may pass, two low tones for a refusal or a suspected fraud, a
 * middle tone when the capture failed. Synthesised with Web Audio: no sound file to ship or license.
 */
const PATTERNS: Record<Tone, ReadonlyArray<{ hz: number; ms: number }>> = {
  ok: [{ hz: 880, ms: 120 }],
  info: [{ hz: 660, ms: 120 }],
  warn: [{ hz: 520, ms: 220 }],
  bad: [
    { hz: 300, ms: 220 },
    { hz: 240, ms: 320 },
  ],
};

const STORAGE_KEY = 'portail.gate.sound';

export function soundPreference(): boolean {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) === 'on';
  } catch {
    // storage disabled by the browser's privacy settings: sound stays off
    return false;
  }
}

export function storeSoundPreference(on: boolean): void {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, on ? 'on' : 'off');
  } catch {
    // not persisted: the choice holds for this page only
  }
}

let ctx: AudioContext | null = null;

export function playTone(tone: Tone): void {
  const Ctor = globalThis.AudioContext;
  if (!Ctor) return;
  ctx ??= new Ctor();
  let t = ctx.currentTime;
  for (const { hz, ms } of PATTERNS[tone]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.25, t);
    gain.gain.exponentialRampToValueAtTime(0.001, t + ms / 1000);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + ms / 1000);
    t += ms / 1000 + 0.05;
  }
}
