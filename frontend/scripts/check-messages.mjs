// Compiles every message of the three catalogues (src/{shared,app,console}/messages.ts) with
// vue-i18n's message compiler, so a text that vue-i18n would read as syntax (a stray `@`, `|`,
// `{` or `}`) fails here rather than on a screen. Write those characters as literals: {'@'},
// {'|'}, {'{'}, {'}'}. Prints one line per broken message and exits 1 if there is any;
// tests/app/test_front_end_messages.py runs it.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { baseCompile } from "@intlify/message-compiler";
import ts from "typescript";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");
const CATALOGUES = { shared: "kitMessages", app: "messages", console: "messages" };

// The catalogues are TypeScript modules with type-only imports: transpiled, they import alone.
async function load(part) {
  const source = readFileSync(resolve(SRC, part, "messages.ts"), "utf-8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const module = await import("data:text/javascript;base64," + Buffer.from(outputText).toString("base64"));
  return module[CATALOGUES[part]];
}

let broken = 0;
let compiled = 0;
for (const part of Object.keys(CATALOGUES)) {
  const catalogue = await load(part);
  for (const [locale, messages] of Object.entries(catalogue)) {
    for (const [key, text] of Object.entries(messages)) {
      const errors = [];
      baseCompile(text, { onError: (error) => errors.push(error.message) });
      compiled += 1;
      for (const message of errors) {
        broken += 1;
        console.log(`${part} ${locale} ${key}: ${message} in ${JSON.stringify(text)}`);
      }
    }
  }
}
console.log(`${compiled} messages compiled, ${broken} errors`);
process.exit(broken ? 1 : 0);
