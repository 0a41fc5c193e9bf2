import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { ElLoading } from 'element-plus';
import 'element-plus/es/components/loading/style/css.mjs';
import '../shared/base.css';
import { createAppI18n } from '../shared/i18n.ts';
import App from './App.vue';
import { adminMessages } from './locales.ts';
import { createAdminRouter } from './router.ts';

const app = createApp(App);
app.use(createPinia());
app.use(createAdminRouter());
app.use(createAppI18n(adminMessages));
app.use(ElLoading);
app.mount('#app');
