// The alert queue, the counts panel and the event list rendered to HTML in node (React's server
// renderer): what an operator reads, in French, without a browser. The e2e test covers the live path.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { accessEvent, cameraEvent, lineCountsEvent, movementEvent } from '../live/event-fixtures.js';
import { reduceLineCounts } from '../live/line-counts.js';
import { buildQueue } from '../live/alerts.js';
import type { LiveEvent } from '../live/wire.js';
import { AlertQueue } from './alert-queue.js';
import { EventsList } from './events-list.js';
import { LineCountsPanel } from './line-counts-panel.js';

/** The text of every element carrying `data-testid="{id}"`, in document order. */
function textsOf(html: string, id: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<(\\w+)[^>]*data-testid="${id}"[^>]*>`, 'g');
  for (const m of html.matchAll(re)) {
    const tag = m[1]!;
    let depth = 1;
    let i = m.index + m[0].length;
    const open = new RegExp(`<${tag}[\\s>]|</${tag}>`, 'g');
    open.lastIndex = i;
    let end = html.length;
    for (let n = open.exec(html); n; n = open.exec(html)) {
      depth += n[0].startsWith('</') ? -1 : 1;
      if (depth === 0) {
        end = n.index;
        break;
      }
    }
    out.push(
      html
        .slice(i, end)
        .replace(/<[^>]+>/g, '')
        .replace(/&#x27;/g, "'")
        .replace(/\s+/g, ' ')
        .trim(),
    );
    i = end;
  }
  return out;
}

const tailgating = movementEvent(30, {
  kind: 'tailgating',
  rule: 'gate-tailgating',
  trackId: 'k2v7k2v7k2v7k2v7',
  excess: 2,
});
const wrongWay = movementEvent(20, { kind: 'wrong_way', rule: 'entry', direction: 'out', trackId: 'mh7jnistiwnmicq3' });
const zone = movementEvent(15, { kind: 'zone_entry', rule: 'toiture', trackId: 'abcdabcdabcdabcd' });
const mismatch = accessEvent(10, {
  decision: 'mismatch',
  biometric: true,
  credentialId: 'c-5k2m9q',
  scores: { similarity: 0.12 },
});
const spoof = accessEvent(5, { decision: 'spoof_suspected', biometric: true, credentialId: 'c-77aa' });
const crossing = movementEvent(25, {
  kind: 'line_crossing',
  rule: 'entry',
  direction: 'in',
  trackId: 'zzzzzzzzzzzzzzzz',
});
const accepted = accessEvent(26, { decision: 'accepted', biometric: false, credentialId: 'c-aaaa' });

const queueOf = (events: LiveEvent[]) =>
  buildQueue({ site: null, server: [], events, agents: [], acked: new Set(), sinceMs: 0 });

describe('alert queue', () => {
  it('lists alerts newest first with readable French headlines, and nothing else', () => {
    const queue = queueOf([spoof, crossing, zone, mismatch, accepted, wrongWay, tailgating]);
    const html = renderToStaticMarkup(createElement(AlertQueue, { queue }));
    expect(textsOf(html, 'alert-label')).toEqual([
      'Talonnage : 2 personnes de plus que de badges',
      'Sens interdit',
      'Zone réglementée',
      'Visage différent du badge',
      'Fraude suspectée',
    ]);
    expect([...html.matchAll(/data-alert-kind="(\w+)"/g)].map((m) => m[1])).toEqual([
      'tailgating',
      'wrong_way',
      'zone_entry',
      'mismatch',
      'spoof_suspected',
    ]);
    expect(textsOf(html, 'alerts-count')).toEqual(['5']);
    // the anonymous track and pseudonymous credential ids are there to cross-check on camera
    expect(textsOf(html, 'event-track')).toContain('piste k2v7k2v7k2v7k2v7');
    expect(textsOf(html, 'event-credential')).toContain('badge c-5k2m9q');
    expect(textsOf(html, 'event-rule')).toContain('zone toiture');
    expect(html).not.toContain('zzzzzzzzzzzzzzzz');
    expect(html).not.toMatch(/<img|data:image/);
  });

  it('says when there is nothing to look at', () => {
    const html = renderToStaticMarkup(createElement(AlertQueue, { queue: [] }));
    expect(textsOf(html, 'alerts-empty')).toEqual(['Aucune alerte.']);
  });

  it('groups by kind with counts, people above equipment, and offers acknowledgement when allowed', () => {
    const tailgating2 = movementEvent(40, { kind: 'tailgating', rule: 'gate-tailgating', excess: 1 });
    const camera = cameraEvent(50, { state: 'offline', code: 'UNREACHABLE' });
    const queue = queueOf([tailgating, mismatch, tailgating2, camera]);
    const ro = renderToStaticMarkup(createElement(AlertQueue, { queue }));
    // the newest alert's group first; within a group, newest first
    expect([...ro.matchAll(/data-testid="alert-group" data-kind="(\w+)"/g)].map((m) => m[1])).toEqual([
      'tailgating',
      'mismatch',
      'camera_offline',
    ]);
    expect(textsOf(ro, 'alert-group-count')).toEqual(['(2)', '(1)', '(1)']);
    expect(textsOf(ro, 'alerts-count-people')).toEqual(['3']);
    expect(textsOf(ro, 'alerts-count-equipment')).toEqual(['1']);
    expect(textsOf(ro, 'alert-label')).toEqual([
      'Talonnage : 1 personne de plus que de badges',
      'Talonnage : 2 personnes de plus que de badges',
      'Visage différent du badge',
      'Caméra hors service',
    ]);
    expect(ro).not.toContain('data-testid="alert-ack"');
    const rw = renderToStaticMarkup(createElement(AlertQueue, { queue, onAck: async () => ({ ok: true as const }) }));
    expect(textsOf(rw, 'alert-ack')).toEqual(['Acquitter', 'Acquitter', 'Acquitter', 'Acquitter']);
  });
});

describe('line counts panel', () => {
  it('shows one row per line with its latest counts as data attributes', () => {
    const counts = reduceLineCounts({}, [
      lineCountsEvent(1, 'entry', 1, 0),
      lineCountsEvent(2, 'entry', 3, 2),
      lineCountsEvent(2, 'exit', 0, 4, { camera: 'cour' }),
    ]);
    const html = renderToStaticMarkup(createElement(LineCountsPanel, { counts }));
    expect(html).toMatch(/data-testid="line-count-lycee-a-gate-1-hall-entry" data-in="3" data-out="2"/);
    expect(html).toMatch(/data-testid="line-count-lycee-a-gate-1-cour-exit" data-in="0" data-out="4"/);
    expect(textsOf(html, 'line-count-in')).toEqual(['0', '3']);
    expect(html).toContain('Comptages');
  });
});

describe('event list', () => {
  it('reads access verdicts and movement events instead of printing payloads', () => {
    const html = renderToStaticMarkup(
      createElement(EventsList, { events: [tailgating, accepted, crossing, mismatch] }),
    );
    expect([...html.matchAll(/data-decision="(\w+)" data-tone="(\w+)"/g)].map((m) => `${m[1]}:${m[2]}`)).toEqual([
      'accepted:ok',
      'mismatch:bad',
    ]);
    expect(textsOf(html, 'event-decision')).toEqual(['badge valide', 'visage différent']);
    expect(textsOf(html, 'event-biometric')).toEqual(['badge seul', 'vérification faciale 1:1']);
    expect(textsOf(html, 'event-movement-kind')).toEqual(['talonnage', 'franchissement de ligne']);
    expect(textsOf(html, 'event-direction')).toEqual(['sens : entrée']);
    expect(textsOf(html, 'event-track')).toEqual(['piste k2v7k2v7k2v7k2v7', 'piste zzzzzzzzzzzzzzzz']);
    expect(textsOf(html, 'event-rule')).toEqual(['règle gate-tailgating', 'ligne entry']);
    // no raw payload: no JSON keys, no boxes
    expect(html).not.toMatch(/"kind"|passageId|"box"/);
  });
});
