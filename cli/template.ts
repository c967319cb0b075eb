// `commander template render`: one template file rendered as Go's text/template with sprig, the
// output's exact bytes on stdout, an error as one line naming the line and column.
import { closeSync, openSync, readSync } from 'node:fs';
import { ExitError } from '../shared/exit.js';
import { Template, TemplateError } from '../shared/template/index.js';
import { decodeJson, GoMap, type Value } from '../shared/template/value.js';

const MAX_TEMPLATE_BYTES = 1024 * 1024;
const MAX_VALUES_BYTES = 4 * 1024 * 1024;

/** At most `limit` bytes of a file; more is an error (the file is never read whole). */
function readBounded(path: string, what: string, limit: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new ExitError(`cannot read ${what} ${path}: ${(error as Error).message}`, 1);
  }
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > limit) throw new ExitError(`${what} ${path} is larger than ${limit} bytes`, 1);
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof ExitError) throw error;
    throw new ExitError(`cannot read ${what} ${path}: ${(error as Error).message}`, 1);
  } finally {
    closeSync(fd);
  }
}

function readValues(path: string): Value {
  const bytes = readBounded(path, 'values file', MAX_VALUES_BYTES);
  let values: Value;
  try {
    values = decodeJson(bytes);
  } catch (error) {
    throw new ExitError(`values file ${path} is not valid JSON: ${(error as Error).message}`, 1);
  }
  if (!(values instanceof GoMap)) throw new ExitError(`values file ${path} must hold a JSON object`, 1);
  return values;
}

/** One line, whatever the message holds (a printed value may span lines). */
function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

export async function runTemplateRender(file: string, valuesFile: unknown): Promise<void> {
  if (valuesFile !== undefined && (typeof valuesFile !== 'string' || valuesFile === '')) {
    throw new ExitError('--values needs one file name', 2);
  }
  const text = readBounded(file, 'template', MAX_TEMPLATE_BYTES);
  const values = valuesFile === undefined ? new GoMap('interface {}', new Map()) : readValues(valuesFile);
  let output: Uint8Array;
  try {
    output = Template.parseBytes(text).executeValueBytes(values);
  } catch (error) {
    if (error instanceof TemplateError) {
      throw new ExitError(`${file}:${error.line}:${error.column}: ${oneLine(error.reason)}`, 1);
    }
    throw error;
  }
  await new Promise<void>((resolve, reject) => {
    process.stdout.write(output, (error) => (error ? reject(error) : resolve()));
  });
}
