import { describe, expect, it } from 'vitest';
import { decodeRegistryBytes, normaliseHeader, parseBirthDate, parseRegistryCsv } from './registry-csv.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
/** Windows-1252 bytes for the Latin-1 range (what Excel writes in France) */
const cp1252 = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

describe('registry CSV', () => {
  it('reads a SIECLE-style export: Windows-1252, semicolons, French headers in capitals', () => {
    const r = parseRegistryCsv(
      cp1252('NOM;PRÉNOM;DIVISION;DATE NAISS;INE\r\nLÉVÊQUE;Zoé;2NDE3;05/09/2009;123456789AB\r\n'),
    );
    expect(r).toMatchObject({ ok: true, encoding: 'windows-1252', delimiter: ';', errors: [] });
    expect(r.ok && r.records[0]).toEqual({
      externalId: '123456789AB',
      lastName: 'LÉVÊQUE',
      firstName: 'Zoé',
      className: '2NDE3',
      birthDate: '2009-09-05',
      line: 2,
    });
  });

  it('reads UTF-8 with a BOM, commas, quoted fields and reordered columns', () => {
    const r = parseRegistryCsv(
      utf8(
        '\uFEFFIdentifiant élève,Classe,Prénom,Nom,Date de naissance\n"E-1","1G2","Anaïs","N\'Diaye, Dupont",2008-02-29\n',
      ),
    );
    expect(r.ok && r.records[0]).toMatchObject({
      externalId: 'E-1',
      lastName: "N'Diaye, Dupont",
      firstName: 'Anaïs',
      birthDate: '2008-02-29',
    });
    expect(r.ok && r.encoding).toBe('utf-8');
  });

  it('reports each bad row with its line and column, and keeps the good ones', () => {
    const csv = [
      'nom;prenom;classe;date de naissance;identifiant eleve',
      'A;B;2A;01/01/2009;1',
      ';B;2A;01/01/2009;2',
      'C;D;2A;31/02/2009;3',
      'E;F;2A;01/01/2009;1',
      'G;H;2A;01/01/2009;4',
    ].join('\n');
    const r = parseRegistryCsv(utf8(csv));
    expect(r.ok && r.records.map((x) => x.externalId)).toEqual(['1', '4']);
    expect(r.ok && r.errors).toEqual([
      { line: 3, column: 'nom', reason: 'empty', externalId: '2' },
      { line: 4, column: 'date de naissance', reason: 'not a date (dd/mm/yyyy): "31/02/2009"', externalId: '3' },
      { line: 5, column: 'identifiant élève', reason: 'same id as line 2', externalId: '1' },
    ]);
  });

  it('names the missing columns, and accepts a site mapping for unusual headers', () => {
    const csv = utf8('Surname;Given name;Form;DOB;Pupil number\nA;B;2A;01/01/2009;1\n');
    const r = parseRegistryCsv(csv);
    expect(r).toMatchObject({ ok: false, error: { code: 'REGISTRY_ERR_COLUMNS' } });
    expect(!r.ok && r.error.message).toMatch(/identifiant élève, nom, prénom, classe, date de naissance/);
    const mapped = parseRegistryCsv(csv, {
      columns: {
        lastName: ['surname'],
        firstName: ['given name'],
        className: ['form'],
        birthDate: ['dob'],
        externalId: ['pupil number'],
      },
    });
    expect(mapped.ok && mapped.records).toHaveLength(1);
  });

  it('refuses empty files and files over the row limit', () => {
    expect(parseRegistryCsv(utf8(''))).toMatchObject({ ok: false, error: { code: 'REGISTRY_ERR_EMPTY' } });
    const big = [
      'nom;prenom;classe;date de naissance;ine',
      ...Array.from({ length: 11 }, (_, i) => `A;B;C;01/01/2009;${i}`),
    ].join('\n');
    expect(parseRegistryCsv(utf8(big), { maxRows: 10 })).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_TOO_LARGE' },
    });
  });

  it('helpers: header normalisation, encoding detection, dates', () => {
    expect(normaliseHeader('  Date_de  NAISSANCE ')).toBe('date de naissance');
    expect(normaliseHeader('Prénom')).toBe('prenom');
    expect(decodeRegistryBytes(cp1252('é')).text).toBe('é');
    expect(decodeRegistryBytes(utf8('é')).encoding).toBe('utf-8');
    expect(parseBirthDate('5/9/2009')).toBe('2009-09-05');
    expect(parseBirthDate('2009-13-01')).toBeNull();
    expect(parseBirthDate('01/01/2999')).toBeNull();
  });

  it('refuses UTF-16, Excel workbooks and bytes that are neither UTF-8 nor Windows-1252, saying what to do', () => {
    const text = 'nom;prenom;classe;date de naissance;ine\r\nA;B;2A;01/01/2009;1\r\n';
    const utf16 = Uint8Array.from([0xff, 0xfe, ...[...text].flatMap((c) => [c.charCodeAt(0), 0])]);
    expect(parseRegistryCsv(utf16)).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_ENCODING', message: expect.stringMatching(/UTF-16.*CSV UTF-8/) },
    });
    const utf16NoBom = utf16.subarray(2);
    expect(parseRegistryCsv(utf16NoBom)).toMatchObject({ ok: false, error: { code: 'REGISTRY_ERR_ENCODING' } });
    const xlsx = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 6, 0]);
    expect(parseRegistryCsv(xlsx)).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_FORMAT', message: expect.stringMatching(/xlsx/) },
    });
    // 0x81 and 0x9D are unassigned in Windows-1252 (and invalid UTF-8 here): not a registry export
    const foreign = Uint8Array.from([
      ...utf8('nom;prenom;classe;date de naissance;ine\nA'),
      0x81,
      0x9d,
      ...utf8(';B;2A;01/01/2009;1\n'),
    ]);
    expect(parseRegistryCsv(foreign)).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_ENCODING', message: expect.stringMatching(/^line 2:/) },
    });
  });

  it('reports file lines, not record indexes, when blank lines are present', () => {
    const r = parseRegistryCsv(
      utf8('nom;prenom;classe;date de naissance;ine\n\nA;B;2A;01/01/2009;1\n\n;B;2A;01/01/2009;2\n'),
    );
    expect(r.ok && r.records[0]!.line).toBe(3);
    expect(r.ok && r.errors).toEqual([{ line: 5, column: 'nom', reason: 'empty', externalId: '2' }]);
  });
});
