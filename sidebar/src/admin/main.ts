import { createApp, h } from 'vue';
createApp({ render: () => h('p', 'admin') }).mount('#app');
