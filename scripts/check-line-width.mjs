// Fails on source lines wider than biome.json's lineWidth: the formatter wraps code but leaves long strings,
// comments and regular expressions as they are, and the style holds every line to the width.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const width = JSON.parse(readFileSync('biome.json', 'utf8')).formatter.lineWidth;
const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mjs', '*.js'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.startsWith('docs/') && !f.endsWith('.d.ts'));
const long = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed by git but deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    if ([...line].length > width) long.push(`${file}:${i + 1}: ${[...line].length} characters`);
  });
}
if (long.length > 0) {
  console.error(
    `${long.length} line(s) wider than ${width} characters (biome.json formatter.lineWidth):\n${long.join('\n')}`,
  );
  process.exit(1);
}
console.log(`line width: ${files.length} files within ${width} characters`);
