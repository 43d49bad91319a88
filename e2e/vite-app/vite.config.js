// Vite configuration of the example app: the React plugin and three pages (vanilla JS, the React
// hook, AI SDK useChat). Nothing Holdfast-specific is needed for a build: Vite copies
// holdfast_core.wasm because the package finds it with new URL(..., import.meta.url).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // The dev server's dependency pre-bundling would move holdfast.js away from its .wasm.
  optimizeDeps: { exclude: ['holdfast'] },
  build: {
    rollupOptions: {
      input: { react: 'index.html', chat: 'chat.html', vanilla: 'vanilla.html' },
    },
  },
});
