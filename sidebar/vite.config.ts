import { writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { VantResolver } from '@vant/auto-import-resolver';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';
import { defineConfig, type Plugin } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));

/** The sidebar's JavaScript budget (gzip), issue 6: it loads on phones inside WeCom. */
export const SIDEBAR_JS_BUDGET_BYTES = 150 * 1024;

interface SurfaceSize { initialJs: number; totalJs: number; css: number; files: number }

/**
 * Prints, per surface, the gzip size of its JavaScript: `initial` (the entry and what it imports
 * statically) and `total` (also every lazily loaded screen), and writes them to dist/sizes.json,
 * which a test checks against the sidebar's budget.
 */
function sizeReport(): Plugin {
  return {
    name: 'wtg-size-report',
    apply: 'build',
    writeBundle(options, bundle) {
      const gz = (code: string | Uint8Array) => gzipSync(code, { level: 9 }).length;
      const sizes: Record<string, SurfaceSize> = {};
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.isEntry || !chunk.facadeModuleId) continue;
        const surface = relative(root, chunk.facadeModuleId).split(/[\\/]/)[0]!;
        const walk = (names: string[], seen: Set<string>, dynamic: boolean) => {
          for (const name of names) {
            if (seen.has(name)) continue;
            seen.add(name);
            const next = bundle[name];
            if (next?.type === 'chunk') walk([...next.imports, ...(dynamic ? next.dynamicImports : [])], seen, dynamic);
          }
        };
        const initial = new Set<string>();
        walk([chunk.fileName], initial, false);
        const total = new Set<string>();
        walk([chunk.fileName], total, true);
        const css = new Set<string>();
        for (const name of total) {
          const item = bundle[name];
          if (item?.type === 'chunk') for (const file of item.viteMetadata?.importedCss ?? []) css.add(file);
        }
        const sum = (names: Set<string>) => [...names].reduce((n, name) => {
          const item = bundle[name];
          return n + (item?.type === 'chunk' ? gz(item.code) : item?.type === 'asset' ? gz(item.source) : 0);
        }, 0);
        sizes[surface] = { initialJs: sum(initial), totalJs: sum(total), css: sum(css), files: total.size };
      }
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      for (const [surface, size] of Object.entries(sizes)) {
        const budget = surface === 'sidebar' ? ` (budget ${kb(SIDEBAR_JS_BUDGET_BYTES)}${size.totalJs > SIDEBAR_JS_BUDGET_BYTES ? ', OVER' : ''})` : '';
        console.log(`[web] /${surface}/ JS gzip: ${kb(size.initialJs)} first load, ${kb(size.totalJs)} with every screen${budget}; CSS gzip ${kb(size.css)}`);
      }
      writeFileSync(join(options.dir!, 'sizes.json'), JSON.stringify(sizes, null, 2));
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [
    vue(),
    // On-demand components and their CSS only (Vant for the sidebar, Element Plus for the console).
    Components({
      dirs: [],
      dts: false,
      resolvers: [VantResolver(), ElementPlusResolver({ importStyle: 'css' })],
    }),
    sizeReport(),
  ],
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    outDir: join(root, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2020',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      input: {
        sidebar: join(root, 'sidebar', 'index.html'),
        admin: join(root, 'admin', 'index.html'),
      },
    },
  },
  server: {
    // `npm run dev:web`: the API is the product started with `npm start` (PORT 3000 by default).
    proxy: { '/api': `http://localhost:${process.env.API_PORT ?? 3000}`, '/healthz': `http://localhost:${process.env.API_PORT ?? 3000}` },
  },
});
