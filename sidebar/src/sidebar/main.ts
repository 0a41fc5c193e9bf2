import { createApp } from 'vue';
import { createPinia } from 'pinia';
import '../shared/base.css';
import { createAppI18n } from '../shared/i18n.ts';
import App from './App.vue';
import { sidebarMessages } from './locales.ts';
import { createSidebarRouter } from './router.ts';

const app = createApp(App);
app.use(createPinia());
app.use(createSidebarRouter());
app.use(createAppI18n(sidebarMessages));
app.mount('#app');
