import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIgnoreMatcher } from '../../../src/adapters/ignore/matcher.ts';

const base = '/repo';
const m = (patterns: string[] | undefined, basePath = base) => createIgnoreMatcher([{ basePath, patterns }]);

describe('createIgnoreMatcher', () => {
  it('roots patterns at basePath', () => {
    const ig = m(['build']);
    assert.equal(ig.matches('/repo/build'), true);
    assert.equal(ig.matches('/repo/build/out.js'), true, 'a match covers descendants');
    assert.equal(ig.matches('/repo/src/build'), false);
    assert.equal(ig.matches('/other/build'), false);
    assert.equal(ig.matches('/repo/buildx'), false);
  });

  it('matches *.txt only directly under basePath, **/*.txt at any depth', () => {
    const one = m(['*.txt']);
    assert.equal(one.matches('/repo/a.txt'), true);
    assert.equal(one.matches('/repo/sub/a.txt'), false);
    const any = m(['**/*.txt']);
    assert.equal(any.matches('/repo/a.txt'), true);
    assert.equal(any.matches('/repo/sub/deep/a.txt'), true);
    assert.equal(any.matches('/repo/a.txt.js'), false);
    assert.equal(any.matches('/elsewhere/a.txt'), false);
  });

  it('treats * and ? as never crossing a separator', () => {
    const ig = m(['src/*/gen', 'v?.log']);
    assert.equal(ig.matches('/repo/src/a/gen'), true);
    assert.equal(ig.matches('/repo/src/a/b/gen'), false);
    assert.equal(ig.matches('/repo/v1.log'), true);
    assert.equal(ig.matches('/repo/v10.log'), false);
  });

  it('supports **/ in the middle and a trailing **', () => {
    const mid = m(['a/**/z']);
    assert.equal(mid.matches('/repo/a/z'), true, '**/ spans zero directories');
    assert.equal(mid.matches('/repo/a/b/c/z'), true);
    assert.equal(mid.matches('/repo/a/b/c/z/child'), true);
    const trailing = m(['dist/**']);
    assert.equal(trailing.matches('/repo/dist/a/b.js'), true);
  });

  it('lets the last matching pattern win, with ! exclusions', () => {
    const ig = m(['*.md', '!README.md']);
    assert.equal(ig.matches('/repo/NOTES.md'), true);
    assert.equal(ig.matches('/repo/README.md'), false);
    const again = m(['*.md', '!README.md', 'README*']);
    assert.equal(again.matches('/repo/README.md'), true, 'a later pattern ignores again');
    const dir = m(['node_modules', '!node_modules/keep']);
    assert.equal(dir.matches('/repo/node_modules/x/y.js'), true);
    assert.equal(dir.matches('/repo/node_modules/keep'), false);
    assert.equal(dir.matches('/repo/node_modules/keep/y.js'), false);
  });

  it('applies exclusions only within their own definition', () => {
    const ig = createIgnoreMatcher([
      { basePath: base, patterns: ['*.md'] },
      { basePath: base, patterns: ['!README.md'] },
    ]);
    assert.equal(ig.matches('/repo/README.md'), true);
  });

  it('ignores the whole basePath of a definition without patterns', () => {
    for (const patterns of [undefined, [], ['  ']]) {
      const ig = m(patterns, '/repo/vendor');
      assert.equal(ig.matches('/repo/vendor'), true);
      assert.equal(ig.matches('/repo/vendor/a/b'), true);
      assert.equal(ig.matches('/repo/vendored'), false);
      assert.equal(ig.matchesEntireDir('/repo/vendor/a'), true);
    }
  });

  it('keeps absolute patterns, trims and cleans patterns', () => {
    const ig = m(['  /repo/out/  ', './tmp//x', '']);
    assert.equal(ig.matches('/repo/out/a'), true);
    assert.equal(ig.matches('/repo/tmp/x'), true);
    assert.equal(ig.matches('/repo/src'), false);
  });

  it('treats regex characters literally, except [...] classes and \\ escapes', () => {
    const ig = m(['a+b', '(x)', 'c|d', '{e}', 'f.g', 'h$', 'file[0-9]', 'star\\*']);
    assert.equal(ig.matches('/repo/a+b'), true);
    assert.equal(ig.matches('/repo/aab'), false);
    assert.equal(ig.matches('/repo/(x)'), true);
    assert.equal(ig.matches('/repo/c|d'), true);
    assert.equal(ig.matches('/repo/c'), false);
    assert.equal(ig.matches('/repo/{e}'), true);
    assert.equal(ig.matches('/repo/fxg'), false);
    assert.equal(ig.matches('/repo/h$'), true);
    assert.equal(ig.matches('/repo/file7'), true);
    assert.equal(ig.matches('/repo/fileX'), false);
    assert.equal(ig.matches('/repo/star*'), true);
    assert.equal(ig.matches('/repo/starX'), false);
  });

  it('is case-sensitive', () => {
    assert.equal(m(['Build']).matches('/repo/build'), false);
  });

  it('drops a definition whose patterns do not compile', () => {
    const ig = createIgnoreMatcher([
      { basePath: base, patterns: ['[z-a]'] },
      { basePath: base, patterns: ['keep-working'] },
    ]);
    assert.equal(ig.matches('/repo/keep-working'), true);
    assert.equal(ig.matches('/repo/z'), false);
  });

  it('always ignores editor temp files, anywhere', () => {
    const ig = createIgnoreMatcher([]);
    for (const p of [
      '/x/a.go___jb_old___', '/x/a.go___jb_tmp___', '/x/.idea/workspace.xml', '/x/.#main.c', '/x/#main.c#',
      '/x/flymake_main.c', '/x/4913', '/x/main.c~', '/x/.main.c.swp', '/x/.main.c.swx', '/x/.main.c.swo',
      '/x/.main.c.swn', '/x/.main.c.kate-swp', '/x/main-go-tmp-umask', '/deep/er/4913',
    ]) assert.equal(ig.matches(p), true, p);
    for (const p of ['/x/main.c', '/x/idea', '/x/49130', '/x/main.swp', '/x/a#b']) assert.equal(ig.matches(p), false, p);
  });

  describe('matchesEntireDir', () => {
    it('is true for a matched directory without exclusions', () => {
      const ig = m(['node_modules', '**/.git']);
      assert.equal(ig.matchesEntireDir('/repo/node_modules'), true);
      assert.equal(ig.matchesEntireDir('/repo/node_modules/a'), true);
      assert.equal(ig.matchesEntireDir('/repo/sub/.git'), true);
      assert.equal(ig.matchesEntireDir('/repo/src'), false);
      assert.equal(ig.matchesEntireDir('/repo'), false);
    });

    it('is false when an exclusion lies under the directory', () => {
      const ig = m(['node_modules', '!node_modules/keep/index.js']);
      assert.equal(ig.matchesEntireDir('/repo/node_modules'), false);
      assert.equal(ig.matchesEntireDir('/repo/node_modules/keep'), false);
      assert.equal(ig.matchesEntireDir('/repo/node_modules/other'), true);
    });

    it('is false when an exclusion glob starts above the directory', () => {
      const ig = m(['build', '!**/*.keep']);
      assert.equal(ig.matches('/repo/build/x'), true);
      assert.equal(ig.matches('/repo/build/x.keep'), false);
      assert.equal(ig.matchesEntireDir('/repo/build'), false);
    });

    it('is true below an editor directory', () => {
      assert.equal(createIgnoreMatcher([]).matchesEntireDir('/x/.idea/libraries'), true);
    });
  });
});

