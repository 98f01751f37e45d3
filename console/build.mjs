// Builds the console into dist/: console.js (the page's script with uPlot, one
// minified bundle), console.css and index.html. dist/ is committed, and CMake
// builds it into the binary (cmake/embed_console.cmake), so building exactly needs
// no node; run `npm ci && npm run build` here (or `make console`) after changing src/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
mkdirSync(here + "dist", { recursive: true });
await build({
  entryPoints: [here + "src/console.js", here + "src/console.css"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: here + "dist",
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(here + "src/index.html", here + "dist/index.html");
