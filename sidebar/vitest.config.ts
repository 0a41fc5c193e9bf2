import { defineProject, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config.ts';

/** Component tests of the web app: jsdom, the same Vue and component-library plugins as the build. */
export default mergeConfig(viteConfig, defineProject({
  test: {
    name: 'web',
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test-setup.ts'],
    // The libraries import their CSS from their ES builds: let Vite handle them instead of Node.
    server: { deps: { inline: ['vant', 'element-plus'] } },
  },
}));
