import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCKERFILE_PATH, dockerfileProblems, importedFolders, parseDockerfile } from './deploy-checks';

const dockerfile = readFileSync(DOCKERFILE_PATH, 'utf8');

describe('Dockerfile', () => {
  it('is multi-stage, non-root, production, copies only existing files and holds everything the engine imports', () => {
    expect(dockerfileProblems(dockerfile)).toEqual([]);
  });

  it('joins continuation lines and drops comments', () => {
    expect(parseDockerfile('# c\nENV A=1 \\\n    B=2\nUSER node\n')).toEqual([
      { op: 'ENV', args: 'A=1  B=2', line: 2 },
      { op: 'USER', args: 'node', line: 4 },
    ]);
  });

  it('finds the folders the entry files import', () => {
    const folders = importedFolders(['worker/main.ts']);
    expect(folders).toContain('worker');
    expect(folders).toContain('config');
    expect(folders).toContain('workflows');
    expect(folders).not.toContain('test');
  });

  it('reports a final stage running as root', () => {
    expect(dockerfileProblems(dockerfile.replace(/^USER node$/m, ''))).toEqual([
      'the final stage sets no USER: it would run as root',
    ]);
    expect(dockerfileProblems(dockerfile.replace(/^USER node$/m, 'USER root'))).toEqual([
      'the final stage runs as root',
    ]);
  });

  it('reports a single-stage build', () => {
    const single = 'FROM node:20-slim\nENV NODE_ENV=production\nCOPY package.json ./\nUSER node\n';
    expect(dockerfileProblems(single)).toEqual(
      expect.arrayContaining(['has 1 FROM stage(s): must be a multi-stage build']),
    );
  });

  it('reports a missing NODE_ENV=production', () => {
    expect(dockerfileProblems(dockerfile.replace('NODE_ENV=production', 'NODE_ENV=development'))).toEqual([
      'the final stage does not set NODE_ENV=production',
    ]);
  });

  it('reports a COPY of a missing or ignored file, or from an unknown stage', () => {
    expect(dockerfileProblems(dockerfile.replace('COPY tsconfig.json ./', 'COPY tsconfig.prod.json ./'))).toEqual([
      expect.stringMatching(/COPY source tsconfig\.prod\.json does not exist/),
    ]);
    expect(dockerfileProblems(`${dockerfile}\nCOPY bench bench\n`)).toEqual([
      expect.stringMatching(/COPY source bench is excluded by \.dockerignore/),
    ]);
    expect(dockerfileProblems(dockerfile.replace('COPY --from=build', 'COPY --from=bulid'))).toEqual([
      expect.stringMatching(/COPY --from=bulid names no earlier stage/),
    ]);
  });

  it('reports a runtime stage missing a folder the engine imports', () => {
    const withoutVault = dockerfile.replace(/^COPY --chown=root:root card-vault card-vault\n/m, '');
    expect(dockerfileProblems(withoutVault)).toEqual([
      'the final stage does not COPY card-vault/, which the engine imports',
    ]);
  });

  it('reports a bundling stage missing a folder the workflow bundler imports', () => {
    const withoutActivities = dockerfile.replace(/^COPY activities activities\n/m, '');
    expect(dockerfileProblems(withoutActivities)).toEqual([
      'the bundling stage does not COPY activities/, which the bundler imports',
    ]);
  });

  it('reports a missing ahead-of-time workflow bundle', () => {
    const noBundle = dockerfile
      .split('\n')
      .filter((l) => !/build:workflows|workflow-bundle/.test(l))
      .join('\n');
    expect(dockerfileProblems(noBundle)).toEqual([
      'does not build the workflow bundle (dist/workflow-bundle.js) ahead of time',
    ]);
  });
});
