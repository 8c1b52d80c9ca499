/** Small helpers for the Markdown documents of this module (export summary, register). Pure. */

/** Text safe inside a table cell: no pipe, no line break, no HTML. */
export function cell(value: Cell): string {
  const text = value === null || value === undefined || value === '' ? '—' : String(value);
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, ' ');
}

export type Cell = string | number | boolean | null | undefined;

export function table(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const head = `| ${headers.map(cell).join(' | ')} |`;
  const rule = `| ${headers.map(() => '---').join(' | ')} |`;
  return [head, rule, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** `2026-03-02 08:30` in the site's time zone. */
export function localDateTime(iso: string, timeZone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

export const yesNo = (b: boolean) => (b ? 'oui' : 'non');

/** French labels of the access decisions (protocol `ACCESS_DECISIONS`). */
export const DECISION_FR: Readonly<Record<string, string>> = {
  accepted: 'badge accepté',
  confirmed: 'visage confirmé',
  mismatch: 'visage non concordant',
  no_face: 'aucun visage',
  low_quality: 'qualité insuffisante',
  spoof_suspected: 'fraude suspectée',
  revoked: 'badge révoqué',
  unknown_credential: 'badge inconnu',
  expired: 'badge expiré',
};

export const decisionFr = (d: string) => DECISION_FR[d] ?? d;

/** `1 234,5` : numbers as a French reader writes them. */
export function numberFr(x: number | null, digits = 0): string {
  if (x === null) return '—';
  return new Intl.NumberFormat('fr-FR', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    .format(x)
    .replace(/\u202f|\u00a0/g, ' ');
}
