import { useSyncExternalStore } from 'react';
import adminEn from './admin.en.json';
import adminFr from './admin.fr.json';
import commonEn from './en.json';
import commonFr from './fr.json';
import fleetEn from './fleet.en.json';
import fleetFr from './fleet.fr.json';
import gateEn from './gate.en.json';
import gateFr from './gate.fr.json';
import liveEn from './live.en.json';
import liveFr from './live.fr.json';
import shellEn from './shell.en.json';
import shellFr from './shell.fr.json';

// one dictionary per area (common + shell, gate, live, admin, fleet), merged: each view's keys
// live in its own pair of files so that work on one view never collides with another's
const fr = { ...commonFr, ...shellFr, ...gateFr, ...liveFr, ...adminFr, ...fleetFr };
const en = { ...commonEn, ...shellEn, ...gateEn, ...liveEn, ...adminEn, ...fleetEn };

export type Lang = 'fr' | 'en';
export type MessageKey = keyof typeof fr;
export const LANGS: readonly Lang[] = ['fr', 'en'];
/** French first: the console is for French schools; English is the second language. */
export const DEFAULT_LANG: Lang = 'fr';
const STORAGE_KEY = 'portail.lang';

// `en` must carry every French key: a missing translation is a type error, not a blank label
const DICTS: Record<Lang, Record<MessageKey, string>> = { fr, en: en satisfies Record<MessageKey, string> };

export type Params = Record<string, string | number>;

/** Pure lookup with `{name}` interpolation; an unknown key shows itself so it is noticed. */
export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  const text = DICTS[lang][key] ?? DICTS[DEFAULT_LANG][key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

export function localeOf(lang: Lang): string {
  return lang === 'fr' ? 'fr-FR' : 'en-GB';
}

function readStoredLang(): Lang {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === 'fr' || v === 'en' ? v : DEFAULT_LANG;
  } catch {
    // storage can be disabled (privacy settings): fall back to the default language
    return DEFAULT_LANG;
  }
}

let current: Lang = readStoredLang();
const listeners = new Set<() => void>();

export function getLang(): Lang {
  return current;
}

export function setLang(lang: Lang): void {
  current = lang;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // not persisted: the choice still holds for this page
  }
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
  for (const l of listeners) l();
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Current language, `t` bound to it, and the switch; re-renders on change. */
export function useI18n(): { lang: Lang; t: (key: MessageKey, params?: Params) => string; setLang: (l: Lang) => void } {
  const lang = useSyncExternalStore(subscribe, getLang, getLang);
  return { lang, t: (key, params) => translate(lang, key, params), setLang };
}

/** `t` for the current language, outside React. */
export function t(key: MessageKey, params?: Params): string {
  return translate(current, key, params);
}
