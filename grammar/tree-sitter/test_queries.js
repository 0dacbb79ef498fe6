// test_queries.js: sonde's tree-sitter queries tested headless with
// web-tree-sitter and the published Lua grammar's .wasm (no tree-sitter CLI).
//   node test_queries.js --modules DIR [--api API.json] [--sample FILE] FILE...
// DIR holds node_modules (installed from package-lock.json by
// tests/grammar/test_treesitter.sh). Checks: the grammar's ABI loads; the
// queries compile; every FILE parses without an error node; the annotated
// sample's assertions hold; in every FILE, `experiment` and each documented
// module function get their captures; and, with --api (`sonde --dump-api`),
// every documented built-in is highlighted and the generated block names
// nothing else. Prints "TALLY p passed, f failed".
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const opt = { files: [] };
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--modules') opt.modules = args[++i];
  else if (args[i] === '--api') opt.api = args[++i];
  else if (args[i] === '--sample') opt.sample = args[++i];
  else opt.files.push(args[i]);
}
const nm = path.resolve(opt.modules || __dirname, 'node_modules');
// resolve the packages as if required from DIR (their "exports" maps apply)
const TS = require('module').createRequire(path.join(nm, '..', 'package.json'))('web-tree-sitter');
const { Parser, Language, Query } = TS;
const luaDir = path.join(nm, '@tree-sitter-grammars', 'tree-sitter-lua');
const queries = path.join(__dirname, 'queries');

let passed = 0, failed = 0;
function check(ok, name, detail) {
  if (ok) passed++;
  else { failed++; console.log('FAIL ' + name + (detail ? ': ' + detail : '')); }
}

// captures(query, tree) -> [{name, start, end, lang}] as byte-free (row, column) ranges
function captures(query, tree) {
  return query.captures(tree.rootNode).map(c => ({
    name: c.name, node: c.node, start: c.node.startPosition, end: c.node.endPosition,
    lang: c.setProperties && c.setProperties['injection.language'],
  }));
}
function covers(c, row, col) {
  const after = row > c.start.row || (row === c.start.row && col >= c.start.column);
  const before = row < c.end.row || (row === c.end.row && col < c.end.column);
  return after && before;
}
const at = (caps, row, col) => caps.filter(c => covers(c, row, col));

// the annotated sample: assertions in tree-sitter's highlight-test format
function checkSample(file, parser, hl, inj) {
  const src = fs.readFileSync(file, 'utf8');
  const tree = parser.parse(src);
  const hcaps = captures(hl, tree), icaps = captures(inj, tree);
  const lines = src.split('\n');
  let target = -1, count = 0;
  lines.forEach((line, row) => {
    const m = line.match(/^(\s*)--(\s*)(<-|\^)\s*(\S+)\s*$/);
    if (!m) { target = row; return; }
    const col = m[3] === '<-' ? m[1].length : line.indexOf('^');
    const want = m[4];
    const where = `${file}:${target + 1}:${col + 1} (${JSON.stringify(lines[target].slice(col, col + 12))})`;
    const here = at(hcaps, target, col).map(c => c.name);
    count++;
    if (want.startsWith('injection:')) {
      const lang = want.slice('injection:'.length);
      const langs = at(icaps, target, col).filter(c => c.name === 'injection.content').map(c => c.lang);
      check(langs.includes(lang), `${where} injects ${lang}`, `got [${langs.join(', ')}]`);
    } else if (want.startsWith('!')) {
      check(!here.includes(want.slice(1)), `${where} is not ${want.slice(1)}`, `got [${here.join(', ')}]`);
    } else {
      check(here.includes(want), `${where} is ${want}`, `got [${here.join(', ')}]`);
    }
  });
  check(count >= 20, `${file} has its assertions`, `${count} found`);
  console.log(`sample: ${count} assertions in ${file}`);
}

// every documented built-in, from `sonde --dump-api`
function apiNames(api) {
  const modules = new Set(), functions = [], methods = new Set(), globals = new Set();
  for (const e of Object.values(api)) {
    if (e.kind === 'module') modules.add(e.name);
    else if (e.kind === 'method') methods.add(e.name.slice(e.name.indexOf(':') + 1));
    else if (e.module === '_G') globals.add(e.name);
    else { modules.add(e.module); functions.push(e.name); }
  }
  return { modules, functions, methods, globals };
}

