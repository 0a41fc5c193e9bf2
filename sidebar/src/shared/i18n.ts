import { createI18n, type I18nOptions } from 'vue-i18n';
import { commonMessages } from './locales.ts';

export type Locale = 'zh-CN' | 'en';
export const LOCALES: { value: Locale; label: string }[] = [
  { value: 'zh-CN', label: '中文' },
  { value: 'en', label: 'English' },
];

const STORAGE_KEY = 'wtg.locale';

/** Chinese unless English was chosen on this device (the choice is remembered). */
export function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'zh-CN' || saved === 'en') return saved;
  } catch { /* storage may be blocked */ }
  return 'zh-CN';
}

type Messages = Record<string, unknown>;

function merge(a: Messages, b: Messages): Messages {
  const out: Messages = { ...a };
  for (const [key, value] of Object.entries(b)) {
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && typeof out[key] === 'object' ? merge(out[key] as Messages, value as Messages) : value;
  }
  return out;
}

export function createAppI18n(surface: { 'zh-CN': Messages; en: Messages }, locale: Locale = initialLocale()) {
  const messages = {
    'zh-CN': merge(commonMessages['zh-CN'], surface['zh-CN']),
    en: merge(commonMessages.en, surface.en),
  } as unknown as NonNullable<I18nOptions['messages']>;
  const i18n = createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'zh-CN',
    messages,
    missingWarn: false,
    fallbackWarn: false,
  });
  setDocumentLanguage(locale);
  return i18n;
}

export function setDocumentLanguage(locale: Locale): void {
  if (typeof document !== 'undefined') document.documentElement.lang = locale;
}

export function saveLocale(locale: Locale): void {
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch { /* storage may be blocked */ }
  setDocumentLanguage(locale);
}
