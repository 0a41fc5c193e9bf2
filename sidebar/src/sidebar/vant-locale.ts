import { Locale as VantLocale } from 'vant';
import enUS from 'vant/es/locale/lang/en-US';
import zhCN from 'vant/es/locale/lang/zh-CN';
import type { Locale } from '../shared/i18n.ts';

/** Vant's own words (loading, confirm, …) follow the app's language. */
export function useVantLocale() {
  return (locale: Locale): void => {
    if (locale === 'en') VantLocale.use('en-US', enUS);
    else VantLocale.use('zh-CN', zhCN);
  };
}
