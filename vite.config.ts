import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

// The renderer is loaded from file:// in the desktop app and from / in serve
// mode, so asset URLs are relative.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [svelte()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    // Rolldown's "[PLUGIN_TIMINGS]" note about the Svelte compiler's share of
    // the build is for bundler authors; an operator's `npm start` should not
    // print it as a warning.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
})