function checkApi(apiFile, parser, hl) {
  const api = apiNames(JSON.parse(fs.readFileSync(apiFile, 'utf8')));
  // one line per built-in, each in a call, so every name has a known place
  const lines = [], expect = [];
  for (const f of api.functions) {
    const dot = f.lastIndexOf('.');
    lines.push(`${f}()`);
    expect.push([lines.length - 1, dot + 1, 'function.builtin', f]);
    expect.push([lines.length - 1, 0, 'module.builtin', f.split('.')[0]]);
  }
  for (const m of api.methods) {
    lines.push(`x:${m}()`);
    expect.push([lines.length - 1, 2, 'function.method.builtin', 'x:' + m]);
  }
  for (const g of api.globals) {
    lines.push(`${g}()`);
    expect.push([lines.length - 1, 0, 'function.builtin', g]);
  }
  const caps = captures(hl, parser.parse(lines.join('\n') + '\n'));
  const missing = expect.filter(([row, col, name]) => !at(caps, row, col).some(c => c.name === name));
  check(missing.length === 0, `every documented built-in is highlighted (${expect.length} places)`,
    'run `make editor-files`; not highlighted: ' + missing.slice(0, 8).map(e => `${e[3]} as ${e[2]}`).join(', '));
  // and the generated block names only documented things
  const text = fs.readFileSync(path.join(queries, 'highlights.scm'), 'utf8');
  const begin = text.search(/^; BEGIN GENERATED/m), end = text.search(/^; END GENERATED/m);
  const block = begin >= 0 && end > begin ? text.slice(text.indexOf('\n', begin), end) : '';
  const known = new Set([...api.methods, ...api.globals]);
  for (const m of api.modules) m.split('.').forEach(p => known.add(p));
  for (const f of api.functions) f.split('.').forEach(p => known.add(p));
  const stale = [...block.matchAll(/"([^"\s]+)"/g)].map(m => m[1]).filter(n => !known.has(n));
  check(block.length > 0 && stale.length === 0, 'the generated block names only documented built-ins',
    'run `make editor-files`; stale: ' + stale.slice(0, 8).join(', '));
  console.log(`api: ${api.functions.length} functions, ${api.methods.size} methods, ${api.globals.size} globals`);
  const tops = new Set([...api.modules].map(m => m.split('.')[0]));
  return { functions: new Set(api.functions), modules: tops, globals: api.globals };
}

// a file of the tree: no error node; every `experiment "name" {...}` call is
// the recipe form, every call of a documented module function has its
// field captured as a built-in, and no local variable is a built-in
function walk(node, fn) { fn(node); for (const c of node.namedChildren) walk(c, fn); }
function checkFile(file, parser, hl, api) {
  const tree = parser.parse(fs.readFileSync(file, 'utf8'));
  check(!tree.rootNode.hasError, `${file} parses without errors`);
  const caps = captures(hl, tree);
  const has = (node, name) => at(caps, node.startPosition.row, node.startPosition.column).some(c => c.name === name);
  const where = node => `${file}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
  let n = 0;
  walk(tree.rootNode, node => {
    if (node.type === 'function_call') {
      const name = node.childForFieldName('name');
      const inner = name && name.type === 'function_call' && name.childForFieldName('name');
      if (inner && inner.type === 'identifier' && inner.text === 'experiment') {
        n++;
        check(has(inner, 'keyword.recipe'), `${where(inner)} experiment is the recipe form`);
      }
      if (api && name && name.type === 'dot_index_expression' && api.functions.has(name.text.replace(/\s+/g, ''))) {
        const field = name.childForFieldName('field');
        n++;
        check(has(field, 'function.builtin'), `${where(field)} ${name.text} is a built-in function`);
      }
    }
    if (api && node.type === 'variable_declaration') {
      walk(node, v => {
        if (v.type !== 'identifier' || v.parent.type !== 'variable_list' ||
            api.modules.has(v.text) || api.globals.has(v.text)) return;
        n++;
        check(!has(v, 'function.builtin') && !has(v, 'module.builtin'), `${where(v)} local ${v.text} is not a built-in`);
      });
    }
  });
  return n;
}

(async () => {
  await Parser.init();
  const lang = await Language.load(path.join(luaDir, 'tree-sitter-lua.wasm'));
  const [lo, hi] = [TS.MIN_COMPATIBLE_VERSION, TS.LANGUAGE_VERSION];
  check(lang.abiVersion >= lo && lang.abiVersion <= hi,
    `the Lua grammar's ABI ${lang.abiVersion} is within web-tree-sitter's ${lo}..${hi}`);
  console.log(`abi: grammar ${lang.abiVersion}, web-tree-sitter ${lo}..${hi}`);
  const parser = new Parser();
  parser.setLanguage(lang);
  const read = f => fs.readFileSync(f, 'utf8');
  let hl, inj;
  try { hl = new Query(lang, read(path.join(queries, 'highlights.scm'))); check(true); }
  catch (e) { check(false, 'highlights.scm compiles', e.message); }
  try { inj = new Query(lang, read(path.join(queries, 'injections.scm'))); check(true); }
  catch (e) { check(false, 'injections.scm compiles', e.message); }
  try { new Query(lang, read(path.join(luaDir, 'queries', 'highlights.scm')) + read(path.join(queries, 'highlights.scm'))); check(true); }
  catch (e) { check(false, "the grammar's highlights.scm and sonde's compile together", e.message); }
  if (!hl || !inj) { console.log(`TALLY ${passed} passed, ${failed} failed`); process.exit(1); }
  if (opt.sample) checkSample(opt.sample, parser, hl, inj);
  const documented = opt.api ? checkApi(opt.api, parser, hl) : null;
  let places = 0;
  for (const f of opt.files) places += checkFile(f, parser, hl, documented);
  console.log(`files: ${opt.files.length} parsed, ${places} recipe forms, built-in calls and locals checked`);
  console.log(`TALLY ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch(e => { console.log('FAIL ' + (e.stack || e)); console.log(`TALLY ${passed} passed, ${failed + 1} failed`); process.exit(1); });
