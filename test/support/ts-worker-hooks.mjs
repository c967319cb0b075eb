// Module hooks registered by ts-worker-loader.mjs: `.js` imports between sources find the `.ts`
// file (the compiled tree has the .js), and `.ts` files are compiled one by one, types dropped.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let typescript;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const compiled = new URL(specifier, context.parentURL);
    const source = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (!existsSync(compiled) && existsSync(source)) return { url: source.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  typescript ??= (await import('typescript')).default;
  const { outputText } = typescript.transpileModule(readFileSync(new URL(url), 'utf8'), {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: typescript.ModuleKind.ESNext,
      target: typescript.ScriptTarget.ES2022,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