describe('editor temp files', () => {
  it('match exactly what the dockerignore evaluation of editorTempPatterns matches', async () => {
    const { default: mod } = await import('@balena/dockerignore');
    const { editorTempPatterns } = await import('../../../src/adapters/ignore/matcher.ts');
    const reference = mod.default({ ignorecase: false }).add([...editorTempPatterns]);
    const ig = createIgnoreMatcher([]);
    const names = [
      'a.go___jb_old___', 'a___jb_tmp___', '___jb_old___x', '.idea', '.#x', '.#', '#x#', '##', '#', 'x#', 'flymake_a.c',
      'flymake_.', 'flymake_x', 'flymake', '4913', '49130', '14913', 'x~', '~', '~x', '.a.swp', '..swp', '.swp', 'a.swp',
      '.a.b.swx', '.x.swo', '.x.swn', '.x.kate-swp', '.kate-swp', 'a-go-tmp-umask', '-go-tmp-umask', 'plain.ts', '.hidden',
    ];
    const paths: string[] = [];
    for (const n of names) {
      paths.push(`/${n}`, `/w/${n}`, `/w/${n}/child.ts`, `/w/deep/er/${n}/a/b`);
    }
    for (const p of paths) assert.equal(ig.matches(p), reference.ignores(p.slice(1)), p);
  });
});
