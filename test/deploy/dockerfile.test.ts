import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildConfigProblems,
  buildIncludes,
  DOCKERFILE_PATH,
  dockerfileProblems,
  importedFolders,
  NODE_LTS_MAJOR,
  parseDockerfile,
  ROOT,
} from './deploy-checks';

const dockerfile = readFileSync(DOCKERFILE_PATH, 'utf8');

describe('Dockerfile', () => {
  it('builds once and runs node on the compiled JavaScript, on Node 24, non-root, production, without tsx', () => {
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

  it('reports a final stage running TypeScript through tsx, as the image did before', () => {
    const withTsx = dockerfile
      .replace('CMD ["node", "dist/api/server.js"]', 'CMD ["node", "--import", "tsx", "api/server.ts"]')
      .replace('USER node', 'COPY --from=build /app/node_modules/tsx node_modules/tsx\nUSER node');
    expect(dockerfileProblems(withTsx)).toEqual([
      expect.stringContaining("the final stage's CMD must be"),
      expect.stringContaining('the final stage mentions tsx'),
    ]);
  });

  it('reports a CMD that runs a source file or another file than an entry', () => {
    expect(dockerfileProblems(dockerfile.replace('dist/api/server.js', 'api/server.ts'))).toEqual([
      expect.stringContaining("the final stage's CMD must be"),
    ]);
    expect(
      dockerfileProblems(dockerfile.replace('CMD ["node", "dist/api/server.js"]', 'CMD node dist/api/server.js')),
    ).toEqual([expect.stringContaining("the final stage's CMD must be")]);
  });

  it('reports a base image that is not Node 24 at an exact version', () => {
    expect(dockerfileProblems(dockerfile.replace(/^ARG NODE_VERSION=.*$/m, 'ARG NODE_VERSION=20.20.2'))).toEqual([
      expect.stringContaining('FROM node:20.20.2-trixie-slim is not node:24'),
      expect.stringContaining('FROM node:20.20.2-trixie-slim is not node:24'),
      expect.stringContaining('FROM node:20.20.2-trixie-slim is not node:24'),
    ]);
    expect(dockerfileProblems(dockerfile.replace(/^ARG NODE_VERSION=.*$/m, 'ARG NODE_VERSION=24'))).toHaveLength(3);
  });

  it('reports a final stage that copies sources, or takes node_modules with the dev dependencies', () => {
    expect(dockerfileProblems(dockerfile.replace('USER node', 'COPY api api\nUSER node'))).toEqual([
      'the final stage copies sources (api): it runs dist/ only',
    ]);
    expect(dockerfileProblems(dockerfile.replace('COPY --from=prod-deps', 'COPY --from=build'))).toEqual([
      'the final stage does not take node_modules from a stage that runs `npm ci --omit=dev`',
    ]);
  });

  it('reports a missing build, or a dist/ not taken from it', () => {
    expect(dockerfileProblems(dockerfile.replace('RUN npm run build', 'RUN true'))).toEqual(
      expect.arrayContaining(['no stage runs `npm run build`']),
    );
    expect(dockerfileProblems(dockerfile.replace('COPY --from=build --chown=root:root /app/dist dist\n', ''))).toEqual([
      'the final stage does not COPY /app/dist from the stage that runs `npm run build`',
    ]);
  });

  it('reports a build stage missing a folder the build compiles, or the build config', () => {
    expect(dockerfileProblems(dockerfile.replace(/^COPY card-vault card-vault\n/m, ''))).toEqual([
      'the build stage does not COPY card-vault/, which the build compiles',
    ]);
    expect(
      dockerfileProblems(dockerfile.replace('COPY tsconfig.json tsconfig.build.json ./', 'COPY tsconfig.json ./')),
    ).toEqual(['the build stage does not COPY tsconfig.build.json']);
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
    const single = 'FROM node:24.22.3-trixie-slim\nENV NODE_ENV=production\nCOPY package.json ./\nUSER node\n';
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
    expect(
      dockerfileProblems(
        dockerfile.replace('COPY package.json package-lock.json ./', 'COPY package.json npm-shrinkwrap.json ./'),
      ),
    ).toEqual([expect.stringMatching(/COPY source npm-shrinkwrap\.json does not exist/)]);
    expect(dockerfileProblems(dockerfile.replace('RUN npm run build', 'COPY bench bench\nRUN npm run build'))).toEqual([
      expect.stringMatching(/COPY source bench is excluded by \.dockerignore/),
    ]);
    expect(dockerfileProblems(dockerfile.replace('COPY --from=prod-deps', 'COPY --from=prod-dpes'))).toEqual([
      expect.stringMatching(/COPY --from=prod-dpes names no earlier stage/),
      'the final stage does not take node_modules from a stage that runs `npm ci --omit=dev`',
    ]);
  });

  it('reports an image that does not look for the prebuilt workflow bundle', () => {
    expect(dockerfileProblems(dockerfile.replace('WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js', 'X=1'))).toEqual([
      'the final stage does not set WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js (built ahead of time)',
    ]);
  });
});

describe('CI', () => {
  it('runs the test suite on the exact Node version the image runs', () => {
    const image = /^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
    const ci = /^NODE_LTS_VERSION=(\S+)$/m.exec(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'))?.[1];
    expect(image).toMatch(new RegExp(`^${NODE_LTS_MAJOR}\\.\\d+\\.\\d+$`));
    expect(ci).toBe(image);
  });
});

describe('tsconfig.build.json', () => {
  it('compiles every folder the engine and the workflow bundler import', () => {
    expect(buildConfigProblems()).toEqual([]);
    expect(buildConfigProblems(buildIncludes().filter((f) => f !== 'payload-codec'))).toEqual([
      'tsconfig.build.json does not compile payload-codec/, which the engine imports',
    ]);
  });
});
