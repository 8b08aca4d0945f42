import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every code block of the README's "Using the module in your app" section is exercised: each names
 * its source (`<!-- from: path -->`), a consumer app that `npm run test:consumers` builds and
 * tests, and each of its lines stands in that file, in order (`// …` marks lines left out).
 */
const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf('## Using the module in your app');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));

interface Block {
  source: string | null;
  language: string;
  lines: string[];
}

function blocks(text: string): Block[] {
  const found: Block[] = [];
  for (const match of text.matchAll(/(?:<!-- (?:from|exercised by): ([^>]+?) -->\n)?```(\w*)\n([\s\S]*?)```/g)) {
    found.push({ source: match[1] ?? null, language: match[2]!, lines: match[3]!.split('\n') });
  }
  return found;
}

const meaningful = (lines: string[]): string[] => lines.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('// …'));

const consumers = readdirSync(join(root, 'test/consumers')).filter((name) => existsSync(join(root, 'test/consumers', name, 'package.json')));
const manifestOf = (name: string) =>
  JSON.parse(readFileSync(join(root, 'test/consumers', name, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

describe('the README\'s "Using the module in your app"', () => {
  const found = blocks(section);

  it('has code blocks, each naming what exercises it', () => {
    expect(found.length).toBeGreaterThan(5);
    expect(found.filter((block) => block.source === null).map((block) => block.lines.join('\n'))).toEqual([]);
  });

  it.each(found.filter((block) => block.source?.startsWith('test/')).map((block) => [block.source!, block] as const))(
    'quotes %s line for line',
    (source, block) => {
      const file = meaningful(readFileSync(join(root, source), 'utf8').split('\n'));
      let at = 0;
      for (const line of meaningful(block.lines)) {
        const next = file.indexOf(line, at);
        expect({ line, found: next >= 0 }).toEqual({ line, found: true });
        at = next + 1;
      }
    },
  );

  it('installs what every consumer app installs, and every peer the package requires', () => {
    const install = found.find((block) => block.language === 'sh' && block.lines[0]!.startsWith('npm install nestjs-access-tokens'));
    const named = install!.lines[0]!.split(/\s+/).slice(2);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const required = Object.keys(manifest.peerDependencies).filter(
      (peer) => !manifest.peerDependenciesMeta[peer]?.optional && !['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'].includes(peer),
    );
    expect(named.slice(1).sort()).toEqual(required.sort());
    expect(consumers).toHaveLength(3);
    for (const name of consumers) {
      expect({ name, missing: required.filter((peer) => !(peer in manifestOf(name).dependencies)) }).toEqual({ name, missing: [] });
    }
  });
});
