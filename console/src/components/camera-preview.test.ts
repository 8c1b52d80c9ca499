import { describe, expect, it } from 'vitest';
import { previewUrl } from './camera-preview.js';

describe('camera preview URL', () => {
  it('same origin, ws or wss after the page, ids escaped', () => {
    expect(previewUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 's1', 'gate-1', 'hall')).toBe(
      'ws://127.0.0.1:8080/ws/preview?site=s1&agent=gate-1&camera=hall',
    );
    expect(previewUrl({ protocol: 'https:', host: 'portail.lycee.fr' }, 's 1', 'a&b', 'c')).toBe(
      'wss://portail.lycee.fr/ws/preview?site=s+1&agent=a%26b&camera=c',
    );
  });
});
