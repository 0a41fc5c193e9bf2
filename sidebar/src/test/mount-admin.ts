import { mount, type ComponentMountingOptions } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import type { Component } from 'vue';
import { adminMessages } from '../admin/locales.ts';
import { createAppI18n, type Locale } from '../shared/i18n.ts';

/** Mounts a console component with Pinia and the console's words. */
export function mountAdmin<C extends Component>(component: C, options: ComponentMountingOptions<C> & { locale?: Locale } = {}) {
  const pinia = createPinia();
  setActivePinia(pinia);
  const i18n = createAppI18n(adminMessages, options.locale ?? 'zh-CN');
  const { global, ...rest } = options;
  return mount(component, { ...rest, global: { ...global, plugins: [pinia, i18n, ...(global?.plugins ?? [])] } } as ComponentMountingOptions<C>);
}
