// Builds the console into dist/: console.js (the page's script with uPlot, one
// minified bundle), console.css and index.html. dist/ is committed, and CMake
// builds it into the binary (console/embed.cmake), so building exactly needs
// no node; run `make console` after changing src/ (console/check_dist.sh, in
// ctest, fails while dist/ is not what src/ builds to).
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
